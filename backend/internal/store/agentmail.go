package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// What an agent hears of by email (agent_mail_prefs.notify).
const (
	NotifyOff     = "off"
	NotifyInstant = "instant"
	NotifyHourly  = "hourly"
)

// AgentMailPref returns how userID wants news by email (NotifyInstant
// until they choose).
func (s *Store) AgentMailPref(ctx context.Context, userID int64) (string, error) {
	var n string
	err := s.db.GetContext(ctx, &n, `SELECT notify FROM agent_mail_prefs WHERE user_id = $1`, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return NotifyInstant, nil
	}
	return n, err
}

// SetAgentMailPref stores userID's choice (the caller checks it is one of
// the three).
func (s *Store) SetAgentMailPref(ctx context.Context, userID int64, notify string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO agent_mail_prefs (user_id, notify) VALUES ($1, $2)
		ON CONFLICT (user_id) DO UPDATE SET notify = EXCLUDED.notify`, userID, notify)
	return err
}

// TouchInboxPresence records that users have an inbox page open on
// backend now, and forgets this backend's other users.
func (s *Store) TouchInboxPresence(ctx context.Context, backend string, users []int64) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM inbox_presence WHERE backend = $1 AND NOT (user_id = ANY($2))`,
			backend, pq.Array(users)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO inbox_presence (user_id, backend) SELECT unnest($2::bigint[]), $1
			ON CONFLICT (user_id, backend) DO UPDATE SET seen_at = now()`, backend, pq.Array(users))
		return err
	})
}

// InboxPresenceFresh is how old an inbox_presence row may be and still
// count: backends refresh theirs more often than this.
const InboxPresenceFresh = time.Minute

// addAssignedNews tells userID, in tx, that conversation convID is theirs now.
func addAssignedNews(ctx context.Context, tx *sqlx.Tx, userID, convID int64) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO agent_news (user_id, conversation_id, kind) VALUES ($1, $2, 'assigned')`, userID, convID); err != nil {
		return err
	}
	// The assignment tells of the messages so far; only later ones are news.
	_, err := tx.ExecContext(ctx, `INSERT INTO agent_message_told (conversation_id, told_seq)
		SELECT id, last_seq FROM conversations WHERE id = $1
		ON CONFLICT (conversation_id) DO UPDATE SET told_seq = GREATEST(agent_message_told.told_seq, EXCLUDED.told_seq)`, convID)
	return err
}

// CollectAgentNews turns what happened into news for agents, once each:
// visitor messages in an agent's open chats that they have not read, and
// unassigned chats that waited longer than waitingAfter (for every member
// of the inbox with a seat). One backend at a time does it.
//
// A chat whose assignee has an inbox page open is news to nobody (they see
// it there); what was told of it moves past its messages only when
// tellPresent, so a busy account's chats are not all written once a
// second: callers pass it every few runs, well within InboxPresenceFresh.
func (s *Store) CollectAgentNews(ctx context.Context, waitingAfter time.Duration, tellPresent bool) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var got bool
		if err := tx.GetContext(ctx, &got, `SELECT pg_try_advisory_xact_lock(hashtextextended('parley:agent-news', 0))`); err != nil || !got {
			return err
		}
		if _, err := tx.ExecContext(ctx, `WITH due AS (
				SELECT c.id, c.assignee_id, c.last_seq FROM conversations c
				LEFT JOIN conversation_reads r ON r.conversation_id = c.id
				LEFT JOIN agent_message_told t ON t.conversation_id = c.id
				WHERE c.status = 'open' AND c.assignee_id IS NOT NULL AND c.last_message_at > now() - interval '1 day'
				AND ($2 OR NOT EXISTS (SELECT 1 FROM inbox_presence p WHERE p.user_id = c.assignee_id AND p.seen_at > now() - $1::interval))
				-- nothing after what was read or told: no message to look for (the common case)
				AND c.last_seq > GREATEST(COALESCE(r.agent_read_seq, 0), COALESCE(t.told_seq, 0))
				AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.author_type = 'visitor'
					AND m.seq > GREATEST(COALESCE(r.agent_read_seq, 0), COALESCE(t.told_seq, 0)))),
			told AS (
				INSERT INTO agent_message_told (conversation_id, told_seq) SELECT id, last_seq FROM due
				ON CONFLICT (conversation_id) DO UPDATE SET told_seq = EXCLUDED.told_seq)
			-- An agent with an inbox page open sees it there: DeliverAgentNews
			-- would drop their news at once, so none is written.
			INSERT INTO agent_news (user_id, conversation_id, kind) SELECT assignee_id, id, 'message' FROM due
			WHERE NOT EXISTS (SELECT 1 FROM inbox_presence p WHERE p.user_id = due.assignee_id AND p.seen_at > now() - $1::interval)`,
			InboxPresenceFresh.String(), tellPresent); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `WITH waiting AS (
				SELECT im.user_id, c.id FROM conversations c
				JOIN inbox_members im ON im.inbox_id = c.inbox_id
				JOIN users u ON u.id = im.user_id AND u.has_seat
				WHERE c.status = 'open' AND c.assignee_id IS NULL
				AND c.created_at < now() - $1::interval AND c.created_at > now() - interval '7 days'),
			told AS (
				INSERT INTO agent_waiting_told (user_id, conversation_id) SELECT user_id, id FROM waiting
				ON CONFLICT DO NOTHING RETURNING user_id, conversation_id)
			INSERT INTO agent_news (user_id, conversation_id, kind) SELECT user_id, conversation_id, 'waiting' FROM told`,
			waitingAfter.String())
		return err
	})
}

