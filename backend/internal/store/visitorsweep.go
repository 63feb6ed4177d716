package store

import (
	"context"
	"time"
)

// DeleteSilentVisitors removes at most limit visitors created and last seen
// more than age ago that never sent anything: no conversation, no consent
// decision, no address typed, not identified. They are what a page load
// that never chatted leaves behind (and what a flood of anonymous hellos
// makes); their tokens then start over as new visitors, losing nothing.
func (w *Sweep) DeleteSilentVisitors(ctx context.Context, age time.Duration, limit int) (int64, error) {
	return w.exec(ctx, `DELETE FROM visitors WHERE id IN (
		SELECT v.id FROM visitors v
		WHERE v.created_at < now() - make_interval(secs => $2) AND v.last_seen_at < now() - make_interval(secs => $2)
			AND v.contact_id IS NULL AND v.claimed_email = ''
			AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.visitor_id = v.id)
			AND NOT EXISTS (SELECT 1 FROM consents k WHERE k.visitor_id = v.id)
		LIMIT $1 FOR UPDATE SKIP LOCKED)`, limit, age.Seconds())
}
