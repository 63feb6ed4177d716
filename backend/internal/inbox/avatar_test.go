package inbox_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/inbox"
)

// postAvatar sends the profile form as a browser does with a file chosen.
func postAvatar(t *testing.T, b *browser, fields url.Values, file []byte) page {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf_token", b.csrf)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("avatar_image", "me.png")
		fw.Write(file)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", b.e.srv.URL+"/inbox/account/profile", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(raw), resp}
}

// TestAccountAvatarImage: an agent uploads their avatar on My account; it
// goes to the account's image store, shows on the page, and can be
// removed; a file that is no image is refused with a sentence.
func TestAccountAvatarImage(t *testing.T) {
	e := setup(t, inbox.Config{})
	a := e.signedIn(e.alice)
	a.get("/inbox/account") // the form's token
	var img bytes.Buffer
	png.Encode(&img, image.NewRGBA(image.Rect(0, 0, 8, 8)))

	if p := postAvatar(t, a, url.Values{"name": {"Alice Agent"}}, []byte("not an image")); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "The avatar image") {
		t.Fatalf("a text file: %d\n%s", p.status, p.body)
	}
	if p := postAvatar(t, a, url.Values{"name": {"Alice Agent"}}, img.Bytes()); p.status != http.StatusSeeOther {
		t.Fatalf("upload: %d\n%s", p.status, p.body)
	}
	u, err := e.st.User(context.Background(), e.account, e.alice.ID)
	if err != nil || len(u.AvatarImageID) != 64 {
		t.Fatalf("avatar image %q (%v)", u.AvatarImageID, err)
	}
	if p := a.get("/inbox/account"); !strings.Contains(p.body, "/images/"+u.AvatarImageID+`"`) {
		t.Fatalf("the account page does not show the avatar:\n%s", p.body)
	}
	// Saving the form again without a file keeps it; "Remove it" removes it.
	postAvatar(t, a, url.Values{"name": {"Alice Agent"}}, nil)
	if u, _ := e.st.User(context.Background(), e.account, e.alice.ID); u.AvatarImageID == "" {
		t.Fatal("saving without a file removed the avatar")
	}
	postAvatar(t, a, url.Values{"name": {"Alice Agent"}, "remove_avatar_image": {"1"}}, nil)
	if u, _ := e.st.User(context.Background(), e.account, e.alice.ID); u.AvatarImageID != "" {
		t.Fatalf("still %q after removing", u.AvatarImageID)
	}
}
