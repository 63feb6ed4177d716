package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// MaxSiteOrigins is how many page origins an account keeps: the most
// recently seen.
const MaxSiteOrigins = 50

// OriginSeen is one report of an edge: a page of Origin loaded the widget
// of the account whose site key is Site, last at At.
type OriginSeen struct {
	Site   string    `json:"site"`
	Origin string    `json:"origin"`
	At     time.Time `json:"at"`
}

// SiteOrigin is a page origin the account's widget was loaded on.
type SiteOrigin struct {
	Origin   string    `db:"origin"`
	LastSeen time.Time `db:"last_seen"`
}

// RecordOrigins stores the edges' reports: each origin's last time per
// account (an older report never moves it back), unknown sites ignored,
// and only the MaxSiteOrigins most recent origins kept per account.
func (s *Store) RecordOrigins(ctx context.Context, seen []OriginSeen) error {
	if len(seen) == 0 {
		return nil
	}
	sites, origins, ats := make([]string, len(seen)), make([]string, len(seen)), make([]time.Time, len(seen))
	for i, o := range seen {
		sites[i], origins[i], ats[i] = o.Site, o.Origin, o.At
	}
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var accounts []int64
		err := tx.SelectContext(ctx, &accounts, `WITH r AS (
				SELECT DISTINCT ON (a.id, r.origin) a.id AS account_id, r.origin, r.at
				FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS r(site, origin, at)
				JOIN accounts a ON a.public_id = r.site
				ORDER BY a.id, r.origin, r.at DESC)
			INSERT INTO site_origins AS o (account_id, origin, last_seen) SELECT account_id, origin, at FROM r
			ON CONFLICT (account_id, origin) DO UPDATE SET last_seen = GREATEST(o.last_seen, EXCLUDED.last_seen)
			RETURNING account_id`, pq.Array(sites), pq.Array(origins), pq.Array(ats))
		if err != nil || len(accounts) == 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM site_origins o USING (
				SELECT account_id, origin, row_number() OVER (PARTITION BY account_id ORDER BY last_seen DESC, origin) AS n
				FROM site_origins WHERE account_id = ANY($1)) k
			WHERE o.account_id = k.account_id AND o.origin = k.origin AND k.n > $2`, pq.Array(accounts), MaxSiteOrigins)
		return err
	})
}

// SiteOrigins lists the page origins the account's widget was loaded on, latest first.
func (s *Store) SiteOrigins(ctx context.Context, accountID int64) ([]SiteOrigin, error) {
	out := []SiteOrigin{}
	err := s.db.SelectContext(ctx, &out, `SELECT origin, last_seen FROM site_origins
		WHERE account_id = $1 ORDER BY last_seen DESC, origin`, accountID)
	return out, err
}

// MobileTag is a mobile chatflow as the install page lists it.
type MobileTag struct {
	Name    string `db:"name"`
	Tag     string `db:"mobile_tag"`
	Enabled bool   `db:"enabled"`
}

// MobileTags lists the account's mobile chatflows by priority, without
// their settings.
func (s *Store) MobileTags(ctx context.Context, accountID int64) ([]MobileTag, error) {
	out := []MobileTag{}
	err := s.db.SelectContext(ctx, &out, `SELECT name, mobile_tag, enabled FROM chatflows
		WHERE account_id = $1 AND channel = 'mobile' ORDER BY priority DESC, id`, accountID)
	return out, err
}
