package inbox

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// accountSettings mounts the account, users, teams, inboxes and API keys.
func (h *Handler) accountSettings(g *gin.RouterGroup) {
	g.GET("/account", h.accountPage)
	g.POST("/account", h.requireCSRF, h.saveAccount)
	h.userSettings(g)  // settings_users.go
	h.groupSettings(g) // settings_groups.go: teams and inboxes
	h.keySettings(g)   // settings_keys.go
}

// accountForm is the account as the form shows it (typed values kept on an error).
type accountForm struct {
	Name            string   `json:"name"`
	CompanyName     string   `json:"company_name"`
	CompanyDomain   string   `json:"company_domain"`
	Timezone        string   `json:"timezone"`
	AllowedDomains  []string `json:"allowed_domains"`
	MailSenderName  string   `json:"mail_sender_name"`
	MailReplyDomain string   `json:"mail_reply_domain"`
	SiteKey         string   `json:"site_key"`
}

type accountPageData struct {
	settingsPage
	Account accountForm
	Domains string // allowed domains, one a line
}

// accountFields are the form's fields, by their REST names.
var accountFields = []string{"name", "company_name", "company_domain", "timezone", "allowed_domains", "mail_sender_name", "mail_reply_domain"}

func (h *Handler) accountPage(c *gin.Context) {
	var a accountForm
	if !h.restGet(c, "/api/v1/account", &a) {
		return
	}
	d := accountPageData{settingsPage: h.settingsPageFor(c, "account", "Account"), Account: a,
		Domains: strings.Join(a.AllowedDomains, "\n")}
	h.render(c, http.StatusOK, "settings_account.html", d)
}

func (h *Handler) saveAccount(c *gin.Context) {
	a := accountForm{
		Name:            c.PostForm("name"),
		CompanyName:     c.PostForm("company_name"),
		CompanyDomain:   c.PostForm("company_domain"),
		Timezone:        c.PostForm("timezone"),
		AllowedDomains:  formLines(c.PostForm("allowed_domains")),
		MailSenderName:  c.PostForm("mail_sender_name"),
		MailReplyDomain: c.PostForm("mail_reply_domain"),
	}
	body := map[string]any{"name": a.Name, "company_name": a.CompanyName, "company_domain": a.CompanyDomain,
		"timezone": a.Timezone, "allowed_domains": a.AllowedDomains,
		"mail_sender_name": a.MailSenderName, "mail_reply_domain": a.MailReplyDomain}
	r := h.rest(c, http.MethodPatch, "/api/v1/account", body, 0)
	if r.OK() {
		doneRedirect(c, "/inbox/settings/account", "saved")
		return
	}
	d := accountPageData{settingsPage: h.settingsBase(c, "account", "Account"), Account: a,
		Domains: c.PostForm("allowed_domains")}
	status := formProblem(r, &d.Errors, &d.Conflict)
	placeErrors(d.Errors, accountFields...)
	var cur accountForm // the site key is not a form field
	if h.rest(c, http.MethodGet, "/api/v1/account", nil, 0).Decode(&cur) == nil {
		d.Account.SiteKey = cur.SiteKey
	}
	h.render(c, status, "settings_account.html", d)
}
