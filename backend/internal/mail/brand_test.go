package mail

import (
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/store"
	"github.com/parleychat/parley/widget"
)

// A transcript of a chatflow whose brand heading has an uploaded image
// shows that image from the edge's public address.
func TestEmailShowsUploadedBrandImage(t *testing.T) {
	id := strings.Repeat("ab", 32)
	acct := &store.Account{PublicID: "acme", Name: "Acme"}
	cf := chatflow.Default()
	cf.Look.Heading = widget.Heading{Kind: widget.HeadingBrand, BrandName: "Acme Shoes", ImageID: id}
	b := brandOf(acct, &cf, "https://chat.example")
	want := "https://chat.example/v1/sites/acme/images/" + id
	if b.Image != want || b.Name != "Acme Shoes" {
		t.Fatalf("brand: %+v, want image %s", b, want)
	}
	_, html, err := render(View{Brand: b, Intro: "Your chat", Lines: []Line{{Author: "You", Text: "hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html, `<img src="`+want+`"`) {
		t.Fatalf("no brand image in\n%s", html)
	}
	// Without a public address there is no absolute URL to give: no image.
	if b := brandOf(acct, &cf, ""); b.Image != "" {
		t.Fatalf("image without a public address: %q", b.Image)
	}
}
