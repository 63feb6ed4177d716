//go:build js && wasm

package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/parleychat/parley/widget"
)

// The widget's screens beside the chat: the satisfaction survey, file
// attachments, the Help tab and a bot's quick replies.

// helpDebounce is how long the help search waits after the last key.
const helpDebounce = 300 * time.Millisecond

// el returns the widget element [data-parley=name].
func (sh *shell) el(name string) safejs.Value { return sh.els[name] }

// handleMore handles the events of these screens and the privacy controls.
func (sh *shell) handleMore(e event) {
	switch e.kind {
	case evCookie:
		d := widget.DecisionRefused
		if e.code == 1 {
			d = widget.DecisionGranted
		}
		sh.decide(widget.ConsentCookie, d)
		set(get(global, "document"), "cookie", widget.CookieChoiceSetCookie(d))
		sh.saveChat()
	case evDataAgree:
		sh.decide(widget.ConsentDataProcessing, widget.DecisionGranted)
		try(sh.input, "focus")
	case evComm:
		d := widget.DecisionRefused
		if truthy(sh.el("comm-box"), "checked") {
			d = widget.DecisionGranted
		}
		sh.decide(widget.ConsentCommunication, d)
	case evScore:
		sh.score = e.code
		sh.renderSurvey()
	case evSurvey:
		u, err := sh.sess.AnswerSurvey(sh.score, str(sh.el("survey-comment"), "value"))
		if err == nil {
			sh.apply(u)
			if sh.sess.State() == widget.ConnIdle {
				sh.connect()
			}
		}
		sh.renderStatus()
		sh.renderSurvey()
	case evAttach:
		try(sh.el("file"), "click")
	case evFile:
		sh.upload()
	case evUploaded:
		sh.sess.Uploaded(e.data)
		sh.renderStatus()
	case evDownload:
		go download(e.data, e.text, sh.sess.Token)
	case evTab:
		sh.showHelp(e.code == 1)
	case evHelpInput:
		sh.helpGen++
		gen := sh.helpGen
		time.AfterFunc(helpDebounce, func() { post(event{kind: evHelpSearch, code: gen, owner: sh}) })
	case evHelpSearch:
		if e.code == sh.helpGen {
			sh.search()
		}
	case evHelpData:
		if e.data == "more" {
			sh.moreData(e)
		} else {
			sh.helpData(e)
		}
	case evHelpMore:
		sh.moreTitles(e.data, e.code)
	case evArticle:
		sh.openArticle(e.data)
	case evHelpBack:
		if sh.tabs {
			sh.showArticle(false)
		} else {
			sh.showHelp(false)
		}
	case evHelpChat:
		sh.showHelp(false)
		try(sh.input, "focus")
	case evQuick:
		sh.sendText(e.data)
	case evEmoji:
		sh.toggleEmoji()
	case evEmojiPick:
		sh.insertEmoji(e.data)
	case evConfig:
		sh.newConfig(e.cfg)
	}
}

// renderSurvey shows the survey, its answer on its way, or the thanks.
func (sh *shell) renderSurvey() {
	st, sv := sh.sess.SurveyState(), sh.sess.Survey
	asking := sv != nil && (st == widget.SurveyAsking || st == widget.SurveySending)
	form := sh.el("survey")
	was := !truthy(form, "hidden")
	set(form, "hidden", !asking)
	set(sh.el("survey-thanks"), "hidden", st != widget.SurveyThanked)
	if asking {
		text(sh.el("survey-question"), sv.Question)
		set(sh.el("survey-comment"), "hidden", !sv.AllowComment)
		for i := 1; i <= 5; i++ {
			b := sh.el("score-" + strconv.Itoa(i))
			text(b, widget.ScoreLabel(sv.Scale, i))
			attr(b, "aria-pressed", strconv.FormatBool(i == sh.score))
		}
		set(sh.el("survey-send"), "disabled", st == widget.SurveySending)
	}
	if asking != was || st == widget.SurveyThanked {
		sh.scrollDown()
	}
}

// upload sends the file the visitor picked into the conversation; it
// arrives back as a message with the attachment.
func (sh *shell) upload() {
	in := sh.el("file")
	file, err := get(in, "files").Index(0)
	if err != nil || file.IsUndefined() || file.IsNull() {
		return
	}
	id, err := sh.sess.Uploading(str(file, "name"))
	sh.renderStatus()
	if err != nil {
		set(in, "value", "")
		return
	}
	form, err := get(global, "FormData").New()
	if err != nil {
		return
	}
	for _, kv := range [...][2]string{{"site", a.site}, {"conversation", sh.sess.Conversation}, {"id", id}} {
		call(form, "append", kv[0], kv[1])
	}
	call(form, "append", "file", file)
	set(in, "value", "")
	token := sh.sess.Token
	go func() {
		post(event{kind: evUploaded, data: uploadFile(a.base+"/v1/attachments", token, form), owner: sh})
	}()
}

// authorized returns fetch options carrying the visitor token.
func authorized(token string) safejs.Value {
	opts, h := newObject(), newObject()
	set(h, "Authorization", "Bearer "+token)
	set(opts, "headers", h)
	set(opts, "credentials", "omit")
	return opts
}

