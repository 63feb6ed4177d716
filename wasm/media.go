//go:build js && wasm

package main

import (
	"strconv"
	"strings"

	"github.com/hack-pad/safejs"
	"github.com/parleychat/parley/widget"
)

// Messages' extras: links in their text, image thumbnails, the emoji
// picker.

// Thumbnails fit in this box, in CSS pixels.
const thumbW, thumbH = 240, 180

// textEl is a message's text: plain text, its http(s) addresses links
// that open in a new tab without a handle on this page. Built from DOM
// nodes; the text is never parsed as markup.
func textEl(s string) safejs.Value {
	el := newEl("div", "text", "")
	for _, p := range widget.LinkParts(s) {
		if p.Href == "" {
			call(el, "append", p.Text)
			continue
		}
		l := newEl("a", "", p.Text)
		attr(l, "href", p.Href)
		attr(l, "target", "_blank")
		attr(l, "rel", "noopener noreferrer")
		call(el, "appendChild", l)
	}
	return el
}

// fileEl is a message's file: a link that downloads it and, for an image,
// a thumbnail above it. The file needs the visitor token, which an <img>
// cannot send: it is fetched and drawn on a canvas, which no page's
// Content-Security-Policy for images stands in the way of.
func (sh *shell) fileEl(at *widget.Attachment) safejs.Value {
	url := a.base + at.URL
	l := newEl("a", "file", widget.T("download", "name", at.Name, "size", widget.HumanSize(at.Size)))
	attr(l, "href", url)
	attr(l, "download", at.Name)
	attr(l, "data-parley", "file-link")
	on(l, "click", event{kind: evDownload, data: url, text: at.Name, owner: sh})
	switch at.Type {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
	default:
		return l
	}
	box := newEl("div", "", "")
	c := newEl("canvas", "thumb", "")
	attr(c, "role", "img")
	attr(c, "aria-label", at.Name)
	attr(c, "data-parley", "thumb")
	set(c, "hidden", true)
	on(c, "click", event{kind: evDownload, data: url, text: at.Name, owner: sh})
	call(box, "appendChild", c)
	call(box, "appendChild", l)
	go sh.drawThumb(c, url, sh.sess.Token)
	return box
}

// drawThumb fetches the image and draws it on c, scaled to fit the
// thumbnail box; on any failure c stays hidden and the link remains.
func (sh *shell) drawThumb(c safejs.Value, url, token string) {
	p, err := global.Call("fetch", url, authorized(token))
	if err != nil {
		return
	}
	resp, err := await(p)
	if err != nil || num(resp, "status") != 200 {
		return
	}
	if p, err = resp.Call("blob"); err != nil {
		return
	}
	blob, err := await(p)
	if err != nil {
		return
	}
	if p, err = global.Call("createImageBitmap", blob); err != nil {
		return
	}
	bmp, err := await(p)
	if err != nil || bmp.IsUndefined() {
		return
	}
	w, h := num(bmp, "width"), num(bmp, "height")
	if w <= 0 || h <= 0 {
		return
	}
	scale := min(1, thumbW/w, thumbH/h)
	w, h = max(1, float64(int(w*scale+0.5))), max(1, float64(int(h*scale+0.5)))
	set(c, "width", w)
	set(c, "height", h)
	try(call(c, "getContext", "2d"), "drawImage", bmp, 0, 0, w, h)
	try(bmp, "close")
	set(c, "hidden", false)
	sh.scrollDown()
}

// toggleEmoji shows or hides the emoji picker.
func (sh *shell) toggleEmoji() {
	panel := sh.el("emoji-panel")
	show := truthy(panel, "hidden")
	set(panel, "hidden", !show)
	attr(sh.el("emoji"), "aria-expanded", strconv.FormatBool(show))
}

// insertEmoji puts e at the composer's cursor (replacing a selection)
// and closes the picker.
func (sh *shell) insertEmoji(e string) {
	if e = strings.TrimSpace(e); e == "" {
		return
	}
	start, end := num(sh.input, "selectionStart"), num(sh.input, "selectionEnd")
	try(sh.input, "setRangeText", e, start, end, "end")
	set(sh.el("emoji-panel"), "hidden", true)
	attr(sh.el("emoji"), "aria-expanded", "false")
	try(sh.input, "focus")
}

// onEmojiPick posts the emoji of the picker's button a click landed on.
func (sh *shell) onEmojiPick(panel safejs.Value) {
	call(panel, "addEventListener", "click", funcOf(func(_ safejs.Value, args []safejs.Value) any {
		t := get(arg(args, 0), "target")
		if str(t, "tagName") == "BUTTON" {
			post(event{kind: evEmojiPick, data: str(t, "textContent"), owner: sh})
		}
		return nil
	}))
}
