package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/internal/hostpage"
)

// pngOf encodes a w×h PNG.
func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 160, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// jsBytes writes b as a JavaScript array literal.
func jsBytes(b []byte) string {
	s := make([]string, len(b))
	for i, c := range b {
		s[i] = strconv.Itoa(int(c))
	}
	return "[" + strings.Join(s, ",") + "]"
}

// TestWidgetMessagesShowImagesLinksEmojiAndAvatars, on a host page of
// its own origin under the README's strict Content-Security-Policy with
// cross-origin isolation: an image the visitor sends shows inline as a
// thumbnail within 240×180; an agent's http(s) address is a link that
// opens a new tab without a handle on the page, a javascript: one stays
// text; the emoji picker puts an emoji into the message; the agent's
// uploaded avatar shows beside their message, from the edge.
func TestWidgetMessagesShowImagesLinksEmojiAndAvatars(t *testing.T) {
	s := StartSystem(t)
	// Attachments are on by default.

	// The agent's avatar: an uploaded image, set on the user over REST.
	req, _ := http.NewRequest("POST", s.Edge+"/api/v1/images", bytes.NewReader(pngOf(t, 32, 32)))
	req.Header.Set("Authorization", "Bearer "+s.Demo.APIKey)
	req.Header.Set("Content-Type", "image/png")
	res, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var img struct{ ID string }
	if json.Unmarshal(raw, &img); res.StatusCode != 201 || img.ID == "" {
		t.Fatalf("upload: %d %s", res.StatusCode, raw)
	}
	var agentID int64
	if err := s.DB.Get(&agentID, `SELECT id FROM users WHERE email = $1`, s.Demo.AgentEmail); err != nil {
		t.Fatal(err)
	}
	if code, body := liveREST(t, s, "PATCH", fmt.Sprintf("/api/v1/users/%d", agentID), map[string]any{"avatar_image_id": "f00"}); code != 422 && code != 400 {
		t.Fatalf("an unknown avatar image: %d %s", code, body)
	}
	if code, body := liveREST(t, s, "PATCH", fmt.Sprintf("/api/v1/users/%d", agentID), map[string]any{"avatar_image_id": img.ID}); code != 200 || !strings.Contains(body, img.ID) {
		t.Fatalf("set the avatar: %d %s", code, body)
	}

	pages := s.HostPages(hostpage.Options{CSP: strictCSP(s.Edge), Header: http.Header{
		"Cross-Origin-Embedder-Policy": {"require-corp"}, "Cross-Origin-Opener-Policy": {"same-origin"}}})
	visitor := Tab(t)
	runT(t, visitor, chromedp.Navigate(pages.URL+"/demo/long.html"))
	openWidget(t, visitor)

	// The emoji picker puts an emoji at the cursor; the message carries it.
	input := shadow + `.querySelector('[data-parley=input]')`
	runT(t, visitor, chromedp.SendKeys(chromedp.JSPath(input), "Thanks "))
	runT(t, visitor, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=emoji]')`)))
	waitJS(t, visitor, "the emoji picker", `!`+shadow+`.querySelector('[data-parley=emoji-panel]').hidden`, 5*time.Second)
	runT(t, visitor, chromedp.Click(chromedp.JSPath(`[...`+shadow+`.querySelectorAll('[data-parley=emoji-panel] button')].find(b => b.textContent === '👍')`)))
	waitJS(t, visitor, "the emoji in the message", input+`.value === 'Thanks 👍'`, 5*time.Second)
	waitJS(t, visitor, "the picker closed", shadow+`.querySelector('[data-parley=emoji-panel]').hidden`, 5*time.Second)
	runT(t, visitor, chromedp.Click(chromedp.JSPath(shadow+`.querySelector('[data-parley=send]')`)))
	waitJS(t, visitor, "the message sent", widgetHas("visitor", "Thanks 👍")+` && `+shadow+`.querySelector('[data-parley=message][data-from=visitor][data-state=sent]')`, 10*time.Second)
	var conv int64
	if err := s.DB.Get(&conv, `SELECT conversation_id FROM messages WHERE body = 'Thanks 👍'`); err != nil {
		t.Fatal(err)
	}

	// An image from the visitor shows as a bounded thumbnail.
	runT(t, visitor, pickFile("garden.png", "image/png", jsBytes(pngOf(t, 600, 400))))
	thumb := shadow + `.querySelector('[data-parley=thumb]')`
	waitJS(t, visitor, "the thumbnail", `(c => c && !c.hidden && c.width === 240 && c.height === 160 && c.getBoundingClientRect().width > 0)(`+thumb+`)`, 15*time.Second)
	if b := evalString(t, visitor, `(r => r.width + 'x' + r.height)(`+thumb+`.getBoundingClientRect())`); b != "240x160" {
		t.Fatalf("the thumbnail is %s on screen, want 240x160 at most", b)
	}
	// Its pixels are the image's, not a blank canvas.
	if px := evalString(t, visitor, `Array.from(`+thumb+`.getContext('2d').getImageData(120, 80, 1, 1).data).join(',')`); !strings.HasSuffix(px, ",160,255") {
		t.Fatalf("the thumbnail's middle pixel is %s", px)
	}

	// The agent answers with links and an avatar.
	if code, body := liveREST(t, s, "POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv), map[string]any{
		"text": "Our returns page: https://shop.example/returns. Not this: javascript:alert(1)", "as": "agent", "user_id": agentID}); code >= 300 {
		t.Fatalf("agent message: %d %s", code, body)
	}
	agentMsg := `[...` + shadow + `.querySelectorAll('[data-parley=message][data-from=agent]')].find(m => m.textContent.includes('returns page'))`
	waitJS(t, visitor, "the agent's message", agentMsg, 10*time.Second)
	links := evalString(t, visitor, `JSON.stringify([...(`+agentMsg+`).querySelectorAll('a')].map(a => [a.getAttribute('href'), a.target, a.rel, a.textContent]))`)
	if links != `[["https://shop.example/returns","_blank","noopener noreferrer","https://shop.example/returns"]]` {
		t.Fatalf("links in the agent's message: %s", links)
	}
	if !evalBool(t, visitor, `(`+agentMsg+`).textContent.includes('Not this: javascript:alert(1)')`) {
		t.Fatal("the javascript: text is not shown as text")
	}
	avatar := `(` + agentMsg + `).querySelector('.name img')`
	want := s.Edge + "/v1/sites/" + s.Demo.Site + "/images/" + img.ID
	waitJS(t, visitor, "the agent's avatar", `(i => i && i.complete && i.naturalWidth === 32)(`+avatar+`)`, 10*time.Second)
	if src := evalString(t, visitor, avatar+`.src`); src != want {
		t.Fatalf("avatar from %s, want %s", src, want)
	}
	if v := evalString(t, visitor, `JSON.stringify(window.__cspViolations)`); v != "[]" {
		t.Fatalf("Content-Security-Policy violations: %s", v)
	}
}
