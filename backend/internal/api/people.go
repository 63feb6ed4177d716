package api

import (
	"errors"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/events"
	"github.com/parleychat/parley/backend/internal/password"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
)

func (a *API) getAccount(c *gin.Context) { a.accountJSON(c, http.StatusOK, account(c)) }

// Inboxes.

// groupInput is what inboxes and teams share: a name and member users.
type groupInput struct {
	Name      string  `json:"name"`
	MemberIDs []int64 `json:"member_ids"`
}

type inboxInput struct {
	groupInput
	HasChatChannel bool `json:"has_chat_channel"`
}

func (a *API) listInboxes(c *gin.Context) {
	ins, err := a.st.Inboxes(c, account(c).ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"inboxes": nonNil(ins)})
}

func (a *API) getInbox(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	in, err := a.st.Inbox(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, in)
}

func (a *API) createInbox(c *gin.Context) {
	in := inboxInput{HasChatChannel: true}
	if !a.decodeInbox(c, &in) {
		return
	}
	out := &store.Inbox{AccountID: account(c).ID, Name: in.Name, HasChatChannel: in.HasChatChannel, MemberIDs: in.MemberIDs}
	if err := a.st.CreateInbox(c, out); err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/inboxes/"+strconv.FormatInt(out.ID, 10))
	c.JSON(http.StatusCreated, out)
}

