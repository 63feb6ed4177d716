package inbox_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/store"
)

// uploadImage posts the console's upload form: the file and the hidden fields.
func (b *browser) uploadImage(filename string, data []byte, fields map[string]string, hdr map[string]string) page {
	b.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if filename != "" {
		fw, _ := mw.CreateFormFile("image", filename)
		fw.Write(data)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", b.e.srv.URL+"/inbox/settings/images", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(raw), resp}
}

func onePNG(t *testing.T) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 3, 2))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// An editor uploads a brand image in the console; bad files are refused
// beside the file field; for a chatflow, the upload sets the heading's
// image (refused on a stale page) and goes back to the editor.
func TestConsoleUploadsBrandImages(t *testing.T) {
	e := setup(t, inbox.Config{})
	ctx := context.Background()
	editor := e.withRole(e.bob, store.RoleEditor)
	p := editor.get("/inbox/settings/images")
	if p.status != 200 || !strings.Contains(p.body, `id="no-images"`) || !strings.Contains(p.body, `enctype="multipart/form-data"`) {
		t.Fatalf("images page: %d\n%s", p.status, p.body)
	}
	csrf := map[string]string{"csrf_token": editor.csrf}
	pngBytes := onePNG(t)
	sum := sha256.Sum256(pngBytes)
	id := hex.EncodeToString(sum[:])

	if p := editor.uploadImage("logo.png", pngBytes, nil, nil); p.status != http.StatusForbidden {
		t.Errorf("upload without the CSRF token: %d", p.status)
	}
	for _, c := range []struct {
		name   string
		data   []byte
		status int
		says   string
	}{
		{"logo.png", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), 400, "SVG"},
		{"page.png", []byte("<!doctype html><p>hi"), 400, "HTML document"},
		{"empty.png", nil, 400, "is empty"},
		{"big.png", append(append([]byte{}, pngBytes...), make([]byte, 2<<20)...), 413, "larger than 1 MiB"},
		{"", nil, 400, "Choose a PNG"},
	} {
		p := editor.uploadImage(c.name, c.data, csrf, nil)
		if p.status != c.status || !strings.Contains(p.body, `id="err-look.heading.image_id"`) || !strings.Contains(p.body, c.says) ||
			!strings.Contains(p.body, `aria-invalid="true"`) {
			t.Errorf("%s: %d, want %d with %q beside the file field:\n%s", c.name, p.status, c.status, c.says, p.body)
		}
	}

	p = editor.uploadImage("logo.png", pngBytes, csrf, nil)
	if p.status != http.StatusSeeOther || location(p) != "/inbox/settings/images?notice=uploaded" {
		t.Fatalf("upload: %d %s", p.status, location(p))
	}
	if p := editor.get("/inbox/settings/images?notice=uploaded"); !strings.Contains(p.body, `data-image="`+id+`"`) || !strings.Contains(p.body, "Uploaded.") {
		t.Fatalf("the list lacks the image:\n%s", p.body)
	}
	// A script gets the image as JSON.
	p = editor.uploadImage("logo.png", pngBytes, csrf, map[string]string{"Accept": "application/json"})
	var img map[string]any
	if json.Unmarshal([]byte(p.body), &img); p.status != 200 || img["id"] != id || !strings.HasSuffix(img["path"].(string), "/images/"+id) {
		t.Fatalf("json upload: %d %s", p.status, p.body)
	}

	// For a chatflow: the heading names the image, and back to the editor.
	cf := chatflow.Default()
	cf.Name, cf.InboxID, cf.Language = "Web", e.inboxA, "en"
	row, err := cf.Row(e.account)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.CreateChatflow(ctx, row); err != nil {
		t.Fatal(err)
	}
	back := "/inbox/settings/chatflows/" + strconv.FormatInt(row.ID, 10) + "?tab=build"
	form := map[string]string{"csrf_token": editor.csrf, "chatflow_id": strconv.FormatInt(row.ID, 10), "version": strconv.FormatInt(row.Version, 10), "return": back}
	p = editor.uploadImage("logo.png", pngBytes, form, nil)
	if p.status != http.StatusSeeOther || location(p) != back+"&notice=saved" {
		t.Fatalf("upload for a chatflow: %d %s\n%s", p.status, location(p), p.body)
	}
	heading := func() (string, int64) {
		r, err := e.st.Chatflow(ctx, e.account, row.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := chatflow.FromRow(r)
		return got.Look.Heading.ImageID, r.Version
	}
	got, version := heading()
	if got != id {
		t.Fatalf("heading image %q, want %q", got, id)
	}
	// The same page again is stale now: refused, nothing changed.
	p = editor.uploadImage("logo.png", pngBytes, map[string]string{"csrf_token": editor.csrf, "chatflow_id": form["chatflow_id"], "version": form["version"], "remove": "1", "return": back}, nil)
	if p.status != http.StatusConflict || !strings.Contains(p.body, "saved by someone else") || !strings.Contains(p.body, `href="`+strings.ReplaceAll(back, "&", "&amp;")+`"`) {
		t.Fatalf("stale removal: %d\n%s", p.status, p.body)
	}
	if got, _ := heading(); got != id {
		t.Fatalf("a stale removal changed the heading to %q", got)
	}
	form["version"], form["remove"] = strconv.FormatInt(version, 10), "1"
	if p := editor.uploadImage("", nil, form, nil); p.status != http.StatusSeeOther {
		t.Fatalf("removal: %d\n%s", p.status, p.body)
	}
	if got, _ := heading(); got != "" {
		t.Fatalf("removed, still %q", got)
	}
	// A return address outside the console is not followed.
	form = map[string]string{"csrf_token": editor.csrf, "return": "//evil.example/x"}
	if p := editor.uploadImage("logo.png", pngBytes, form, nil); location(p) != "/inbox/settings/images?notice=uploaded" {
		t.Fatalf("return elsewhere: %s", location(p))
	}

	// Agents neither see nor use it.
	agent := e.withRole(e.alice, store.RoleAgent)
	if p := agent.uploadImage("logo.png", pngBytes, map[string]string{"csrf_token": agent.csrf}, nil); p.status != http.StatusForbidden {
		t.Errorf("agent upload: %d", p.status)
	}
}
