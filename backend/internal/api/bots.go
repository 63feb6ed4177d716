package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/parleychat/parley/backend/internal/bot"
	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/problem"
	"github.com/parleychat/parley/backend/internal/store"
)

// botDoc is a bot as the REST API shows and takes it. Template is
// create-only: POST {"template": "support_triage"} starts from that flow.
type botDoc struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Template string `json:"template,omitempty"`
	bot.Flow
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (a *API) registerBots(v1 *gin.RouterGroup) {
	v1.GET("/bots", a.listBots)
	v1.POST("/bots", a.createBot)
	v1.GET("/bots/:id", a.getBot)
	v1.PUT("/bots/:id", a.replaceBot)
	v1.DELETE("/bots/:id", a.deleteBot)
	v1.GET("/bot-templates", a.listBotTemplates)
	v1.GET("/bot-templates/:template", a.getBotTemplate)
}

var botReadOnly = []string{"id", "version", "created_at", "updated_at"}

func botFromRow(r *store.BotRow) (*botDoc, error) {
	d := &botDoc{ID: r.ID, Name: r.Name, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if err := json.Unmarshal(r.Flow, &d.Flow); err != nil {
		return nil, err
	}
	if d.Steps == nil {
		d.Steps = []bot.FlowStep{}
	}
	return d, nil
}

func (a *API) listBots(c *gin.Context) {
	rows, err := a.st.Bots(c, account(c).ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := make([]*botDoc, 0, len(rows))
	for i := range rows {
		d, err := botFromRow(&rows[i])
		if err != nil {
			a.fail(c, err)
			return
		}
		out = append(out, d)
	}
	c.JSON(http.StatusOK, gin.H{"bots": out})
}

func (a *API) loadBot(c *gin.Context) (*botDoc, bool) {
	id, ok := pathID(c)
	if !ok {
		return nil, false
	}
	row, err := a.st.Bot(c, account(c).ID, id)
	if err == nil {
		var d *botDoc
		if d, err = botFromRow(row); err == nil {
			return d, true
		}
	}
	a.fail(c, err)
	return nil, false
}

func (a *API) getBot(c *gin.Context) {
	if d, ok := a.loadBot(c); ok {
		c.Header("ETag", etag(d.Version))
		c.JSON(http.StatusOK, d)
	}
}

func (a *API) createBot(c *gin.Context) {
	b, ok := body(c)
	if !ok {
		return
	}
	var d botDoc
	if err := chatflow.DecodeStrict(b, &d, botReadOnly...); err != nil {
		a.fail(c, err)
		return
	}
	if d.Template != "" {
		t, found := bot.TemplateByID(d.Template)
		switch {
		case !found:
			a.fail(c, problem.Errors{{Field: "template", Message: "is not a template; see GET /api/v1/bot-templates"}})
			return
		case d.Start != "" || len(d.Steps) > 0:
			a.fail(c, problem.Errors{{Field: "template", Message: "give a template or start and steps, not both"}})
			return
		}
		d.Flow = t.Flow
		if d.Name == "" {
			d.Name = t.Name
		}
		d.Template = ""
	}
	if !a.validateBot(c, &d) {
		return
	}
	flow, err := json.Marshal(d.Flow)
	row := &store.BotRow{AccountID: account(c).ID, Name: d.Name, Flow: flow}
	if err == nil {
		err = a.st.CreateBot(c, row)
	}
	if err != nil {
		a.failBot(c, err)
		return
	}
	d.ID, d.Version, d.CreatedAt, d.UpdatedAt = row.ID, row.Version, row.CreatedAt, row.UpdatedAt
	c.Header("Location", "/api/v1/bots/"+strconv.FormatInt(d.ID, 10))
	c.Header("ETag", etag(d.Version))
	c.JSON(http.StatusCreated, &d)
}

// replaceBot is PUT: the body is the whole bot (name, start, steps).
func (a *API) replaceBot(c *gin.Context) {
	cur, ok := a.loadBot(c)
	if !ok {
		return
	}
	b, ok := body(c)
	if !ok {
		return
	}
	d := botDoc{ID: cur.ID, CreatedAt: cur.CreatedAt}
	if err := chatflow.DecodeStrict(b, &d, botReadOnly...); err != nil {
		a.fail(c, err)
		return
	}
	if d.Template != "" {
		a.fail(c, problem.Errors{{Field: "template", Message: "only a new bot starts from a template"}})
		return
	}
	if !a.validateBot(c, &d) {
		return
	}
	ifVersion, ok := ifMatch(c)
	if !ok {
		return
	}
	flow, err := json.Marshal(d.Flow)
	row := &store.BotRow{ID: d.ID, AccountID: account(c).ID, Name: d.Name, Flow: flow}
	if err == nil {
		err = a.st.UpdateBot(c, row, ifVersion)
	}
	if err != nil {
		a.failBot(c, err)
		return
	}
	d.Version, d.UpdatedAt = row.Version, row.UpdatedAt
	c.Header("ETag", etag(d.Version))
	c.JSON(http.StatusOK, &d)
}

func (a *API) deleteBot(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	if err := a.st.DeleteBot(c, account(c).ID, id); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (a *API) listBotTemplates(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"templates": bot.Templates()})
}

func (a *API) getBotTemplate(c *gin.Context) {
	t, ok := bot.TemplateByID(c.Param("template"))
	if !ok {
		problem.Status(c.Writer, http.StatusNotFound, "No such template; see GET /api/v1/bot-templates.")
		return
	}
	c.JSON(http.StatusOK, t)
}

// validateBot checks the name and the flow, answering 400 with every field error.
func (a *API) validateBot(c *gin.Context, d *botDoc) bool {
	r, err := a.refs(c, account(c).ID)
	if err != nil {
		a.fail(c, err)
		return false
	}
	e := d.Flow.Validate(r)
	d.Name = strings.TrimSpace(d.Name)
	if d.Name == "" || utf8.RuneCountInString(d.Name) > bot.MaxNameChars {
		e.Add("name", "must be 1 to "+strconv.Itoa(bot.MaxNameChars)+" characters")
	}
	if err := e.Err(); err != nil {
		a.fail(c, err)
		return false
	}
	return true
}

// failBot answers the errors particular to writing a bot.
func (a *API) failBot(c *gin.Context, err error) {
	switch {
	case errors.Is(err, store.ErrConflict):
		a.fail(c, problem.Errors{{Field: "name", Message: "another bot already has this name"}})
	default:
		a.fail(c, err)
	}
}
