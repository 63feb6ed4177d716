package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/parleychat/parley/backend/internal/events"
)

// Email kinds in the outbox.
const (
	MailReply      = "reply"      // an agent's replies to a visitor who was away
	MailOffline    = "offline"    // the confirmation of a message left while the team was away
	MailTranscript = "transcript" // a conversation's transcript, asked for or at close
	MailAgent      = "agent"      // news for an agent
	MailPassword   = "password"   // a password-reset link
	MailInvitation = "invitation" // an invitation to join an account
)

// OutboxEmail is one email to send, rendered in full.
type OutboxEmail struct {
	ID             int64   `db:"id"`
	AccountID      *int64  `db:"account_id"`
	ConversationID *int64  `db:"conversation_id"`
	Kind           string  `db:"kind"`
	DedupeKey      *string `db:"dedupe_key"`
	MessageID      string  `db:"message_id"` // with angle brackets; fixed for every attempt
	Recipient      string  `db:"recipient"`
	FromName       string  `db:"from_name"`
	ReplyTo        string  `db:"reply_to"`
	Subject        string  `db:"subject"`
	TextBody       string  `db:"text_body"`
	HTMLBody       string  `db:"html_body"`
	Attempts       int     `db:"attempts"`
}

const outboxCols = `id, account_id, conversation_id, kind, dedupe_key, message_id, recipient, from_name, reply_to,
	subject, text_body, html_body, attempts`

// ErrNoMailAddress: the conversation has no address to mail.
var ErrNoMailAddress = errors.New("store: the conversation has no email address")

// ErrMailRateLimited refuses an email to an address that has had its share.
var ErrMailRateLimited = errors.New("store: too many emails to this address")

// MailLimit caps the emails one address receives in a sliding window.
type MailLimit struct {
	Max    int           // 0: no limit
	Window time.Duration // e.g. an hour
}

