package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/api"
	"github.com/parleychat/parley/backend/internal/store"
)

// testPNG is a small real PNG of one colour.
func testPNG(t *testing.T, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 6))
	for x := range 8 {
		for y := range 6 {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	must(t, png.Encode(&b, img))
	return b.Bytes()
}

// testGIF is a two-frame animated GIF.
func testGIF(t *testing.T) []byte {
	t.Helper()
	a := &gif.GIF{LoopCount: 0}
	for i := range 2 {
		f := image.NewPaletted(image.Rect(0, 0, 4, 4), palette.Plan9)
		f.SetColorIndex(i, i, uint8(10+i*50))
		a.Image = append(a.Image, f)
		a.Delay = append(a.Delay, 20)
	}
	var b bytes.Buffer
	must(t, gif.EncodeAll(&b, a))
	return b.Bytes()
}

// upload posts body as the raw upload with key (contentType may be empty).
func (e *env) upload(key, contentType string, body []byte) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/images", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	must(e.t, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		e.t.Fatalf("upload: %d, not JSON: %q", res.StatusCode, raw)
	}
	return res.StatusCode, out
}

// multipartFile is a form with one file part, its name and type as a browser sends them.
func multipartFile(t *testing.T, field, filename, ctype string, data []byte) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("note", "ignored")
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+field+`"; filename="`+filename+`"`)
	h.Set("Content-Type", ctype)
	p, err := w.CreatePart(h)
	must(t, err)
	p.Write(data)
	must(t, w.Close())
	return w.FormDataContentType(), b.Bytes()
}

// fieldMessage is the message of the problem's error on field, or "".
func fieldMessage(p map[string]any, field string) string {
	errs, _ := p["errors"].([]any)
	for _, x := range errs {
		m := x.(map[string]any)
		if m["field"] == field {
			return m["message"].(string)
		}
	}
	return ""
}

func TestImageUploadStoresByContentHash(t *testing.T) {
	e := setup(t)
	pngBytes := testPNG(t, color.RGBA{200, 30, 30, 255})
	sum := sha256.Sum256(pngBytes)
	want := hex.EncodeToString(sum[:])

	code, out := e.upload(e.key, "application/octet-stream", pngBytes)
	if code != http.StatusCreated || out["id"] != want || out["content_type"] != "image/png" ||
		out["width"] != 8.0 || out["height"] != 6.0 || out["animated"] != false {
		t.Fatalf("first upload: %d %v", code, out)
	}
	if out["path"] != "/v1/sites/acme/images/"+want || !strings.HasSuffix(out["url"].(string), "/v1/sites/acme/images/"+want) {
		t.Fatalf("path and url: %v", out)
	}
	// The same bytes again, as a browser's form with a misleading name:
	// one image, answered 200.
	ct, form := multipartFile(t, "image", "logo.gif", "image/gif", pngBytes)
	code, again := e.upload(e.key, ct, form)
	if code != http.StatusOK || again["id"] != want {
		t.Fatalf("re-upload: %d %v", code, again)
	}
	code, list := e.do("GET", "/api/v1/images", "")
	if imgs := list["images"].([]any); code != 200 || len(imgs) != 1 {
		t.Fatalf("list: %d %v", code, list)
	}

	// A JPEG in a form, a file part of any name.
	var jb bytes.Buffer
	must(t, jpeg.Encode(&jb, image.NewGray(image.Rect(0, 0, 5, 5)), nil))
	ct, form = multipartFile(t, "file", "photo.jpg", "image/jpeg", jb.Bytes())
	if code, out := e.upload(e.key, ct, form); code != 201 || out["content_type"] != "image/jpeg" {
		t.Fatalf("jpeg: %d %v", code, out)
	}

	// An animated GIF is kept byte for byte: the edge serves what was sent.
	g := testGIF(t)
	code, out = e.upload(e.key, "image/gif", g)
	if code != 201 || out["content_type"] != "image/gif" || out["frames"] != 2.0 || out["animated"] != true {
		t.Fatalf("gif: %d %v", code, out)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/internal/sites/acme/images/"+out["id"].(string), nil)
	req.Header.Set("Authorization", "Bearer "+e.secret)
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	served, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/gif" || !bytes.Equal(served, g) {
		t.Fatalf("internal: %d %s, %d bytes (sent %d)", res.StatusCode, res.Header.Get("Content-Type"), len(served), len(g))
	}
	// Another account's site does not serve it; nor does a call without the secret.
	if code, _ := e.internalGet("/internal/sites/nope/images/" + out["id"].(string)); code != 404 {
		t.Fatalf("unknown site: %d", code)
	}
	if code, _ := e.doKey("", "GET", "/internal/sites/acme/images/"+out["id"].(string), ""); code != 401 {
		t.Fatalf("without the secret: %d", code)
	}
}

