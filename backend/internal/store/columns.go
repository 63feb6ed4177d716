package store

import "strings"

// Every query names the columns it reads, never `*`: a migration may add a
// column while an older backend still runs (add first, use later, drop
// last), and a struct scan of a star select would then fail on the column
// the old code has no field for. Each list holds the table's columns its struct
// reads; TestColumnLists checks them against the schema and the structs.
const (
	accountColumns          = "id, public_id, name, company_name, company_domain, timezone, created_at, mail_sender_name, mail_reply_domain"
	botColumns              = "id, account_id, name, flow, version, created_at, updated_at"
	botStateColumns         = "conversation_id, account_id, kind, bot_id, active, state, pending_contact, created_at, updated_at"
	botMessageColumns       = "message_id, conversation_id, quick_replies, link, link_title"
	chatflowColumns         = "id, account_id, public_id, name, channel, inbox_id, language, type, enabled, priority, mobile_tag, settings, version, created_at, updated_at"
	consentColumns          = "id, account_id, visitor_id, contact_id, chatflow_id, conversation_id, subscription_type_id, kind, basis, decision, text, text_hash, language, page_url, created_at"
	contactColumns          = "id, account_id, email, name, properties, marketing, source_chatflow_id, sourced_at, verified, created_at, updated_at"
	contactSubColumns       = "contact_id, subscription_type_id, status, conversation_id, updated_at"
	conversationColumns     = "id, account_id, public_id, chatflow_id, inbox_id, visitor_id, contact_id, status, assignee_id, team_id, last_seq, page_url, current_page_url, referrer, user_agent, claimed_email, created_at, updated_at, last_message_at, closed_at"
	inboxColumns            = "id, account_id, name, has_chat_channel, created_at"
	kbColumns               = "id, account_id, name, language, created_at, updated_at"
	kbCategoryColumns       = "id, kb_id, name, description, position, created_at, updated_at"
	messageColumns          = "id, conversation_id, seq, client_id, author_type, author_id, internal, body, created_at"
	subscriptionTypeColumns = "id, account_id, name, description, created_at, updated_at"
	surveyColumns           = "id, account_id, name, delivery, question, scale, allow_comment, created_at, updated_at"
	surveyResponseColumns   = "id, survey_id, conversation_id, score, comment, created_at"
	teamColumns             = "id, account_id, name, created_at"
	ticketRowColumns        = "id, account_id, conversation_id, subject, pipeline, status, priority, category, properties, created_at, updated_at, closed_at"
	userColumns             = "id, account_id, email, name, password_hash, role, has_seat, status, max_open_chats, avatar_url, last_assigned_at, created_at, chosen_status, avatar_image_id"
	visitorColumns          = "id, account_id, token_hash, contact_id, name, claimed_email, created_at, last_seen_at"
)

// qualify prefixes every column of list with alias, for joins:
// qualify("m", "id, seq") is "m.id, m.seq".
func qualify(alias, list string) string {
	cols := strings.Split(list, ", ")
	for i, c := range cols {
		cols[i] = alias + "." + c
	}
	return strings.Join(cols, ", ")
}

// Qualified lists for the joins that read them.
var (
	accountColumnsA      = qualify("a", accountColumns)
	contactColumnsC      = qualify("c", contactColumns)
	contactSubColumnsCS  = qualify("cs", contactSubColumns)
	contactSubColumnsUp  = qualify("up", contactSubColumns)
	conversationColumnsC = qualify("c", conversationColumns)
	kbCategoryColumnsC   = qualify("c", kbCategoryColumns)
	messageColumnsM      = qualify("m", messageColumns)
	surveyColumnsSV      = qualify("sv", surveyColumns)
	surveyResponseColsR  = qualify("r", surveyResponseColumns)
)