// enqueueEmail writes e in tx unless its dedupe key is taken (inserted=false
// then) or lim refuses. Rows to one address are serialised by an advisory
// lock on it, so two writers cannot both slip under the limit.
func enqueueEmail(ctx context.Context, tx *sqlx.Tx, e *OutboxEmail, lim MailLimit) (inserted bool, err error) {
	if lim.Max > 0 {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('mail:' || lower($1), 0))`, e.Recipient); err != nil {
			return false, err
		}
		var n int
		if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM outbox WHERE lower(recipient) = lower($1) AND created_at > now() - $2::interval`,
			e.Recipient, lim.Window.String()); err != nil {
			return false, err
		}
		if n >= lim.Max {
			return false, ErrMailRateLimited
		}
	}
	err = tx.GetContext(ctx, &e.ID, `INSERT INTO outbox (account_id, conversation_id, kind, dedupe_key, message_id, recipient,
		from_name, reply_to, subject, text_body, html_body)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
		e.AccountID, e.ConversationID, e.Kind, e.DedupeKey, e.MessageID, e.Recipient, e.FromName, e.ReplyTo,
		e.Subject, e.TextBody, e.HTMLBody)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// EnqueueEmail writes e to the outbox in a transaction of its own (for an
// email that is itself the whole effect, like a transcript asked for). It
// returns false when e's dedupe key was used before, ErrMailRateLimited when
// lim refuses.
func (s *Store) EnqueueEmail(ctx context.Context, e *OutboxEmail, lim MailLimit) (bool, error) {
	var ok bool
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var err error
		ok, err = enqueueEmail(ctx, tx, e, lim)
		return err
	})
	return ok, err
}

// Delivery is what a send attempt of one email came to.
type Delivery struct {
	Err       error // nil: delivered
	Permanent bool  // the server refused for good: stop trying
}

// DeliverDue claims up to limit due emails (FOR UPDATE SKIP LOCKED, so
// every backend's senders share the work without sending one twice), hands
// them to send and records each outcome in the same transaction: delivered,
// retried after backoff(attempts), or given up after maxAttempts. The row
// locks last until the outcomes are written: a crash in between leaves the
// rows due, to be sent again with the same Message-ID. It returns how many
// it claimed.
func (s *Store) DeliverDue(ctx context.Context, limit int, send func([]OutboxEmail) []Delivery,
	backoff func(attempts int) time.Duration, maxAttempts int) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var due []OutboxEmail
		if err := tx.SelectContext(ctx, &due, `SELECT `+outboxCols+` FROM outbox
			WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
			ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit); err != nil {
			return err
		}
		n = len(due)
		if n == 0 {
			return nil
		}
		res := send(due)
		var sent []int64
		for i, e := range due {
			d := res[i]
			if d.Err == nil {
				sent = append(sent, e.ID)
				continue
			}
			attempts := e.Attempts + 1
			msg := d.Err.Error()
			if len(msg) > 500 {
				msg = msg[:500]
			}
			var err error
			if d.Permanent || attempts >= maxAttempts {
				_, err = tx.ExecContext(ctx, `UPDATE outbox SET attempts = $2, last_error = $3, failed_at = now() WHERE id = $1`,
					e.ID, attempts, msg)
			} else {
				_, err = tx.ExecContext(ctx, `UPDATE outbox SET attempts = $2, last_error = $3,
					next_attempt_at = now() + $4::interval WHERE id = $1`, e.ID, attempts, msg, backoff(attempts).String())
			}
			if err != nil {
				return err
			}
		}
		if len(sent) > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET sent_at = now(), attempts = attempts + 1 WHERE id = ANY($1)`,
				pq.Array(sent)); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// NextMailDue says when the earliest unsent email is due (ok=false: none is).
func (s *Store) NextMailDue(ctx context.Context) (at time.Time, ok bool, err error) {
	var t sql.NullTime // min over no rows is NULL
	err = s.db.GetContext(ctx, &t, `SELECT min(next_attempt_at) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL`)
	return t.Time, t.Valid, err
}

// OutboxCounts reports the outbox's state: sent, waiting and given up.
func (s *Store) OutboxCounts(ctx context.Context) (sent, waiting, failed int64, err error) {
	err = s.db.QueryRowxContext(ctx, `SELECT count(*) FILTER (WHERE sent_at IS NOT NULL),
		count(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL),
		count(*) FILTER (WHERE failed_at IS NOT NULL) FROM outbox`).Scan(&sent, &waiting, &failed)
	return
}

// MailKey returns the secret that signs resume links and reply addresses.
func (s *Store) MailKey(ctx context.Context) ([]byte, error) {
	var k []byte
	err := s.db.GetContext(ctx, &k, `SELECT secret FROM mail_keys WHERE id = 1`)
	return k, err
}

// MailRecipient is where a conversation's email goes: the address its
// visitor left, and what may be sent there.
type MailRecipient struct {
	Email string `db:"email"`
	// Verified: the site vouched for the address (an identified contact);
	// a typed one is only a claim.
	Verified bool `db:"verified"`
	// RefusedCommunication: the visitor declined the communication consent
	// on the conversation's chatflow.
	RefusedCommunication bool `db:"refused"`
}

// conversationRecipient reads conversation id's recipient. It is the one
// place that knows where a typed address is kept.
func conversationRecipient(ctx context.Context, q sqlx.QueryerContext, id int64) (MailRecipient, error) {
	var r MailRecipient
	// The identified contact's address, else the one the visitor typed
	// (ClaimEmail): a claim reaches only this visitor's own chat.
	err := sqlx.GetContext(ctx, q, &r, `SELECT COALESCE(NULLIF(ct.email, ''), c.claimed_email) AS email,
			COALESCE(ct.email <> '' AND ct.verified, false) AS verified,
			COALESCE((SELECT k.decision = 'refused' FROM consents k
				WHERE k.account_id = c.account_id AND k.kind = 'communication' AND k.chatflow_id = c.chatflow_id
				AND (k.visitor_id = c.visitor_id OR k.contact_id = c.contact_id OR k.conversation_id = c.id)
				ORDER BY k.id DESC LIMIT 1), false) AS refused
		FROM conversations c LEFT JOIN contacts ct ON ct.id = c.contact_id
		WHERE c.id = $1`, id)
	return r, notFound(err)
}

// ConversationRecipient returns where conversation id's email goes (an
// empty Email: nowhere).
func (s *Store) ConversationRecipient(ctx context.Context, id int64) (MailRecipient, error) {
	return conversationRecipient(ctx, s.db, id)
}

// Kinds of mail_due marks: conversations with email to decide on, each
// marked by the transaction that caused it.
const (
	DueReply   = "reply"   // agent replies: mailed once the visitor has been away for the delay
	DueClose   = "close"   // closed: the transcript at close, where the chatflow asks for it
	DueOffline = "offline" // a message left while nobody could answer: its confirmation
)

// Due is a conversation with email to decide on, handed to the renderer
// of its email.
type Due struct {
	Kind         string
	Conversation Conversation
	Recipient    MailRecipient
	// Messages: for a reply, the agent's replies neither read nor mailed;
	// for a close, what the visitor saw; for an offline message, the
	// visitor's messages. Oldest first.
	Messages []Message
}

// dueMessages selects each kind's messages of conversation $1 (after seq $2).
var dueMessages = map[string]string{
	DueReply:   `m.seq > $2 AND m.author_type = 'agent' AND NOT m.internal ORDER BY m.seq LIMIT 50`,
	DueClose:   `m.seq > $2 AND NOT m.internal ORDER BY m.seq LIMIT 500`,
	DueOffline: `m.seq > $2 AND m.author_type = 'visitor' ORDER BY m.seq LIMIT 50`,
}

// ProcessDue handles up to limit marks of kind older than delay, one
// transaction each: the mark goes, render returns the email (nil for none)
// and it is written to the outbox; for replies, with how far the
// conversation is now mailed. A reply waits while its visitor has a widget
// socket open on any backend, or closed the last one less than delay ago:
// they see it live. Nothing is rendered without an address or messages,
// and an address that has had its share of email for now gets none (the
// chat keeps everything). Backends share the work (SKIP LOCKED). It
// returns how many marks it handled.
func (s *Store) ProcessDue(ctx context.Context, kind string, delay time.Duration, limit int,
	render func(ctx context.Context, d *Due) (*OutboxEmail, MailLimit, error)) (int, error) {
	msgs, ok := dueMessages[kind]
	if !ok {
		return 0, errors.New("store: unknown mail_due kind " + kind)
	}
	away := ""
	if kind == DueReply {
		away = ` AND NOT ` + visitorConnected("$2")
	}
	claim := `DELETE FROM mail_due WHERE ctid = (SELECT d.ctid FROM mail_due d JOIN conversations c ON c.id = d.conversation_id
		WHERE d.kind = $1 AND d.since <= now() - $2::interval` + away + `
		ORDER BY d.since LIMIT 1 FOR UPDATE OF d SKIP LOCKED) RETURNING conversation_id`
	done := 0
	for done < limit {
		found := false
		err := s.tx(ctx, func(tx *sqlx.Tx) error {
			var convID int64
			err := tx.GetContext(ctx, &convID, claim, kind, delay.String())
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			found = true
			d := Due{Kind: kind}
			if err := tx.GetContext(ctx, &d.Conversation, `SELECT `+conversationColumns+` FROM conversations WHERE id = $1`, convID); err != nil {
				return notFound(err)
			}
			if d.Recipient, err = conversationRecipient(ctx, tx, convID); err != nil || d.Recipient.Email == "" {
				return err // nowhere to send it
			}
			var after int64
			if kind == DueReply {
				// Neither mailed before nor read in the chat meanwhile.
				if err := tx.GetContext(ctx, &after, `SELECT GREATEST(
					COALESCE((SELECT mailed_seq FROM conversation_mail WHERE conversation_id = $1), 0),
					COALESCE((SELECT visitor_read_seq FROM conversation_reads WHERE conversation_id = $1), 0))`, convID); err != nil {
					return err
				}
			}
			if err := tx.SelectContext(ctx, &d.Messages, `SELECT `+messageColumnsM+`, COALESCE(u.name, '') AS author_name, `+hasAttachment+` FROM messages m
				LEFT JOIN users u ON u.id = m.author_id
				WHERE m.conversation_id = $1 AND `+msgs, convID, after); err != nil {
				return err
			}
			if len(d.Messages) == 0 {
				return nil
			}
			e, lim, err := render(ctx, &d)
			if err != nil || e == nil {
				return err
			}
			if _, err := enqueueEmail(ctx, tx, e, lim); err != nil {
				if errors.Is(err, ErrMailRateLimited) {
					return nil
				}
				return err
			}
			if kind != DueReply {
				return nil
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO conversation_mail (conversation_id, mailed_seq) VALUES ($1, $2)
				ON CONFLICT (conversation_id) DO UPDATE SET mailed_seq = GREATEST(conversation_mail.mailed_seq, EXCLUDED.mailed_seq)`,
				convID, d.Messages[len(d.Messages)-1].Seq)
			return err
		})
		if err != nil {
			return done, err
		}
		if !found {
			return done, nil
		}
		done++
	}
	return done, nil
}

