package e2e

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color/palette"
	"image/gif"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/internal/hostpage"
)

// animatedGIF is a 6×4 GIF of three frames.
func animatedGIF(t *testing.T) []byte {
	t.Helper()
	a := &gif.GIF{}
	for i := range 3 {
		f := image.NewPaletted(image.Rect(0, 0, 6, 4), palette.Plan9)
		f.SetColorIndex(i, 1, uint8(20+i*60))
		a.Image, a.Delay = append(a.Image, f), append(a.Delay, 30)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, a); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// An uploaded animated GIF in the brand heading shows in the widget of a
// host page on another origin under the README's strict policy with
// cross-origin isolation: the edge serves it as uploaded, immutable.
func TestUploadedBrandImageInWidgetUnderStrictCSP(t *testing.T) {
	s := StartSystem(t)
	data := animatedGIF(t)
	req, _ := http.NewRequest("POST", s.Edge+"/api/v1/images", bytes.NewReader(data))
	req.Header.Set("Authorization", "Bearer "+s.Demo.APIKey)
	req.Header.Set("Content-Type", "image/gif")
	res, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var img struct{ ID, URL string }
	if json.Unmarshal(raw, &img); res.StatusCode != 201 || img.ID == "" || img.URL != s.Edge+"/v1/sites/"+s.Demo.Site+"/images/"+img.ID {
		t.Fatalf("upload: %d %s", res.StatusCode, raw)
	}
	id, _ := demoFlow(t, s)
	patchFlow(t, s, id, map[string]any{"look": map[string]any{"heading": map[string]any{"kind": "brand", "brand_name": "Acme Images", "image_id": img.ID}}})

	pages := s.HostPages(hostpage.Options{CSP: strictCSP(s.Edge), Header: http.Header{
		"Cross-Origin-Embedder-Policy": {"require-corp"}, "Cross-Origin-Opener-Policy": {"same-origin"}}})
	tab := Tab(t)
	runT(t, tab, chromedp.Navigate(pages.URL+"/demo/long.html"))
	openWidget(t, tab)
	heading := shadow + `.querySelector('[data-parley=heading-image]')`
	waitJS(t, tab, "the brand image in the heading", `(i => !i.hidden && i.complete && i.naturalWidth === 6 && i.naturalHeight === 4)(`+heading+`)`, 15*time.Second)
	if src := evalString(t, tab, heading+`.src`); src != img.URL {
		t.Errorf("heading image from %s, want %s", src, img.URL)
	}
	if name := evalString(t, tab, widgetText("heading-name")); name != "Acme Images" {
		t.Errorf("heading name %q", name)
	}
	if v := evalString(t, tab, `JSON.stringify(window.__cspViolations)`); v != "[]" {
		t.Errorf("the page's Content-Security-Policy was violated: %s", v)
	}

	// What the browser got: the uploaded bytes, animation and all, for good.
	res, err = testClient.Get(img.URL)
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !bytes.Equal(served, data) || res.Header.Get("Content-Type") != "image/gif" ||
		res.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("served %d bytes (uploaded %d), headers %v", len(served), len(data), res.Header)
	}
}
