package api

import (
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
)

// MaxMessageRunes bounds a message posted over REST: the inbox's reply
// limit, which is also the widget's.
const MaxMessageRunes = 4000

// maxMessageClientID bounds the idempotency key a caller may send.
const maxMessageClientID = 100

type postMessageInput struct {
	Text     string `json:"text"`
	As       string `json:"as"`
	UserID   *int64 `json:"user_id"`
	BotName  string `json:"bot_name"`
	ClientID string `json:"client_id"`
}

// postMessage: POST /conversations/:id/messages {"text", "as": "agent"|"bot",
// "user_id" (agent), "bot_name" (bot), "client_id" (optional idempotency
// key)}. The message is stored like an inbox reply, so the visitor sees it
// live; an agent must be a member of the conversation's inbox, a bot must
// be one of the account's bots.
func (a *API) postMessage(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	acct := account(c)
	conv, err := a.st.Conversation(c, acct.ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	b, ok := body(c)
	if !ok {
		return
	}
	var in postMessageInput
	if err := chatflow.DecodeStrict(b, &in); err != nil {
		a.fail(c, err)
		return
	}
	var e problem.Errors
	text := strings.TrimSpace(in.Text)
	switch n := utf8.RuneCountInString(text); {
	case n == 0:
		e.Add("text", "is required")
	case n > MaxMessageRunes:
		e.Add("text", "must be at most 4000 characters")
	}
	if len(in.ClientID) > maxMessageClientID {
		e.Add("client_id", "must be at most 100 bytes")
	}
	nm := store.NewMessage{ConversationID: conv.ID, ClientID: in.ClientID, Body: text, RequireOpen: true}
	switch in.As {
	case "agent":
		if in.BotName != "" {
			e.Add("bot_name", "is only for \"as\": \"bot\"")
		}
		if in.UserID == nil {
			e.Add("user_id", "is required to post as an agent")
			break
		}
		u, err := a.st.User(c, acct.ID, *in.UserID)
		if errors.Is(err, store.ErrNotFound) {
			e.Add("user_id", "no such user")
			break
		}
		if err != nil {
			a.fail(c, err)
			return
		}
		member, err := a.st.IsInboxMember(c, u.ID, conv.InboxID)
		if err != nil {
			a.fail(c, err)
			return
		}
		if !member {
			e.Add("user_id", "is not a member of the conversation's inbox; add them to it first")
		}
		nm.AuthorType, nm.AuthorID = store.AuthorAgent, u.ID
	case "bot":
		if in.UserID != nil {
			e.Add("user_id", "is only for \"as\": \"agent\"")
		}
		if strings.TrimSpace(in.BotName) == "" {
			e.Add("bot_name", "is required to post as a bot")
			break
		}
		bot, err := a.st.BotByName(c, acct.ID, strings.TrimSpace(in.BotName))
		if errors.Is(err, store.ErrNotFound) {
			e.Add("bot_name", "no bot of this account has this name")
			break
		}
		if err != nil {
			a.fail(c, err)
			return
		}
		nm.AuthorType, nm.AuthorID = store.AuthorBot, bot.ID
	default:
		e.Add("as", "must be \"agent\" or \"bot\"")
	}
	if err := e.Err(); err != nil {
		a.fail(c, err)
		return
	}
	if nm.ClientID == "" {
		nm.ClientID = "api:" + store.NewToken()
	}
	m, created, err := a.st.AppendMessage(c, nm)
	if errors.Is(err, store.ErrConversationClosed) {
		problem.Status(c.Writer, http.StatusConflict, "The conversation is closed; reopen it before posting.")
		return
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	c.JSON(status, m)
}