// ResumeConversation hands conversation id of account and chatflow to
// visitorID (a reopen link clicked in another browser): the conversation
// follows the link, and the visitor takes the conversation's contact when
// it has none. ErrNotFound when the conversation is not of that account
// and chatflow.
func (s *Store) ResumeConversation(ctx context.Context, accountID, chatflowID, id, visitorID int64) (*Conversation, error) {
	var c Conversation
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &c, `UPDATE conversations SET visitor_id = $4, updated_at = now()
			WHERE id = $1 AND account_id = $2 AND chatflow_id = $3
			RETURNING `+conversationColumns, id, accountID, chatflowID, visitorID); err != nil {
			return notFound(err)
		}
		if c.ContactID != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE visitors SET contact_id = $2 WHERE id = $1 AND contact_id IS NULL`,
				visitorID, *c.ContactID); err != nil {
				return err
			}
		}
		announce(tx, events.Notice{Account: accountID, Conversation: id, Kind: events.KindConversation})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// MailKeep is how long sent and given-up emails stay in the outbox (for
// the per-address limits and for looking back), and PruneMail's batch.
const (
	MailKeep       = 30 * 24 * time.Hour
	mailPruneBatch = 5000
)

// PruneMail deletes what email leaves behind once it is of no use: outbox
// rows older than MailKeep that were sent or given up, expired reset links,
// reset requests older than a day and inbox presence rows of backends that
// stopped. It deletes in bounded batches and returns how many rows went.
func (s *Store) PruneMail(ctx context.Context) (int64, error) {
	var total int64
	for _, q := range []string{
		`DELETE FROM outbox WHERE id IN (SELECT id FROM outbox
			WHERE (sent_at < now() - $1::interval OR failed_at < now() - $1::interval) LIMIT ` + strconv.Itoa(mailPruneBatch) + `)`,
		`DELETE FROM password_resets WHERE expires_at < now() AND $1::interval IS NOT NULL`,
		`DELETE FROM password_reset_requests WHERE created_at < now() - interval '1 day' AND $1::interval IS NOT NULL`,
		`DELETE FROM inbox_presence WHERE seen_at < now() - interval '1 hour' AND $1::interval IS NOT NULL`,
	} {
		res, err := s.db.ExecContext(ctx, q, MailKeep.String())
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
