package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/parleychat/parley/backend/internal/events"
)

// createReq is one CreateConversation waiting for its batch.
type createReq struct {
	nc   NewConversation
	done chan createRes // buffered: the batch never waits for a caller
}

type createRes struct {
	c       *Conversation
	created bool
	err     error
}

// createTimeout bounds one batch of conversation creations.
const createTimeout = 15 * time.Second

// CreateConversation starts a conversation with its ticket in one
// transaction, or returns the visitor's open conversation on the same
// chatflow if one exists (created=false), so a visitor has at most one open
// conversation per chatflow even when several tabs send a first message at
// once. The ticket takes the chatflow's ticket properties (status "new" and
// the defaults where it names none). Conversations arriving together are
// created together (groupCommit): a crowd of first messages costs a few
// transactions, not one each.
func (s *Store) CreateConversation(ctx context.Context, nc NewConversation) (c *Conversation, created bool, err error) {
	r := &createReq{nc: nc, done: make(chan createRes, 1)}
	s.creates.submit(r, s.createBatch)
	select {
	case res := <-r.done:
		return res.c, res.created, res.err
	case <-ctx.Done():
		// The batch may still commit it: the next send finds it open.
		return nil, false, ctx.Err()
	}
}

// createBatchSQL creates the batch's conversations (the visitors are locked
// already) and their tickets, and names each request's conversation: the
// open one of its visitor and chatflow if there is one, else the new one.
const createBatchSQL = `WITH input AS (
		SELECT account_id, chatflow_id, inbox_id, visitor_id, public_id, page_url, referrer, user_agent, claimed_email, ord,
			attach, contact_id, c_kind, c_basis, c_decision, c_text, c_language, c_page
		FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
			$13::boolean[], $14::bigint[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[])
			WITH ORDINALITY AS t(account_id, chatflow_id, inbox_id, visitor_id, public_id, page_url, referrer, user_agent, claimed_email,
				attach, contact_id, c_kind, c_basis, c_decision, c_text, c_language, c_page, ord)),
	open AS (
		SELECT i.ord, (SELECT c.id FROM conversations c WHERE c.visitor_id = i.visitor_id AND c.chatflow_id = i.chatflow_id
			AND c.status = 'open' ORDER BY c.id DESC LIMIT 1) AS id
		FROM input i WHERE i.chatflow_id IS NOT NULL),
	fresh AS (
		SELECT i.account_id, i.chatflow_id, i.inbox_id, i.visitor_id, i.public_id, i.page_url, i.referrer, i.user_agent, i.claimed_email, i.ord,
			i.attach, i.contact_id, i.c_kind, i.c_basis, i.c_decision, i.c_text, i.c_language, i.c_page
		FROM input i WHERE NOT EXISTS (SELECT 1 FROM open o WHERE o.ord = i.ord AND o.id IS NOT NULL)),
	ins AS (
		INSERT INTO conversations (account_id, public_id, chatflow_id, inbox_id, visitor_id, page_url, referrer, user_agent, claimed_email)
		SELECT account_id, public_id, chatflow_id, inbox_id, visitor_id, page_url, referrer, user_agent, claimed_email FROM fresh ORDER BY ord
		RETURNING id, public_id, account_id, chatflow_id),
	-- The ticket takes the chatflow's ticket properties; what the chatflow
	-- leaves empty (or a conversation without a chatflow) gets the defaults.
	tk AS (
		INSERT INTO tickets (account_id, conversation_id, pipeline, status, priority, category, properties)
		SELECT ins.account_id, ins.id,
			COALESCE(NULLIF(s.t->>'pipeline', ''), $10), COALESCE(NULLIF(s.t->>'status', ''), $11),
			COALESCE(NULLIF(s.t->>'priority', ''), $12), COALESCE(s.t->>'category', ''),
			CASE WHEN jsonb_typeof(s.t->'properties') = 'object' THEN s.t->'properties' ELSE '{}' END
		FROM ins LEFT JOIN LATERAL (SELECT cf.settings->'tickets' AS t FROM chatflows cf
			WHERE cf.id = ins.chatflow_id AND cf.account_id = ins.account_id) s ON true),
	-- Consents given before the conversation began are shown beside it
	-- (this statement's snapshot does not see the one recorded below).
	attached AS (
		UPDATE consents k SET conversation_id = ins.id
		FROM ins JOIN fresh f ON f.public_id = ins.public_id
		WHERE f.attach AND k.account_id = ins.account_id AND k.visitor_id = f.visitor_id AND k.chatflow_id = ins.chatflow_id
			AND k.conversation_id IS NULL),
	implied AS (
		INSERT INTO consents (account_id, visitor_id, contact_id, chatflow_id, conversation_id, kind, basis, decision, text, text_hash, language, page_url)
		SELECT ins.account_id, f.visitor_id, f.contact_id, ins.chatflow_id, ins.id, f.c_kind, f.c_basis, f.c_decision, f.c_text,
			encode(sha256(convert_to(f.c_text, 'UTF8')), 'hex'), f.c_language, f.c_page
		FROM ins JOIN fresh f ON f.public_id = ins.public_id
		JOIN chatflows cf ON cf.id = ins.chatflow_id AND cf.account_id = ins.account_id
		WHERE f.c_kind <> '')
	SELECT i.ord, COALESCE(ins.id, o.id), ins.id IS NOT NULL
	FROM input i LEFT JOIN open o ON o.ord = i.ord LEFT JOIN ins ON ins.public_id = i.public_id
	ORDER BY i.ord`

