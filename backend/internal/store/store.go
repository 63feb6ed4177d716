// Package store is the backend's storage: every SQL statement lives here,
// one file per concept, on PostgreSQL through sqlx.
package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"log/slog"
	"sync"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/parleychat/parley/backend/internal/events"
)

// ErrNotFound means the row does not exist or belongs to another account.
var ErrNotFound = errors.New("store: not found")

// ErrConflict means a unique constraint refused the write.
var ErrConflict = errors.New("store: conflict")

// ErrStale means a conditional write found the row changed since the
// version the caller named (an If-Match that no longer holds).
var ErrStale = errors.New("store: changed since the given version")

// Store wraps the connection pool.
type Store struct {
	db   *sqlx.DB
	send func(...events.Notice)

	mu    sync.Mutex
	stmts map[string]*sqlx.Stmt // see prepared

	appends appender                // group commit of AppendMessage (append.go)
	creates groupCommit[*createReq] // group commit of CreateConversation (convbatch.go)
	assigns groupCommit[*assignReq] // group commit of AutoAssign (routebatch.go)
}

// New returns a Store on db.
func New(db *sqlx.DB) *Store {
	s := &Store{db: db}
	// Assignments serialise on the account's routing lock: one batch at a
	// time gathers whatever arrives meanwhile.
	s.assigns.one = true
	return s
}

// DB exposes the pool for callers that need a raw query (tests, health checks).
func (s *Store) DB() *sqlx.DB { return s.db }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// tx runs fn in a transaction, committing if it returns nil; the notices
// fn announced go out after the commit, and are dropped with a rollback.
func (s *Store) tx(ctx context.Context, fn func(*sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		takeAnnounced(tx)
		return err
	}
	if err := tx.Commit(); err != nil {
		takeAnnounced(tx)
		return err
	}
	s.notify(ctx, takeAnnounced(tx)...)
	return nil
}

// announced holds the notices of open transactions (announce) until tx
// commits them or drops them. A notice is the store's to send, once, after
// the commit: subscribers then read what it announces, never before it is
// visible, and no transaction holds PostgreSQL's notification lock.
var announced sync.Map // *sqlx.Tx → []events.Notice

// announce queues n for after tx's commit; tx must be one of s.tx's.
func announce(tx *sqlx.Tx, n events.Notice) {
	v, _ := announced.Load(tx)
	ns, _ := v.([]events.Notice)
	announced.Store(tx, append(ns, n))
}

func takeAnnounced(tx *sqlx.Tx) []events.Notice {
	v, ok := announced.LoadAndDelete(tx)
	if !ok {
		return nil
	}
	return v.([]events.Notice)
}

// Announce tells every backend of a change that needs no write of its own
// (a typing indicator, a presence recomputation): the one way code outside
// the store announces.
func (s *Store) Announce(ctx context.Context, n events.Notice) { s.notify(ctx, n) }

// notFound maps sql.ErrNoRows to ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// isUnique reports whether err is a unique-violation.
func isUnique(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && pe.Code == "23505"
}

// NewToken returns a random URL-safe secret of 32 bytes.
func NewToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewPublicID returns a random public identifier with a prefix, e.g. "cf_…".
func NewPublicID(prefix string) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + "_" + base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is how secrets are kept: only their SHA-256.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// rowsOrNotFound turns "no row changed" into ErrNotFound.
func rowsOrNotFound(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// isForeignKey reports whether err is a foreign-key violation.
func isForeignKey(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && pe.Code == "23503"
}

// SetNotifier makes the store hand notices of committed writes on its hot
// paths to send (the event bus's batching sender) instead of issuing one
// NOTIFY per write.
// Notices sent together (a batch of appended messages) go in one call.
func (s *Store) SetNotifier(send func(...events.Notice)) { s.send = send }

// notify announces committed changes: through the batching sender when one
// is set, else with a NOTIFY each (outside any transaction, so it never
// holds PostgreSQL's notification lock while a commit is flushed).
func (s *Store) notify(ctx context.Context, ns ...events.Notice) {
	if s.send != nil {
		s.send(ns...)
		return
	}
	for _, n := range ns {
		if err := events.Notify(ctx, s.db, n); err != nil {
			slog.Warn("store: notify", "notice", n.String(), "err", err)
		}
	}
}

// prepared returns query as a statement prepared on each pooled connection
// when first used there: its executions then take one round trip (bind and
// execute) instead of two. For the hot paths only.
func (s *Store) prepared(ctx context.Context, query string) (*sqlx.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if s.stmts == nil {
		s.stmts = map[string]*sqlx.Stmt{}
	}
	s.stmts[query] = st
	return st, nil
}