// AgentNews is one piece of news in an agent's email.
type AgentNews struct {
	ID             int64  `db:"id"`
	Kind           string `db:"kind"`
	ConversationID int64  `db:"conversation_id"`
	Who            string `db:"who"`  // the visitor: contact name or email, or ""
	Last           string `db:"last"` // the visitor's last message
}

// AgentMailTo is whom the news goes to.
type AgentMailTo struct {
	User
	Notify string
	News   []AgentNews
}

// DeliverAgentNews turns waiting news into emails, one transaction per
// agent: render's email is written to the outbox as the news goes. News
// for an agent with an inbox page open, or who chose "off", is dropped
// (they see it there, or asked not to be told); an hourly agent's news
// waits until an hour after their last email.
func (s *Store) DeliverAgentNews(ctx context.Context, render func(ctx context.Context, to *AgentMailTo) (*OutboxEmail, error)) (int, error) {
	var users []int64
	if err := s.db.SelectContext(ctx, &users, `SELECT DISTINCT user_id FROM agent_news LIMIT 200`); err != nil {
		return 0, err
	}
	sent := 0
	for _, uid := range users {
		err := s.tx(ctx, func(tx *sqlx.Tx) error {
			var to AgentMailTo
			if err := tx.GetContext(ctx, &to.User, `SELECT `+userColumns+` FROM users WHERE id = $1 FOR UPDATE SKIP LOCKED`, uid); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return nil // another backend has it
				}
				return err
			}
			var lastSent sql.NullTime
			var open bool
			if err := tx.QueryRowxContext(ctx, `SELECT COALESCE((SELECT notify FROM agent_mail_prefs WHERE user_id = $1), 'instant'),
				(SELECT last_sent FROM agent_mail_prefs WHERE user_id = $1),
				EXISTS (SELECT 1 FROM inbox_presence WHERE user_id = $1 AND seen_at > now() - $2::interval)`,
				uid, InboxPresenceFresh.String()).Scan(&to.Notify, &lastSent, &open); err != nil {
				return err
			}
			if to.Notify == NotifyOff || open {
				_, err := tx.ExecContext(ctx, `DELETE FROM agent_news WHERE user_id = $1`, uid)
				return err
			}
			if to.Notify == NotifyHourly && lastSent.Valid && time.Since(lastSent.Time) < time.Hour {
				return nil
			}
			if err := tx.SelectContext(ctx, &to.News, `SELECT n.id, n.kind, n.conversation_id,
					COALESCE(NULLIF(ct.name, ''), NULLIF(ct.email, ''), c.claimed_email, '') AS who,
					COALESCE((SELECT m.body FROM messages m WHERE m.conversation_id = n.conversation_id AND m.author_type = 'visitor'
						ORDER BY m.seq DESC LIMIT 1), '') AS last
				FROM agent_news n JOIN conversations c ON c.id = n.conversation_id
				LEFT JOIN contacts ct ON ct.id = c.contact_id
				WHERE n.user_id = $1 ORDER BY n.id LIMIT 50`, uid); err != nil {
				return err
			}
			if len(to.News) == 0 {
				return nil
			}
			e, err := render(ctx, &to)
			if err != nil {
				return err
			}
			if e != nil {
				if _, err := enqueueEmail(ctx, tx, e, MailLimit{}); err != nil {
					return err
				}
				sent++
			}
			ids := make([]int64, len(to.News))
			for i, n := range to.News {
				ids[i] = n.ID
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM agent_news WHERE id = ANY($1)`, pq.Array(ids)); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO agent_mail_prefs (user_id, last_sent) VALUES ($1, now())
				ON CONFLICT (user_id) DO UPDATE SET last_sent = now()`, uid)
			return err
		})
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// ErrThrottled refuses a request made too often.
var ErrThrottled = errors.New("store: too many requests")

