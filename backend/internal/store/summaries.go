package store

import "strings"

// summaryByIDs reads the ConversationSummary rows of account $2 among ids
// $1 the way summarySelect does, but from the ids outwards: one index
// look-up per row in each table. A list page's live rows read a few
// changed conversations of a large table many times a second; planned as
// summarySelect's joins, each read scanned every conversation and every
// visitor (hash joins), so its cost grew with the tables, not the rows.
var summaryByIDs = summaryFrom("unnest($1::bigint[]) AS ids(id)", "AND x.account_id = $2")

// summaryFrom is summaryByIDs over any relation ids with a column id
// (src), and the further condition on the conversation x (cond).
func summaryFrom(src, cond string) string {
	return summarySelect[:strings.Index(summarySelect, "FROM conversations c")] + `FROM ` + src + `
	CROSS JOIN LATERAL (SELECT x.id, x.public_id, x.account_id, x.inbox_id, x.status, x.last_seq, x.page_url, x.created_at,
		x.last_message_at, x.assignee_id, x.claimed_email, x.visitor_id, x.contact_id, x.visitor_messages
		FROM conversations x WHERE x.id = ids.id ` + cond + ` LIMIT 1) c
	CROSS JOIN LATERAL (SELECT name FROM inboxes WHERE id = c.inbox_id LIMIT 1) i
	CROSS JOIN LATERAL (SELECT id, name, contact_id FROM visitors WHERE id = c.visitor_id LIMIT 1) v
	LEFT JOIN LATERAL (SELECT agent_read_seq, visitor_messages_read FROM conversation_reads WHERE conversation_id = c.id LIMIT 1) r ON true
	LEFT JOIN LATERAL (SELECT name, email FROM contacts WHERE id = COALESCE(c.contact_id, v.contact_id) LIMIT 1) ct ON true
	LEFT JOIN LATERAL (SELECT name FROM users WHERE id = c.assignee_id LIMIT 1) a ON true
	LEFT JOIN LATERAL (SELECT body, author_type, internal FROM messages m
		WHERE m.conversation_id = c.id ORDER BY m.seq DESC LIMIT 1) lm ON true`
}
