package chat

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/consent"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// Attachment limits, the defaults of Config.MaxAttachmentBytes and
// Config.AttachmentTypes.
const (
	DefaultMaxAttachmentBytes = 10 << 20
	// AttachmentPath is where visitors upload (POST) and download
	// (GET AttachmentPath/{id}) files, on the backend and through the edge.
	AttachmentPath   = "/v1/attachments"
	maxFilenameRunes = 200
)

// DefaultAttachmentTypes are the file types accepted unless configured
// otherwise: images, PDF and plain text. A type is decided from the
// file's first bytes (http.DetectContentType), never from its name or the
// client's word, so an HTML page cannot pass as an image.
var DefaultAttachmentTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"}

func (e *Engine) maxAttachmentBytes() int64 {
	if e.cfg.MaxAttachmentBytes > 0 {
		return e.cfg.MaxAttachmentBytes
	}
	return DefaultMaxAttachmentBytes
}

// SniffAttachment returns the MIME type of a file's content if types
// (DefaultAttachmentTypes when nil) allows it, else "" and false.
func SniffAttachment(data []byte, types []string) (string, bool) {
	if types == nil {
		types = DefaultAttachmentTypes
	}
	ct, _, _ := mime.ParseMediaType(http.DetectContentType(data))
	for _, t := range types {
		if t == ct {
			return ct, true
		}
	}
	return ct, false
}

// CleanFilename keeps a file name's last path element, in valid UTF-8,
// without control characters, at most 200 characters; "file" when nothing is left.
func CleanFilename(name string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > maxFilenameRunes {
		name = string([]rune(name)[:maxFilenameRunes])
	}
	if name == "" || name == "." || name == ".." {
		return "file"
	}
	return name
}

// WidgetAttachment is how an attachment is described in a message frame.
func WidgetAttachment(a *store.Attachment) *widget.Attachment {
	return &widget.Attachment{ID: a.PublicID, Name: a.Filename, Type: a.ContentType, Size: a.Size, URL: AttachmentPath + "/" + a.PublicID}
}

// attachmentsOf loads the attachments of a batch of messages being pushed.
func (s *session) attachmentsOf(ms []store.Message) map[int64]*store.Attachment {
	if len(ms) == 0 {
		return nil
	}
	ctx, cancel := s.dbctx()
	defer cancel()
	atts, err := s.e.st.AttachmentsOfMessages(ctx, ms)
	if err != nil && s.ctx.Err() == nil {
		// The text (the file name) still goes out; the file shows on the next resume.
		s.e.log.Warn("chat: attachments", "err", err)
	}
	return atts
}

// visitorFrame is a stored message as the visitor receives it: with its
// attachment, and under the brand's name when the chatflow uses it as the
// agents' alias.
func (s *session) visitorFrame(m store.Message, atts map[int64]*store.Attachment) widget.Frame {
	f := messageFrame(m)
	if m.AuthorType == store.AuthorAgent && s.flow != nil && s.flow.Look.BrandAlias {
		f.Name = s.agentName(0) // the brand's name; no lookup when aliased
	} else if m.AuthorType == store.AuthorAgent && m.AuthorID != nil {
		f.Avatar = s.agentAvatar(*m.AuthorID)
	}
	if a := atts[m.ID]; a != nil {
		f.Attachment = WidgetAttachment(a)
	}
	return f
}

// AttachmentHandler serves visitors' uploads and downloads at
// AttachmentPath (see PROTOCOL.md, Attachments). The visitor token in
// "Authorization: Bearer" is the only credential: no cookies, so any
// origin may call it (CORS *).
func (e *Engine) AttachmentHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Set("Access-Control-Max-Age", "600")
		h.Set("X-Content-Type-Options", "nosniff")
		id, isFile := strings.CutPrefix(r.URL.Path, AttachmentPath+"/")
		switch {
		case r.Method == http.MethodOptions:
			w.WriteHeader(http.StatusNoContent)
		case r.URL.Path == AttachmentPath && r.Method == http.MethodPost:
			e.upload(w, r)
		case isFile && id != "" && !strings.Contains(id, "/") && r.Method == http.MethodGet:
			e.download(w, r, id)
		default:
			attachmentError(w, http.StatusMethodNotAllowed, "method_not_allowed", "Use POST "+AttachmentPath+" or GET "+AttachmentPath+"/{id}.")
		}
	})
}

