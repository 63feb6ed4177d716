// Package mailin receives visitors' replies by email: an SMTP server
// (emersion/go-smtp) that accepts mail only for conversations' reply
// addresses, reply+<token>@<the account's reply domain>, and stores each
// reply as a visitor message of its conversation through the same store
// append (and notices) as a message typed in the widget. Everything else is
// refused during the SMTP conversation: unknown or expired tokens and
// foreign recipients at RCPT (no relaying), oversized mail at DATA, and
// mail whose MIME cannot be read.
package mailin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-smtp"

	"github.com/parleychat/parley/backend/internal/chat"
	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/consent"
	"github.com/parleychat/parley/backend/internal/mail"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// Config is the receiving server's settings.
type Config struct {
	Addr     string        // MAIL_IN_ADDR, e.g. 0.0.0.0:2525; empty: off
	Domain   string        // the name it greets with (MAIL_IN_HOSTNAME, default localhost)
	MaxBytes int64         // the largest message accepted (MAIL_IN_MAX_BYTES, default 25 MiB)
	Timeout  time.Duration // idle read/write limit of a connection
	// AttachmentTypes and MaxAttachmentBytes are what a reply's files may
	// be, as for the widget's uploads (chat's defaults).
	AttachmentTypes    []string
	MaxAttachmentBytes int64
}

// Defaults.
const (
	DefaultMaxBytes = 25 << 20
	DefaultTimeout  = time.Minute
)

// FromEnv reads the settings from the environment.
func FromEnv() Config {
	c := Config{Addr: os.Getenv("MAIL_IN_ADDR"), Domain: os.Getenv("MAIL_IN_HOSTNAME")}
	if n, err := strconv.ParseInt(os.Getenv("MAIL_IN_MAX_BYTES"), 10, 64); err == nil && n > 0 {
		c.MaxBytes = n
	}
	return c
}

func (c Config) withDefaults() Config {
	if c.Domain == "" {
		c.Domain = "localhost"
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.AttachmentTypes == nil {
		c.AttachmentTypes = chat.DefaultAttachmentTypes
	}
	if c.MaxAttachmentBytes == 0 {
		c.MaxAttachmentBytes = chat.DefaultMaxAttachmentBytes
	}
	return c
}

// Server is the receiving SMTP server.
type Server struct {
	st   *store.Store
	m    *mail.Service
	cfg  Config
	smtp *smtp.Server
	log  *slog.Logger
}

// New returns a server storing replies through st, checking tokens with m.
func New(st *store.Store, m *mail.Service, cfg Config) *Server {
	s := &Server{st: st, m: m, cfg: cfg.withDefaults(), log: slog.Default()}
	srv := smtp.NewServer(s)
	srv.Domain = s.cfg.Domain
	srv.MaxMessageBytes = s.cfg.MaxBytes
	srv.MaxRecipients = 10
	srv.ReadTimeout, srv.WriteTimeout = s.cfg.Timeout, s.cfg.Timeout
	s.smtp = srv
	return s
}

// Serve accepts connections on l until Close.
func (s *Server) Serve(l net.Listener) error { return s.smtp.Serve(l) }

// Start listens on the configured address and serves in the background;
// stop closes the listener and open connections.
func (s *Server) Start() (stop func(), err error) {
	l, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return nil, err
	}
	s.log.Info("mail in listening", "addr", l.Addr().String())
	go func() {
		if err := s.smtp.Serve(l); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			s.log.Warn("mail in", "err", err)
		}
	}()
	return func() { s.smtp.Close() }, nil
}

// NewSession is go-smtp's Backend: one session per connection.
func (s *Server) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: s}, nil
}

type session struct {
	s     *Server
	convs []*store.Conversation
}

var (
	errNoRelay   = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Relaying denied: this server only takes replies to conversations"}
	errNoSuchBox = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such conversation, or its reply address has expired"}
	errMalformed = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Malformed message: its MIME structure or encoding cannot be read"}
	errEmpty     = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "The reply has no text or file of its own"}
	errNoRcpt    = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "No valid recipients"}
	errTemporary = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure; try again later"}
	errNoConsent = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "The visitor has not agreed to the processing of their data in this chat"}
)

func (ss *session) Reset()        { ss.convs = nil }
func (ss *session) Logout() error { return nil }

// Mail takes any sender: the reply address itself is the credential.
func (ss *session) Mail(from string, opts *smtp.MailOptions) error { return nil }

// Rcpt accepts only a valid reply address of this Parley.
func (ss *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	at := strings.LastIndexByte(to, '@')
	if at < 0 {
		return errNoRelay
	}
	local, domain := to[:at], strings.ToLower(strings.TrimSuffix(to[at+1:], "."))
	if !strings.HasPrefix(strings.ToLower(local), "reply+") {
		return errNoRelay
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	key, err := ss.s.m.Key(ctx)
	if err != nil {
		return errTemporary
	}
	id, err := mail.Verify(key, mail.PurposeReply, local[len("reply+"):], time.Now())
	if err != nil {
		return errNoSuchBox
	}
	conv, err := ss.s.st.ConversationByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return errNoSuchBox
	}
	if err != nil {
		return errTemporary
	}
	acct, err := ss.s.st.Account(ctx, conv.AccountID)
	if err != nil {
		return errTemporary
	}
	if acct.MailReplyDomain == "" || domain != acct.MailReplyDomain {
		return errNoRelay // a valid token at another domain is still relaying
	}
	ss.convs = append(ss.convs, conv)
	return nil
}