// createBatch creates a batch's conversations in one transaction and
// answers every request. Requests for the same visitor and chatflow get
// the same conversation (the first is told it was created).
func (s *Store) createBatch(batch []*createReq) {
	ctx, cancel := context.WithTimeout(context.Background(), createTimeout)
	defer cancel()
	type key struct{ visitor, chatflow int64 }
	var (
		rows  []*createReq             // one per conversation to find or make
		twins = map[*createReq]int{}   // a later request for the same visitor and chatflow → its row
		first = map[key]int{}          // visitor and chatflow → row
		res   []createRes              // per row
		errs  = map[*createReq]error{} // refused before the statement
	)
	for _, r := range batch {
		if r.nc.ChatflowID != 0 {
			k := key{r.nc.VisitorID, r.nc.ChatflowID}
			if i, ok := first[k]; ok {
				twins[r] = i
				continue
			}
			first[k] = len(rows)
		}
		rows = append(rows, r)
	}
	attempt := func(tx *sqlx.Tx) error {
		res = make([]createRes, len(rows))
		clear(errs)
		// Locking the visitors (in id order: batches never deadlock)
		// serialises first messages of one visitor from several tabs and backends.
		ids := make([]int64, len(rows))
		for i, r := range rows {
			ids[i] = r.nc.VisitorID
		}
		var visitors []struct {
			ID           int64  `db:"id"`
			AccountID    int64  `db:"account_id"`
			ClaimedEmail string `db:"claimed_email"`
			ContactID    *int64 `db:"contact_id"`
		}
		if err := tx.SelectContext(ctx, &visitors, `SELECT id, account_id, claimed_email, contact_id FROM visitors WHERE id = ANY($1) ORDER BY id FOR UPDATE`,
			pq.Array(ids)); err != nil {
			return err
		}
		type visitor struct {
			account int64
			email   string
			contact sql.NullInt64
		}
		known := make(map[int64]visitor, len(visitors))
		for _, v := range visitors {
			known[v.ID] = visitor{v.AccountID, v.ClaimedEmail, sql.NullInt64{Int64: deref(v.ContactID), Valid: v.ContactID != nil}}
		}
		var (
			accounts, chatflows, inboxes, vids            []sql.NullInt64
			publicIDs, pages, referrers, agents, emails   []string
			attach                                        []bool
			contacts                                      []sql.NullInt64
			kinds, bases, decisions, texts, langs, cPages []string
			index                                         []int // statement row → rows index
		)
		for i, r := range rows {
			nc := r.nc
			v, ok := known[nc.VisitorID]
			if !ok || v.account != nc.AccountID {
				errs[r] = ErrNotFound
				continue
			}
			var n NewConsent
			if nc.Consent != nil {
				if err := checkConsent(*nc.Consent); err != nil {
					errs[r] = err
					continue
				}
				n = *nc.Consent
			}
			accounts = append(accounts, sql.NullInt64{Int64: nc.AccountID, Valid: true})
			chatflows = append(chatflows, sql.NullInt64{Int64: nc.ChatflowID, Valid: nc.ChatflowID != 0})
			inboxes = append(inboxes, sql.NullInt64{Int64: nc.InboxID, Valid: true})
			vids = append(vids, sql.NullInt64{Int64: nc.VisitorID, Valid: true})
			publicIDs = append(publicIDs, NewPublicID("conv"))
			pages = append(pages, cleanText(nc.PageURL, MaxContextChars))
			referrers = append(referrers, cleanText(nc.Referrer, MaxContextChars))
			agents = append(agents, cleanText(nc.UserAgent, MaxContextChars))
			// An address the visitor claimed before belongs to the new conversation too (ClaimEmail).
			emails = append(emails, v.email)
			attach, contacts = append(attach, nc.AttachConsents), append(contacts, v.contact)
			kinds, bases, decisions = append(kinds, n.Kind), append(bases, n.Basis), append(decisions, n.Decision)
			texts, langs, cPages = append(texts, cleanText(n.Text, MaxConsentText)), append(langs, cleanText(n.Language, 16)), append(cPages, cleanText(n.PageURL, 2000))
			index = append(index, i)
		}
		if len(index) == 0 {
			return nil
		}
		q, err := tx.QueryContext(ctx, createBatchSQL, pq.Array(accounts), pq.Array(chatflows), pq.Array(inboxes), pq.Array(vids),
			pq.Array(publicIDs), pq.Array(pages), pq.Array(referrers), pq.Array(agents), pq.Array(emails),
			TicketPipelineSupport, TicketStatusNew, TicketPriorityMedium,
			pq.Array(attach), pq.Array(contacts), pq.Array(kinds), pq.Array(bases), pq.Array(decisions), pq.Array(texts), pq.Array(langs), pq.Array(cPages))
		if err != nil {
			return err
		}
		convIDs := make([]int64, 0, len(index))
		byConv := map[int64][]int{} // conversation → rows
		for q.Next() {
			var ord, id int64
			var created bool
			if err := q.Scan(&ord, &id, &created); err != nil {
				q.Close()
				return err
			}
			if ord < 1 || ord > int64(len(index)) {
				q.Close()
				return errors.New("store: conversation batch returned an unknown row")
			}
			i := index[ord-1]
			res[i].created = created
			if _, seen := byConv[id]; !seen {
				convIDs = append(convIDs, id)
			}
			byConv[id] = append(byConv[id], i)
		}
		q.Close()
		if err := q.Err(); err != nil {
			return err
		}
		var convs []Conversation
		if err := tx.SelectContext(ctx, &convs, `SELECT `+conversationColumns+` FROM conversations WHERE id = ANY($1)`, pq.Array(convIDs)); err != nil {
			return err
		}
		for k := range convs {
			for _, i := range byConv[convs[k].ID] {
				c := convs[k]
				res[i].c = &c
				if res[i].created {
					announce(tx, events.Notice{Account: c.AccountID, Conversation: c.ID, Kind: events.KindConversation, Internal: true})
				}
			}
		}
		for i, r := range rows {
			if res[i].c == nil && errs[r] == nil {
				errs[r] = ErrNotFound
			}
		}
		return nil
	}
	err := s.tx(ctx, attempt)
	var pe *pq.Error
	if errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001") {
		err = s.tx(ctx, attempt) // a deadlock with some other writer: once more
	}
	for i, r := range rows {
		switch {
		case err != nil:
			r.done <- createRes{err: err}
		case errs[r] != nil:
			r.done <- createRes{err: errs[r]}
		default:
			r.done <- res[i]
		}
	}
	for r, i := range twins {
		switch {
		case err != nil:
			r.done <- createRes{err: err}
		case errs[rows[i]] != nil:
			r.done <- createRes{err: errs[rows[i]]}
		default:
			c := *res[i].c
			r.done <- createRes{c: &c} // the conversation its twin found or made
		}
	}
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