func TestImageUploadRefusesWhatIsNoImage(t *testing.T) {
	e := setup(t)
	pngBytes := testPNG(t, color.White)
	svg := []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	html := []byte("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>")
	for _, c := range []struct {
		name, ctype string
		body        []byte
		status      int
		says        string
	}{
		{"empty", "image/png", nil, 400, "is empty"},
		{"svg named png", "image/png", svg, 400, "SVG"},
		{"html named png", "image/png", html, 400, "HTML"},
		{"nul bytes", "image/png", make([]byte, 300), 400, "must be a PNG, JPEG or GIF"},
		{"png header then garbage", "image/png", append(pngBytes[:20:20], "garbage that is no chunk"...), 400, "not a readable PNG"},
		{"cut short png", "image/png", pngBytes[:len(pngBytes)-20], 400, "not a readable PNG"},
		{"gif header then garbage", "image/gif", []byte("GIF89a\x04\x00\x04\x00\x00\x00\x00junk"), 400, "not a readable GIF"},
		{"webp", "image/webp", []byte("RIFF\x1a\x00\x00\x00WEBPVP8 "), 400, "WEBP"},
		{"huge", "image/png", append(append([]byte{}, pngBytes...), make([]byte, api.DefaultImageMaxBytes)...), 413, "BRAND_IMAGE_MAX_BYTES"},
	} {
		code, p := e.upload(e.key, c.ctype, c.body)
		msg := fieldMessage(p, "image")
		if code == 413 {
			msg, _ = p["detail"].(string)
		}
		if code != c.status || !strings.Contains(msg, c.says) {
			t.Errorf("%s: %d %v, want %d saying %q", c.name, code, p, c.status, c.says)
		}
	}
	// A file renamed .png in a form is judged by its bytes too.
	ct, form := multipartFile(t, "image", "logo.png", "image/png", svg)
	if code, p := e.upload(e.key, ct, form); code != 400 || !strings.Contains(fieldMessage(p, "image"), "SVG") {
		t.Errorf("svg in a form: %d %v", code, p)
	}
	// JSON is no image.
	if code, p := e.upload(e.key, "application/json", []byte(`{"image":"logo.png"}`)); code != 415 {
		t.Errorf("json: %d %v", code, p)
	}
	// A form without a file says so.
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("note", "no file here")
	w.Close()
	if code, p := e.upload(e.key, w.FormDataContentType(), b.Bytes()); code != 400 || !strings.Contains(fieldMessage(p, "image"), "missing") {
		t.Errorf("form without a file: %d %v", code, p)
	}
	if _, list := e.do("GET", "/api/v1/images", ""); len(list["images"].([]any)) != 0 {
		t.Errorf("refused uploads were stored: %v", list)
	}

	// Agents may not upload.
	agent, err := e.st.CreateAPIKeyWithRole(context.Background(), e.acct.ID, "agent key", store.RoleAgent)
	must(t, err)
	if code, _ := e.upload(agent, "image/png", pngBytes); code != 403 {
		t.Errorf("agent upload: %d", code)
	}
}

func TestChatflowBrandHeadingNamesAnUploadedImage(t *testing.T) {
	e := setup(t)
	_, img := e.upload(e.key, "image/png", testPNG(t, color.Black))
	id := img["id"].(string)
	cf := e.create("/api/v1/chatflows", `{"name":"Brand","channel":"website","inbox_id":`+itoa(e.inbox)+`,"language":"en","type":"live_agent","enabled":true,
		"look":{"accent_color":"#112233","heading":{"kind":"brand","brand_name":"Acme"}}}`)
	path := "/api/v1/chatflows/" + itoa(cf)
	for _, c := range []struct{ heading, says string }{
		{`{"kind":"brand","image_id":"` + strings.Repeat("0", 64) + `"}`, "no such image"},
		{`{"kind":"brand","image_id":"logo.png"}`, "must be the id of an uploaded image"},
		{`{"kind":"brand","image_id":"` + id + `","image_url":"https://example.com/a.png"}`, "not both"},
	} {
		code, p := e.do("PATCH", path, `{"look":{"heading":`+c.heading+`}}`)
		if code != 400 || !strings.Contains(fieldMessage(p, "look.heading.image_id"), c.says) {
			t.Errorf("%s: %d %v", c.heading, code, p)
		}
	}
	// Another account's image is no image of this one.
	_, theirs := e.upload(e.other, "image/png", testPNG(t, color.RGBA{1, 2, 3, 255}))
	if code, p := e.do("PATCH", path, `{"look":{"heading":{"kind":"brand","image_id":"`+theirs["id"].(string)+`"}}}`); code != 400 {
		t.Errorf("other account's image: %d %v", code, p)
	}
	if code, p := e.do("PATCH", path, `{"look":{"heading":{"kind":"brand","brand_name":"Acme","image_id":"`+id+`"}}}`); code != 200 {
		t.Fatalf("patch: %d %v", code, p)
	}
	// The widget gets the edge's path of the image.
	code, cfg := e.internalGet("/internal/sites/acme/config")
	flows := cfg["chatflows"].([]any)
	if code != 200 || len(flows) != 1 || flows[0].(map[string]any)["heading_image"] != "/v1/sites/acme/images/"+id {
		t.Fatalf("config: %d %v", code, cfg)
	}
}