// Data stores the reply in every conversation it was addressed to.
func (ss *session) Data(r io.Reader) error {
	if len(ss.convs) == 0 {
		io.Copy(io.Discard, r)
		return errNoRcpt
	}
	lr := &limitSeen{r: r}
	reply, err := Parse(lr)
	io.Copy(io.Discard, lr)
	if lr.tooLarge {
		return smtp.ErrDataTooLarge
	}
	if err != nil {
		ss.s.log.Info("mail in: malformed", "err", err)
		return errMalformed
	}
	if reply.Text == "" && len(reply.Files) == 0 {
		return errEmpty
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, conv := range ss.convs {
		if ok, err := ss.s.mayProcess(ctx, conv); err != nil {
			ss.s.log.Warn("mail in: consent", "conversation", conv.ID, "err", err)
			return errTemporary
		} else if !ok {
			return errNoConsent
		}
	}
	for _, conv := range ss.convs {
		if err := ss.s.store(ctx, conv, reply); err != nil {
			ss.s.log.Warn("mail in: store", "conversation", conv.ID, "err", err)
			return errTemporary
		}
	}
	return nil
}

// mayProcess applies the chat's consent rule (consent.MayProcess) to a
// reply by email: a visitor who refused data processing, or never agreed
// to the current text, cannot add to the conversation this way either.
func (s *Server) mayProcess(ctx context.Context, conv *store.Conversation) (bool, error) {
	if conv.ChatflowID == nil {
		return true, nil
	}
	acct, err := s.st.Account(ctx, conv.AccountID)
	if err != nil {
		return false, err
	}
	row, err := s.st.Chatflow(ctx, conv.AccountID, *conv.ChatflowID)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil // the chatflow is gone: its consent setting with it
	}
	if err != nil {
		return false, err
	}
	flow, err := chatflow.FromRow(row)
	if err != nil {
		return false, err
	}
	p, err := consent.MayProcess(ctx, s.st, acct, flow.Options, flow.ID, conv.VisitorID)
	return p.Allowed, err
}

// store appends reply to conv as the visitor's message (and one message
// per file it keeps). Client ids come from the Message-ID, so the same
// email delivered twice is stored once.
func (s *Server) store(ctx context.Context, conv *store.Conversation, r *Reply) error {
	if conv.Status == store.StatusClosed {
		// The visitor writes again: the conversation is open again (unless
		// they have started a newer one meanwhile; the reply still lands).
		if _, err := s.st.ReopenConversation(ctx, conv.AccountID, conv.ID, "Reopened by the visitor's email reply"); err != nil &&
			!errors.Is(err, store.ErrNewerOpen) {
			return err
		}
	}
	base := "email:" + idOf(r)
	text := r.Text
	var notes []string
	for i, f := range r.Files {
		typ := http.DetectContentType(f.Data)
		if i := strings.IndexByte(typ, ';'); i >= 0 {
			typ = typ[:i]
		}
		if f.Type == "text/plain" && strings.HasPrefix(typ, "text/plain") {
			typ = "text/plain"
		}
		if int64(len(f.Data)) > s.cfg.MaxAttachmentBytes || !allowed(s.cfg.AttachmentTypes, typ) {
			notes = append(notes, "["+f.Name+": not kept]")
			continue
		}
		if _, _, err := s.st.AddAttachment(ctx, store.NewAttachment{
			Message:  store.NewMessage{ConversationID: conv.ID, ClientID: base + ":" + strconv.Itoa(i+1), AuthorType: store.AuthorVisitor},
			Filename: cut(f.Name, 200), ContentType: typ, Data: f.Data,
		}); err != nil {
			return err
		}
	}
	if len(notes) > 0 {
		text = strings.TrimSpace(text + "\n" + strings.Join(notes, "\n"))
	}
	if text == "" {
		return nil
	}
	_, _, err := s.st.AppendMessage(ctx, store.NewMessage{ConversationID: conv.ID, ClientID: base,
		AuthorType: store.AuthorVisitor, Body: cut(text, widget.MaxTextRunes)})
	return err
}

// idOf is a short stable id of the email: its Message-ID's hash (the whole
// text's when it has none).
func idOf(r *Reply) string {
	src := r.MessageID
	if src == "" {
		src = r.Text
		for _, f := range r.Files {
			src += "\x00" + f.Name + "\x00" + string(f.Data)
		}
	}
	h := sha256.Sum256([]byte(src))
	return hex.EncodeToString(h[:12])
}

func allowed(types []string, t string) bool {
	for _, a := range types {
		if a == t {
			return true
		}
	}
	return false
}

// cut shortens s to at most n characters.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// limitSeen notes whether the server's size limit cut the message short.
type limitSeen struct {
	r        io.Reader
	tooLarge bool
}

func (l *limitSeen) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if errors.Is(err, smtp.ErrDataTooLarge) {
		l.tooLarge = true
	}
	return n, err
}
