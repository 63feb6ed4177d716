package mail

import (
	"bytes"
	"context"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/backend/internal/transcript"
	"github.com/parleychat/parley/widget"
)

// Brand is how an email presents the account: the chatflow's heading.
type Brand struct {
	Name   string
	Image  string // http(s) URL or ""
	Accent string // #rrggbb
}

// Line is one message quoted in an email.
type Line struct {
	Author string
	Text   string
	File   bool // the message carries a file (its name is the text)
}

// View is what the two templates render.
type View struct {
	Lang      string
	Brand     Brand
	Intro     string
	Lines     []Line
	Button    string // label of the main link; "" for none
	ButtonURL string
	Hint      string // a line under the button
	Footer    string
}

var htmlTmpl = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"></head>
<body style="margin:0;padding:24px;background:#f4f5f7;font-family:Arial,Helvetica,sans-serif;color:#1f2328">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:600px;margin:0 auto;background:#ffffff;border-radius:8px;border-top:4px solid {{.Brand.Accent}}">
<tr><td style="padding:24px">
{{if .Brand.Image}}<img src="{{.Brand.Image}}" alt="" width="40" height="40" style="border-radius:20px;vertical-align:middle;margin-right:8px">{{end}}<strong style="font-size:18px;vertical-align:middle">{{.Brand.Name}}</strong>
<p style="font-size:15px;line-height:1.5">{{.Intro}}</p>
{{range .Lines}}<div style="margin:12px 0;padding:10px 14px;border-left:3px solid {{$.Brand.Accent}};background:#f6f8fa;border-radius:4px">
<div style="font-size:12px;color:#57606a;margin-bottom:4px">{{.Author}}</div>
<div style="font-size:15px;line-height:1.5;white-space:pre-wrap">{{if .File}}📎 {{end}}{{.Text}}</div></div>
{{end}}{{if .Button}}<p style="margin:24px 0"><a href="{{.ButtonURL}}" style="display:inline-block;padding:12px 20px;background:{{.Brand.Accent}};color:#ffffff;text-decoration:none;border-radius:6px;font-weight:bold">{{.Button}}</a></p>{{end}}
{{if .Hint}}<p style="font-size:13px;color:#57606a">{{.Hint}}</p>{{end}}
<p style="font-size:12px;color:#8c959f;margin-top:24px">{{.Footer}}</p>
</td></tr></table></body></html>
`))

// textTmpl writes each message's author on a line of its own and every
// line of the message indented (backend/transcript), so no text a visitor
// types can pass for another author's message.
var textTmpl = texttemplate.Must(texttemplate.New("text").Funcs(texttemplate.FuncMap{
	"oneline": transcript.OneLine,
	"indent": func(s string) string {
		return transcript.Indent + strings.Join(transcript.Lines(s), "\n"+transcript.Indent)
	},
}).Parse(`{{.Brand.Name}}

{{.Intro}}
{{range .Lines}}
{{oneline .Author}}:
{{if .File}}{{indent (printf "[%s]" .Text)}}{{else}}{{indent .Text}}{{end}}
{{end}}{{if .Button}}
{{.Button}}: {{.ButtonURL}}
{{end}}{{if .Hint}}
{{.Hint}}
{{end}}
-- 
{{.Footer}}
`))

// render returns the plain text and HTML bodies of v.
func render(v View) (text, html string, err error) {
	var tb, hb bytes.Buffer
	if err := textTmpl.Execute(&tb, v); err != nil {
		return "", "", err
	}
	if err := htmlTmpl.Execute(&hb, v); err != nil {
		return "", "", err
	}
	return tb.String(), hb.String(), nil
}

// brandOf is the chatflow's heading as an email shows it, falling back to
// the account's names and Parley's blue. An uploaded image is shown from
// the edge at publicURL (none when that is unknown).
func brandOf(acct *store.Account, cf *chatflow.Chatflow, publicURL string) Brand {
	b := Brand{Accent: "#2f6fed"}
	if cf != nil {
		if cf.Look.AccentColor != "" {
			b.Accent = cf.Look.AccentColor
		}
		b.Name = cf.Look.Heading.BrandName
		if u := cf.Look.Heading.ImageURL; strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
			b.Image = u
		}
		if id := cf.Look.Heading.ImageID; id != "" && publicURL != "" && cf.Look.Heading.Kind == widget.HeadingBrand {
			b.Image = publicURL + widget.ImagePath(acct.PublicID, id)
		}
	}
	if b.Name == "" {
		b.Name = acct.CompanyName
	}
	if b.Name == "" {
		b.Name = acct.Name
	}
	return b
}

// conversationContext is what every email about a conversation needs.
type conversationContext struct {
	acct  *store.Account
	flow  *chatflow.Chatflow // nil when the chatflow was deleted
	lang  string
	brand Brand
}

func (s *Service) conversationContext(ctx context.Context, conv *store.Conversation) (*conversationContext, error) {
	acct, err := s.st.Account(ctx, conv.AccountID)
	if err != nil {
		return nil, err
	}
	cc := &conversationContext{acct: acct, lang: "en"}
	if conv.ChatflowID != nil {
		if row, err := s.st.Chatflow(ctx, conv.AccountID, *conv.ChatflowID); err == nil {
			if cf, err := chatflow.FromRow(row); err == nil {
				cc.flow, cc.lang = cf, cf.Language
			}
		}
	}
	cc.brand = brandOf(acct, cc.flow, s.cfg.PublicURL)
	return cc, nil
}

// fromName is who the email is from: the account's sender name, else the brand.
func (cc *conversationContext) fromName() string {
	if cc.acct.MailSenderName != "" {
		return cc.acct.MailSenderName
	}
	return cc.brand.Name
}

// resumeURL is the page the conversation started on with a signed token
// that reopens it in any browser ("" when the start page is unknown).
func (s *Service) resumeURL(ctx context.Context, conv *store.Conversation) string {
	if !store.ValidPageURL(conv.PageURL) {
		return ""
	}
	u, err := url.Parse(conv.PageURL)
	if err != nil {
		return ""
	}
	key, err := s.Key(ctx)
	if err != nil {
		return ""
	}
	u.Fragment = ResumeFragment + Sign(key, PurposeResume, conv.ID, s.cfg.ResumeTTL, now())
	return u.String()
}

// ResumeFragment starts the URL fragment that carries a resume token; the
// widget reads it, sends it in its hello and removes it from the address bar.
const ResumeFragment = "parley-resume="

// replyAddress is the conversation's reply address ("" when the account
// has no reply domain).
func (s *Service) replyAddress(ctx context.Context, acct *store.Account, convID int64) string {
	if acct.MailReplyDomain == "" {
		return ""
	}
	key, err := s.Key(ctx)
	if err != nil {
		return ""
	}
	return "reply+" + Sign(key, PurposeReply, convID, s.cfg.ReplyTTL, now()) + "@" + acct.MailReplyDomain
}