// uploadFile posts form and returns the error code, "" when stored.
func uploadFile(url, token string, form safejs.Value) string {
	opts := authorized(token)
	set(opts, "method", "POST")
	set(opts, "body", form)
	p, err := global.Call("fetch", url, opts)
	if err != nil {
		return widget.ErrUnavailable
	}
	resp, err := await(p)
	if err != nil {
		return widget.ErrUnavailable
	}
	switch num(resp, "status") {
	case 201:
		return ""
	case 413:
		return widget.UploadTooLarge
	case 415:
		return widget.UploadBadType
	}
	if p, err = resp.Call("json"); err == nil {
		if v, err := await(p); err == nil && str(v, "error") != "" {
			return str(v, "error")
		}
	}
	return widget.ErrUnavailable
}

// download fetches a file of the conversation with the visitor token (a
// plain link cannot carry it) and hands it to the browser as a download.
func download(url, name, token string) {
	p, err := global.Call("fetch", url, authorized(token))
	if err != nil {
		return
	}
	resp, err := await(p)
	if err != nil || num(resp, "status") != 200 {
		warn("Parley: the file could not be downloaded")
		return
	}
	p, err = resp.Call("blob")
	if err != nil {
		return
	}
	blob, err := await(p)
	if err != nil {
		return
	}
	u := get(global, "URL")
	obj, err := u.Call("createObjectURL", blob)
	if err != nil {
		return
	}
	l := newEl("a", "", "")
	set(l, "href", obj)
	set(l, "download", name)
	try(l, "click")
	time.AfterFunc(time.Minute, func() { try(u, "revokeObjectURL", obj) })
}

// renderQuick shows the quick replies of the newest message, if it offers any.
func (sh *shell) renderQuick() {
	key := sh.sess.QuickRepliesKey()
	if key == sh.quickKey {
		return
	}
	if !sh.quickEl.IsNull() && !sh.quickEl.IsUndefined() {
		call(sh.quickEl, "remove")
	}
	sh.quickKey = ""
	el, ok := sh.msgEls[key]
	if key == "" || !ok {
		return
	}
	entries := sh.sess.Entries()
	box := newEl("div", "quick", "")
	attr(box, "data-parley", "quick-replies")
	for _, q := range entries[len(entries)-1].QuickReplies {
		b := newEl("button", "", q)
		attr(b, "type", "button")
		on(b, "click", event{kind: evQuick, data: q, owner: sh})
		call(box, "appendChild", b)
	}
	call(el, "appendChild", box)
	sh.quickEl, sh.quickKey = box, key
	sh.scrollDown()
}

// --- Help tab ---

// kbPath is the edge path of the chatflow's knowledge base, plus rest.
func (sh *shell) kbPath(rest string) string {
	return "/v1/sites/" + a.site + "/kb/" + strconv.FormatInt(sh.flow.Options.KnowledgeBaseID, 10) + "/" + rest
}

// showHelp switches between the chat and the Help tab; the first visit
// to the tab loads the categories.
func (sh *shell) showHelp(on bool) {
	sh.helpOn = on
	set(sh.el("help"), "hidden", !on)
	set(sh.body, "hidden", on)
	set(sh.el("composer"), "hidden", on)
	attr(sh.el("tab-chat"), "aria-pressed", strconv.FormatBool(!on))
	attr(sh.el("tab-help"), "aria-pressed", strconv.FormatBool(on))
	if on && !sh.helpLoaded && sh.tabs {
		sh.helpLoaded = true
		sh.helpFetch("cats", sh.kbPath("categories?language="+a.lang))
	}
	sh.renderPrivacy()
}

// search runs the help search for what the box holds (the categories
// again when it is empty).
func (sh *shell) search() {
	q := strings.TrimSpace(str(sh.el("help-search"), "value"))
	if q == "" {
		sh.helpFetch("cats", sh.kbPath("categories?language="+a.lang))
		return
	}
	esc, err := global.Call("encodeURIComponent", q)
	if err != nil {
		return
	}
	qs, _ := esc.String()
	sh.helpFetch("search", sh.kbPath("search?language="+a.lang+"&q="+qs))
}

// helpFetch fetches path on the edge in the background; the newest fetch
// of the list (or of an article) wins.
func (sh *shell) helpFetch(what, path string) {
	gen := 0
	if what == "article" {
		sh.artGen++
		gen = sh.artGen
	} else {
		sh.helpGen++
		gen = sh.helpGen
		text(sh.el("help-list"), widget.T("help_loading"))
	}
	go func() {
		v, err := fetchJSON(a.base + path)
		if err != nil {
			v = safejs.Null()
		}
		post(event{kind: evHelpData, data: what, val: v, code: gen, owner: sh})
	}()
}

