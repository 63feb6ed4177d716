package inbox_test

import (
	"context"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/backend/internal/chatflow"
	"github.com/parleychat/parley/backend/internal/inbox"
	"github.com/parleychat/parley/backend/internal/store"
)

// The install page shows an admin the tag with their site key, the SPA
// calls, the setup page's CSP lines, each mobile tag's SDK call, and the
// page origins the chat was last seen on.
func TestInstallPageShowsTagsAndWhereTheChatIsLive(t *testing.T) {
	e := setup(t, inbox.Config{PublicURL: "https://chat.example"})
	ctx := context.Background()
	acct, err := e.st.Account(ctx, e.account)
	if err != nil {
		t.Fatal(err)
	}
	admin := e.withRole(e.alice, store.RoleAdmin)
	p := admin.get("/inbox/settings/install")
	if p.status != 200 || !strings.Contains(p.body, `id="seen-none"`) || !strings.Contains(p.body, `id="mobile-none"`) {
		t.Fatalf("install page: %d\n%s", p.status, p.body)
	}
	body := html.UnescapeString(p.body)
	for _, want := range []string{
		`<script src="https://chat.example/loader.js" data-site="` + acct.PublicID + `" async></script>`,
		"parleyOnReady.push(function () { Parley.refresh(); });",
		"script-src https://chat.example 'wasm-unsafe-eval';", "connect-src https://chat.example wss://chat.example;",
		"img-src https://chat.example;",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("install page lacks %q", want)
		}
	}

	cf := chatflow.Default()
	cf.Name, cf.Channel, cf.MobileTag, cf.InboxID, cf.Language = "App help", chatflow.ChannelMobile, "app-help", e.inboxA, "en"
	row, err := cf.Row(e.account)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.CreateChatflow(ctx, row); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC)
	if err := e.st.RecordOrigins(ctx, []store.OriginSeen{{Site: acct.PublicID, Origin: "https://shop.example", At: at}}); err != nil {
		t.Fatal(err)
	}
	body = html.UnescapeString(admin.get("/inbox/settings/install").body)
	for _, want := range []string{
		`client.Resolve("https://chat.example", "` + acct.PublicID + `", "app-help")`,
		"App help", `data-origin="https://shop.example"`, "Last seen on <strong>https://shop.example</strong> at",
		`datetime="2026-05-04T09:30:00Z"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("install page lacks %q:\n%s", want, body)
		}
	}
	if p := e.withRole(e.bob, store.RoleEditor).get("/inbox/settings/install"); p.status != http.StatusForbidden {
		t.Errorf("editor: %d", p.status)
	}
}