func (a *API) patchInbox(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	cur, err := a.st.Inbox(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	in := inboxInput{groupInput{cur.Name, cur.MemberIDs}, cur.HasChatChannel}
	if !a.decodeInbox(c, &in) {
		return
	}
	cur.Name, cur.HasChatChannel, cur.MemberIDs = in.Name, in.HasChatChannel, in.MemberIDs
	if err := a.st.UpdateInbox(c, cur); err != nil {
		a.fail(c, err)
		return
	}
	a.reroute(c) // new members may take waiting conversations
	c.JSON(http.StatusOK, cur)
}

func (a *API) decodeInbox(c *gin.Context, in *inboxInput) bool {
	return a.decodeGroup(c, in, &in.groupInput)
}

// decodeGroup reads the body onto in (which holds g) and checks the name
// and that every member is a user of the account.
func (a *API) decodeGroup(c *gin.Context, in any, g *groupInput) bool {
	b, ok := body(c)
	if !ok {
		return false
	}
	if err := chatflow.DecodeStrict(b, in, "id", "created_at"); err != nil {
		a.fail(c, err)
		return false
	}
	var e problem.Errors
	checkName(&e, "name", g.Name)
	a.checkUsers(c, &e, "member_ids", g.MemberIDs)
	if err := e.Err(); err != nil {
		a.fail(c, err)
		return false
	}
	if g.MemberIDs == nil {
		g.MemberIDs = []int64{}
	}
	return true
}

func (a *API) deleteInbox(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	if err := a.st.DeleteInbox(c, account(c).ID, id); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// Users.

type userInput struct {
	Email        string `json:"email"`
	Name         string `json:"name"`
	Role         string `json:"role"`
	HasSeat      bool   `json:"has_seat"`
	Status       string `json:"status"`
	MaxOpenChats int    `json:"max_open_chats"`
	AvatarURL    string `json:"avatar_url"`
	// AvatarImageID names an uploaded image (POST /api/v1/images) shown as
	// the user's avatar, before avatar_url; "" for none.
	AvatarImageID string `json:"avatar_image_id"`
	Password      string `json:"password"` // write-only; empty keeps the current one
}

// Limits on users.
const (
	MaxOpenChatsCap = 100
)

func (a *API) listUsers(c *gin.Context) {
	us, err := a.st.Users(c, account(c).ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"users": nonNil(us)})
}

func (a *API) getUser(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	u, err := a.st.User(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, u)
}

func (a *API) createUser(c *gin.Context) {
	in := userInput{Role: store.RoleAgent, Status: store.UserOffline, MaxOpenChats: 5}
	u := &store.User{AccountID: account(c).ID}
	if !a.decodeUser(c, &in, u) {
		return
	}
	if err := a.st.CreateUser(c, u); err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/users/"+strconv.FormatInt(u.ID, 10))
	a.userCreated(c, u)
}

func (a *API) patchUser(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	u, err := a.st.User(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	in := userInput{Email: u.Email, Name: u.Name, Role: u.Role, HasSeat: u.HasSeat, Status: u.Status,
		MaxOpenChats: u.MaxOpenChats, AvatarURL: u.AvatarURL, AvatarImageID: u.AvatarImageID}
	before := *u
	if !a.decodeUser(c, &in, u) {
		return
	}
	if err := a.st.UpdateUser(c, u); err != nil {
		a.fail(c, err)
		return
	}
	if u.PasswordHash != before.PasswordHash {
		if err := a.st.SetPasswordHash(c, u.AccountID, u.ID, u.PasswordHash); err != nil {
			a.fail(c, err)
			return
		}
	}
	if u.Status != before.Status || u.HasSeat != before.HasSeat || u.MaxOpenChats != before.MaxOpenChats {
		// Open widgets recompute their chatflow's availability (backend/internal/chat).
		a.st.Announce(c, events.Notice{Account: u.AccountID, Kind: events.KindPresence})
	}
	a.reroute(c) // status, seat or capacity may make them eligible
	c.JSON(http.StatusOK, u)
}

// decodeUser reads and validates the body onto in, then applies it to u.
func (a *API) decodeUser(c *gin.Context, in *userInput, u *store.User) bool {
	b, ok := body(c)
	if !ok {
		return false
	}
	if err := chatflow.DecodeStrict(b, in, "id", "created_at", "last_assigned_at", "chosen_status"); err != nil {
		a.fail(c, err)
		return false
	}
	var e problem.Errors
	if addr, err := mail.ParseAddress(in.Email); err != nil || addr.Address != in.Email || len(in.Email) > 254 {
		e.Add("email", "must be an email address like ana@example.com")
	}
	checkName(&e, "name", in.Name)
	if !slices.Contains([]string{store.RoleAdmin, store.RoleEditor, store.RoleAgent}, in.Role) {
		e.Add("role", `must be one of: "admin", "editor", "agent"`)
	}
	if !slices.Contains([]string{store.UserAvailable, store.UserAway, store.UserOffline}, in.Status) {
		e.Add("status", `must be one of: "available", "away", "offline"`)
	}
	if in.MaxOpenChats < 0 || in.MaxOpenChats > MaxOpenChatsCap {
		e.Add("max_open_chats", "must be 0 to "+strconv.Itoa(MaxOpenChatsCap))
	}
	if in.AvatarURL != "" && !strings.HasPrefix(in.AvatarURL, "https://") && !strings.HasPrefix(in.AvatarURL, "http://") {
		e.Add("avatar_url", "must be an http or https URL")
	}
	if in.AvatarImageID != "" {
		_, err := a.st.BrandImage(c, u.AccountID, in.AvatarImageID)
		switch {
		case !imageID.MatchString(in.AvatarImageID) || errors.Is(err, store.ErrNotFound):
			e.Add("avatar_image_id", "no such image: upload it first (POST /api/v1/images)")
		case err != nil:
			a.fail(c, err)
			return false
		}
	}
	if in.Password != "" && password.Check(in.Password) != nil {
		e.Add("password", password.Check(in.Password).Error())
	}
	if err := e.Err(); err != nil {
		a.fail(c, err)
		return false
	}
	if in.Password != "" {
		hash, err := password.Hash(in.Password)
		if err != nil {
			a.fail(c, err)
			return false
		}
		u.PasswordHash = hash
	}
	u.Email, u.Name, u.Role, u.HasSeat, u.Status = in.Email, in.Name, in.Role, in.HasSeat, in.Status
	u.MaxOpenChats, u.AvatarURL, u.AvatarImageID = in.MaxOpenChats, in.AvatarURL, in.AvatarImageID
	return true
}

func (a *API) deleteUser(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	if err := a.st.DeleteUser(c, account(c).ID, id); err != nil {
		a.fail(c, err)
		return
	}
	a.reroute(c) // their open conversations are unassigned now
	c.Status(http.StatusNoContent)
}

// Teams.

type teamInput = groupInput

func (a *API) listTeams(c *gin.Context) {
	ts, err := a.st.Teams(c, account(c).ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"teams": nonNil(ts)})
}

func (a *API) getTeam(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	t, err := a.st.Team(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, t)
}

func (a *API) createTeam(c *gin.Context) {
	var in teamInput
	if !a.decodeTeam(c, &in) {
		return
	}
	t := &store.Team{AccountID: account(c).ID, Name: in.Name, MemberIDs: in.MemberIDs}
	if err := a.st.CreateTeam(c, t); err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/teams/"+strconv.FormatInt(t.ID, 10))
	c.JSON(http.StatusCreated, t)
}

func (a *API) patchTeam(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	t, err := a.st.Team(c, account(c).ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	in := teamInput{Name: t.Name, MemberIDs: t.MemberIDs}
	if !a.decodeTeam(c, &in) {
		return
	}
	t.Name, t.MemberIDs = in.Name, in.MemberIDs
	if err := a.st.UpdateTeam(c, t); err != nil {
		a.fail(c, err)
		return
	}
	a.reroute(c) // new members may take waiting conversations
	c.JSON(http.StatusOK, t)
}

func (a *API) decodeTeam(c *gin.Context, in *teamInput) bool {
	return a.decodeGroup(c, in, in)
}

func (a *API) deleteTeam(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	if err := a.st.DeleteTeam(c, account(c).ID, id); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// Shared checks.

func checkName(e *problem.Errors, field, v string) {
	switch {
	case strings.TrimSpace(v) == "":
		e.Add(field, "is required")
	case !utf8.ValidString(v) || utf8.RuneCountInString(v) > chatflow.MaxNameLen:
		e.Add(field, "must be text of at most "+strconv.Itoa(chatflow.MaxNameLen)+" characters")
	}
}

// checkUsers records every id that is not a user of the account.
func (a *API) checkUsers(c *gin.Context, e *problem.Errors, field string, ids []int64) {
	if len(ids) == 0 {
		return
	}
	r, err := a.refs(c, account(c).ID)
	if err != nil {
		e.Add(field, "could not be checked; try again")
		return
	}
	for i, id := range ids {
		if !r.User(id) {
			e.Add(field+"["+strconv.Itoa(i)+"]", "no such user")
		}
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