// helpData shows a fetched list, search result or article.
func (sh *shell) helpData(e event) {
	list := sh.el("help-list")
	if e.data == "article" {
		if e.code != sh.artGen {
			return
		}
		if e.val.IsNull() {
			text(list, widget.T("help_failed"))
			sh.showArticle(false)
			return
		}
		text(sh.el("help-title"), str(e.val, "title"))
		// The article endpoint's html is sanitised on the server
		// (bluemonday): the only HTML the widget ever inserts.
		body := sh.el("help-body")
		set(body, "innerHTML", str(e.val, "html"))
		links := call(body, "querySelectorAll", "a")
		n, _ := links.Length()
		for i := 0; i < n; i++ {
			l, _ := links.Index(i)
			attr(l, "target", "_blank")
			attr(l, "rel", "noopener noreferrer")
		}
		sh.showArticle(true)
		return
	}
	if e.code != sh.helpGen {
		return
	}
	text(list, "")
	if e.val.IsNull() {
		text(list, widget.T("help_failed"))
		return
	}
	sh.more = map[string]safejs.Value{}
	shown := 0
	group := func(name string, arts safejs.Value, cat string, count int) {
		n, _ := arts.Length()
		if n > 0 && name != "" {
			call(list, "appendChild", newEl("h3", "", name))
		}
		for i := 0; i < n; i++ {
			x, _ := arts.Index(i)
			call(list, "appendChild", sh.helpItem(x))
		}
		shown += n
		sh.moreButton(cat, n, count, safejs.Null())
	}
	if e.data == "search" {
		group("", get(e.val, "results"), "", 0)
	} else {
		cats := get(e.val, "categories")
		n, _ := cats.Length()
		for i := 0; i < n; i++ {
			c, _ := cats.Index(i)
			group(str(c, "name"), get(c, "articles"), strconv.FormatInt(int64(num(c, "id")), 10), int(num(c, "article_count")))
		}
		group(widget.T("help_other"), get(e.val, "uncategorised"), "0", int(num(e.val, "uncategorised_count")))
	}
	if shown == 0 {
		text(list, widget.T("help_none"))
	}
}

// helpItem is one article of a help list (x: id, title, and a search
// result's snippet), opening the article when clicked.
func (sh *shell) helpItem(x safejs.Value) safejs.Value {
	b := newEl("button", "", "")
	attr(b, "type", "button")
	attr(b, "data-parley", "help-item")
	call(b, "appendChild", newEl("span", "", str(x, "title")))
	if snippet := str(x, "snippet"); snippet != "" {
		sm := newEl("small", "", "")
		for _, p := range widget.SnippetParts(snippet) {
			tag := "span"
			if p.Mark {
				tag = "mark"
			}
			call(sm, "appendChild", newEl(tag, "", p.Text))
		}
		call(b, "appendChild", sm)
	}
	on(b, "click", event{kind: evArticle, data: sh.kbPath("articles/" + strconv.FormatInt(int64(num(x, "id")), 10)), owner: sh})
	return b
}

// moreButton offers the rest of category cat's count titles after the
// shown ones ("and N more"), placed before the element before (appended
// when null); it pages through them 25 at a time (evHelpMore).
func (sh *shell) moreButton(cat string, shown, count int, before safejs.Value) {
	if cat == "" || count <= shown {
		return
	}
	b := newEl("button", "link", widget.T("help_more", "n", strconv.Itoa(count-shown)))
	attr(b, "type", "button")
	attr(b, "data-parley", "help-more")
	on(b, "click", event{kind: evHelpMore, data: cat, code: shown, owner: sh})
	call(sh.el("help-list"), "insertBefore", b, before)
	sh.more[cat] = b
}

// moreTitles fetches the next page of a category's titles.
func (sh *shell) moreTitles(cat string, offset int) {
	path := sh.kbPath("titles?category=" + cat + "&language=" + a.lang + "&offset=" + strconv.Itoa(offset))
	go func() {
		v, err := fetchJSON(a.base + path)
		if err != nil {
			v = safejs.Null()
		}
		post(event{kind: evHelpData, data: "more", text: cat, code: offset, val: v, owner: sh})
	}()
}

// moreData puts a fetched page of titles where its "more" button was,
// with a button for what is left after them.
func (sh *shell) moreData(e event) {
	btn, ok := sh.more[e.text]
	if !ok || e.val.IsNull() || !truthy(btn, "isConnected") {
		return // the list changed meanwhile, or the fetch failed: the button stays
	}
	delete(sh.more, e.text)
	arts := get(e.val, "articles")
	n, _ := arts.Length()
	for i := 0; i < n; i++ {
		x, _ := arts.Index(i)
		call(sh.el("help-list"), "insertBefore", sh.helpItem(x), btn)
	}
	sh.moreButton(e.text, e.code+n, int(num(e.val, "article_count")), btn)
	call(btn, "remove")
}

// openArticle shows a help article (from the list or a bot's answer).
func (sh *shell) openArticle(path string) {
	if !widget.ArticlePath(path, a.site) {
		return
	}
	if !sh.helpOn {
		sh.showHelp(true)
	}
	sh.helpFetch("article", path)
}

// showArticle switches the Help tab between the list and the article.
func (sh *shell) showArticle(on bool) {
	set(sh.el("help-article"), "hidden", !on)
	set(sh.el("help-list"), "hidden", on)
	set(sh.el("help-search"), "hidden", on)
	if on {
		set(sh.el("help"), "scrollTop", 0)
	}
}
