package store

import "context"

// PublicKB returns knowledge base id of account when visitors may read it:
// a published (enabled) chatflow of the account links it, for its Help tab
// or its customer agent. Any other knowledge base is ErrNotFound, however
// published its articles are, so ids cannot be walked to read one the
// account never put on a site.
func (s *Store) PublicKB(ctx context.Context, accountID, id int64) (*KnowledgeBase, error) {
	var k KnowledgeBase
	err := s.db.GetContext(ctx, &k, `SELECT `+qualify("k", kbColumns)+`
		FROM knowledge_bases k WHERE k.id = $1 AND k.account_id = $2
		AND EXISTS (SELECT 1 FROM chatflows c WHERE c.account_id = $2 AND c.enabled
			AND c.settings->'options'->>'knowledge_base_id' = $1::bigint::text)`, id, accountID)
	if err != nil {
		return nil, notFound(err)
	}
	return &k, nil
}