// PasswordResetLimit caps "forgot password" requests: per email address
// and per client address, in an hour.
type PasswordResetLimit struct{ PerEmail, PerAddress int }

// RequestPasswordReset records a "forgot password" request for email from
// address and, when a user signs in with that email and the limits allow,
// makes a one-time token valid for ttl and writes render's email (with the
// token) in the same transaction. It answers nothing about whether the
// user exists: callers say the same either way.
func (s *Store) RequestPasswordReset(ctx context.Context, email, address string, ttl time.Duration, lim PasswordResetLimit,
	render func(u *User, token string) (*OutboxEmail, error)) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('reset:' || lower($1), 0))`, email); err != nil {
			return err
		}
		var perEmail, perAddr int
		if err := tx.QueryRowxContext(ctx, `SELECT
				(SELECT count(*) FROM password_reset_requests WHERE lower(email) = lower($1) AND created_at > now() - interval '1 hour'),
				(SELECT count(*) FROM password_reset_requests WHERE address = $2 AND created_at > now() - interval '1 hour')`,
			email, address).Scan(&perEmail, &perAddr); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO password_reset_requests (email, address) VALUES ($1, $2)`, email, address); err != nil {
			return err
		}
		if perEmail >= lim.PerEmail || perAddr >= lim.PerAddress {
			return nil // throttled, silently
		}
		// An email is unique per account only: each account's user of it
		// gets a link of their own.
		var us []User
		if err := tx.SelectContext(ctx, &us, `SELECT `+userColumns+` FROM users WHERE lower(email) = lower($1) AND password_hash <> ''
			ORDER BY account_id LIMIT 20`, email); err != nil {
			return err
		}
		for i := range us {
			token := NewToken()
			if _, err := tx.ExecContext(ctx, `INSERT INTO password_resets (token_hash, user_id, expires_at) VALUES ($1, $2, now() + $3::interval)`,
				HashToken(token), us[i].ID, ttl.String()); err != nil {
				return err
			}
			e, err := render(&us[i], token)
			if err != nil {
				return err
			}
			if _, err := enqueueEmail(ctx, tx, e, MailLimit{}); err != nil {
				return err
			}
		}
		return nil
	})
}

// PasswordResetUser returns the user a live reset token is for.
func (s *Store) PasswordResetUser(ctx context.Context, token string) (*User, error) {
	var u User
	err := s.db.GetContext(ctx, &u, `SELECT `+qualify("u", userColumns)+` FROM password_resets r JOIN users u ON u.id = r.user_id
		WHERE r.token_hash = $1 AND r.expires_at > now()`, HashToken(token))
	return &u, notFound(err)
}

// UsePasswordReset spends a live token: the user's password becomes hash,
// every session of theirs ends, and every reset link of theirs stops
// working. ErrNotFound for a token that is unknown, used or expired.
func (s *Store) UsePasswordReset(ctx context.Context, token, hash string) (*User, error) {
	var u User
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var uid int64
		if err := tx.GetContext(ctx, &uid, `DELETE FROM password_resets WHERE token_hash = $1 AND expires_at > now() RETURNING user_id`,
			HashToken(token)); err != nil {
			return notFound(err)
		}
		if err := tx.GetContext(ctx, &u, `UPDATE users SET password_hash = $2 WHERE id = $1 RETURNING `+userColumns, uid, hash); err != nil {
			return notFound(err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM password_resets WHERE user_id = $1`, uid); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM user_sessions WHERE user_id = $1`, uid)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.accessChanged(ctx, u.AccountID, u.ID)
	return &u, nil
}