func attachmentError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "message": msg})
}

func visitorToken(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// uploadForm is the multipart body of an upload.
type uploadForm struct {
	site, conversation, id, text string
	filename                     string
	data                         []byte
}

// readUpload reads the multipart body, refusing a file over max bytes
// without reading more than max+1 of it.
func readUpload(r *http.Request, max int64) (*uploadForm, int, string, string) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, http.StatusBadRequest, widget.ErrBadFrame, "Send multipart/form-data with site, conversation, id and file."
	}
	f := &uploadForm{}
	fields := map[string]*string{"site": &f.site, "conversation": &f.conversation, "id": &f.id, "text": &f.text}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, tooBig(err, http.StatusBadRequest), widget.ErrBadFrame, "The upload body is not valid multipart/form-data."
		}
		name := p.FormName()
		switch {
		case name == "file" && f.data == nil:
			f.filename = p.FileName()
			f.data, err = io.ReadAll(io.LimitReader(p, max+1))
			if err != nil {
				return nil, tooBig(err, http.StatusBadRequest), "too_large", "The upload was cut short or is larger than the limit of " + humanBytes(max) + "."
			}
			if int64(len(f.data)) > max {
				return nil, http.StatusRequestEntityTooLarge, "too_large", "The file is larger than the limit of " + humanBytes(max) + "."
			}
		case fields[name] != nil:
			b, err := io.ReadAll(io.LimitReader(p, widget.MaxFrameBytes+1))
			if err != nil || len(b) > widget.MaxFrameBytes {
				return nil, http.StatusBadRequest, widget.ErrBadFrame, "The field " + name + " is too long."
			}
			*fields[name] = string(b)
		}
		p.Close()
	}
	return f, 0, "", ""
}

// tooBig is 413 when err is the body limit, else status.
func tooBig(err error, status int) int {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return http.StatusRequestEntityTooLarge
	}
	return status
}

func (e *Engine) upload(w http.ResponseWriter, r *http.Request) {
	max := e.maxAttachmentBytes()
	// The body may be a little larger than the file (the other fields, the boundaries).
	r.Body = http.MaxBytesReader(w, r.Body, max+64<<10)
	token := visitorToken(r)
	if token == "" {
		attachmentError(w, http.StatusUnauthorized, widget.ErrNotFound, "Send the visitor token as 'Authorization: Bearer <token>'.")
		return
	}
	f, status, code, msg := readUpload(r, max)
	if f == nil {
		attachmentError(w, status, code, msg)
		return
	}
	switch {
	case f.data == nil:
		attachmentError(w, http.StatusBadRequest, widget.ErrBadFrame, "Attach the file in the field named file.")
		return
	case f.id == "" || len(f.id) > e.cfg.MaxIDLen || !utf8.ValidString(f.id) || strings.ContainsRune(f.id, 0):
		attachmentError(w, http.StatusBadRequest, widget.ErrBadFrame, "Give the upload an id of at most 64 bytes, as for a send frame.")
		return
	case utf8.RuneCountInString(f.text) > e.cfg.MaxTextRunes || !utf8.ValidString(f.text) || strings.ContainsRune(f.text, 0):
		attachmentError(w, http.StatusBadRequest, widget.ErrTooLong, "The caption is too long or not valid text.")
		return
	}
	ct, ok := SniffAttachment(f.data, e.cfg.AttachmentTypes)
	if !ok {
		attachmentError(w, http.StatusUnsupportedMediaType, "bad_type", "Files of this type ("+ct+") cannot be sent; send an image, a PDF or a text file.")
		return
	}
	ctx := r.Context()
	acct, err := e.st.AccountBySite(ctx, f.site)
	var v *store.Visitor
	if err == nil {
		v, err = e.st.VisitorByToken(ctx, acct.ID, token)
	}
	if errors.Is(err, store.ErrNotFound) {
		attachmentError(w, http.StatusUnauthorized, widget.ErrNotFound, "Unknown site or visitor token.")
		return
	}
	if err != nil {
		e.uploadFailed(w, err)
		return
	}
	conv, err := e.st.ConversationByPublicID(ctx, f.conversation)
	if errors.Is(err, store.ErrNotFound) || err == nil && (conv.AccountID != acct.ID || conv.VisitorID != v.ID) {
		attachmentError(w, http.StatusForbidden, widget.ErrForbidden, "That conversation is not yours.")
		return
	}
	if err != nil {
		e.uploadFailed(w, err)
		return
	}
	if conv.Status != store.StatusOpen {
		attachmentError(w, http.StatusConflict, widget.ErrConvClosed, "This conversation has ended; start a new one first.")
		return
	}
	if conv.ChatflowID != nil {
		row, err := e.st.Chatflow(ctx, acct.ID, *conv.ChatflowID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			e.uploadFailed(w, err)
			return
		}
		if err == nil {
			flow, err := chatflow.FromRow(row)
			if err != nil {
				e.uploadFailed(w, err)
				return
			}
			if !flow.Options.Attachments {
				attachmentError(w, http.StatusForbidden, widget.ErrForbidden, "This chat does not accept files.")
				return
			}
			// The rule a send follows: no file before the visitor agreed to
			// the current data-processing text, none after a refusal.
			p, err := consent.MayProcess(ctx, e.st, acct, flow.Options, flow.ID, v.ID)
			if err != nil {
				e.uploadFailed(w, err)
				return
			}
			if !p.Allowed {
				attachmentError(w, http.StatusForbidden, widget.ErrConsentRequired, "The visitor must agree to the data-processing notice before sending files.")
				return
			}
		}
	}
	m, a, err := e.st.AddAttachment(ctx, store.NewAttachment{
		Message:     store.NewMessage{ConversationID: conv.ID, ClientID: f.id, AuthorType: store.AuthorVisitor, Body: strings.TrimSpace(f.text), RequireOpen: true},
		Filename:    CleanFilename(f.filename),
		ContentType: ct,
		Data:        f.data,
	})
	if errors.Is(err, store.ErrConversationClosed) {
		attachmentError(w, http.StatusConflict, widget.ErrConvClosed, "This conversation has ended; start a new one first.")
		return
	}
	if err != nil {
		e.uploadFailed(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"seq": m.Seq, "id": f.id, "conversation": conv.PublicID, "attachment": WidgetAttachment(a)})
}

func (e *Engine) uploadFailed(w http.ResponseWriter, err error) {
	e.log.Warn("chat: upload", "err", err)
	attachmentError(w, http.StatusServiceUnavailable, widget.ErrUnavailable, "The file could not be saved; try again.")
}

// download serves one attachment to the visitor of its conversation.
func (e *Engine) download(w http.ResponseWriter, r *http.Request, publicID string) {
	token := visitorToken(r)
	if token == "" {
		attachmentError(w, http.StatusUnauthorized, widget.ErrNotFound, "Send the visitor token as 'Authorization: Bearer <token>'.")
		return
	}
	ctx := r.Context()
	a, internal, err := e.st.AttachmentByPublicID(ctx, publicID)
	if errors.Is(err, store.ErrNotFound) {
		attachmentError(w, http.StatusNotFound, widget.ErrNotFound, "No such file.")
		return
	}
	if err != nil {
		e.uploadFailed(w, err)
		return
	}
	v, err := e.st.VisitorByToken(ctx, a.AccountID, token)
	var conv *store.Conversation
	if err == nil {
		conv, err = e.st.Conversation(ctx, a.AccountID, a.ConversationID)
	}
	if errors.Is(err, store.ErrNotFound) || err == nil && (conv.VisitorID != v.ID || internal) {
		attachmentError(w, http.StatusForbidden, widget.ErrForbidden, "This file is not yours to see.")
		return
	}
	if err != nil {
		e.uploadFailed(w, err)
		return
	}
	data, err := e.st.AttachmentData(ctx, a.ID)
	if err != nil {
		e.uploadFailed(w, err)
		return
	}
	ServeAttachment(w, a, data)
}

// ServeAttachment writes a file as a download that can never run as a
// page: attachment disposition, nosniff and a sandboxing CSP.
func ServeAttachment(w http.ResponseWriter, a *store.Attachment, data []byte) {
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(a.Filename))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox; frame-ancestors 'none'")
	h.Set("Cache-Control", "private, no-store") // not kept past a sign-out or an erasure
	h.Set("Last-Modified", a.CreatedAt.UTC().Format(time.RFC1123))
	w.Write(data)
}

// humanBytes writes a size limit for people: "10 MB".
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
