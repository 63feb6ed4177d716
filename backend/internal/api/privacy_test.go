package api_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/parleychat/parley/backend/internal/identity"
	"github.com/parleychat/parley/backend/internal/store"
)

func (e *env) otherAccountID() int64 {
	e.t.Helper()
	a, err := e.st.AccountByAPIKey(context.Background(), e.other)
	must(e.t, err)
	return a.ID
}

func wantFields(t *testing.T, what string, code int, p map[string]any, want ...string) {
	t.Helper()
	if code != http.StatusBadRequest {
		t.Errorf("%s: status %d, want 400 (%v)", what, code, p)
		return
	}
	got := fields(p)
	for _, f := range want {
		if !slices.Contains(got, f) {
			t.Errorf("%s: errors name %v, want %s", what, got, f)
		}
	}
}

func TestSubscriptionTypesCRUD(t *testing.T) {
	e := setup(t)
	id := e.create("/api/v1/subscription-types", `{"name":"Newsletter","description":"Monthly news"}`)
	path := "/api/v1/subscription-types/" + itoa(id)

	code, p := e.do("POST", "/api/v1/subscription-types", `{"name":"Newsletter"}`)
	if code != http.StatusConflict {
		t.Errorf("duplicate name: %d %v", code, p)
	}
	code, p = e.do("POST", "/api/v1/subscription-types", `{"name":"  ","colour":"red","description":7}`)
	wantFields(t, "bad create", code, p, "colour")
	code, p = e.do("POST", "/api/v1/subscription-types", `{"description":"x"}`)
	wantFields(t, "no name", code, p, "name")
	code, p = e.do("POST", "/api/v1/subscription-types", `{"name":"`+strings.Repeat("n", 201)+`"}`)
	wantFields(t, "long name", code, p, "name")

	code, p = e.do("PATCH", path, `{"description":"Weekly news"}`)
	if code != 200 || p["name"] != "Newsletter" || p["description"] != "Weekly news" {
		t.Errorf("patch: %d %v", code, p)
	}
	code, p = e.do("PUT", path, `{"name":"Product news"}`)
	if code != 200 || p["name"] != "Product news" || p["description"] != "" {
		t.Errorf("put: %d %v", code, p)
	}
	code, p = e.do("GET", "/api/v1/subscription-types", "")
	if code != 200 || !reflect.DeepEqual(ids(p["subscription_types"]), []int64{id}) {
		t.Errorf("list: %d %v", code, p)
	}

	for _, m := range []string{"GET", "PATCH", "PUT", "DELETE"} {
		if code, _ := e.doKey(e.other, m, path, `{"name":"Mine"}`); code != http.StatusNotFound {
			t.Errorf("%s another account's type: %d", m, code)
		}
	}
	if code, p := e.doKey(e.other, "GET", "/api/v1/subscription-types", ""); code != 200 || len(p["subscription_types"].([]any)) != 0 {
		t.Errorf("another account lists: %v", p)
	}
	if code, _ := e.do("GET", "/api/v1/subscription-types/abc", ""); code != http.StatusNotFound {
		t.Errorf("malformed id: %d", code)
	}
	if code, _ := e.doKey("", "GET", "/api/v1/subscription-types", ""); code != http.StatusUnauthorized {
		t.Errorf("no key: %d", code)
	}
	if code, _ := e.do("DELETE", path, ""); code != http.StatusNoContent {
		t.Errorf("delete: %d", code)
	}
	if code, _ := e.do("GET", path, ""); code != http.StatusNotFound {
		t.Errorf("deleted type: %d", code)
	}
}

func TestVisitorIdentificationTokens(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	const url = "/api/v1/visitor-identification"
	for name, c := range map[string]struct {
		body   string
		fields []string
	}{
		"no email":       {`{"name":"Ann"}`, []string{"email"}},
		"bad email":      {`{"email":"ann at example"}`, []string{"email"}},
		"unknown field":  {`{"email":"ann@example.com","phone":"1"}`, []string{"phone"}},
		"nested value":   {`{"email":"ann@example.com","properties":{"plan":{"x":1}}}`, []string{"properties.plan"}},
		"bad name":       {`{"email":"ann@example.com","properties":{"a b":"x"}}`, []string{"properties.a b"}},
		"wrong type":     {`{"email":"ann@example.com","name":5}`, []string{"name"}},
		"not an object":  {`["ann@example.com"]`, []string{"body"}},
		"value too long": {`{"email":"ann@example.com","properties":{"plan":"` + strings.Repeat("x", 1001) + `"}}`, []string{"properties.plan"}},
	} {
		code, p := e.do("POST", url, c.body)
		wantFields(t, name, code, p, c.fields...)
	}
	if _, err := e.st.ContactByEmail(ctx, e.acct.ID, "ann@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("bad input created a contact")
	}

	code, p := e.do("POST", url, `{"email":"Ann@Example.com","name":"Ann","properties":{"plan":"gold","seats":12,"trial":false,"gone":null}}`)
	if code != 200 {
		t.Fatalf("identify: %d %v", code, p)
	}
	token := p["token"].(string)
	exp, err := time.Parse(time.RFC3339Nano, p["expires_at"].(string))
	must(t, err)
	if len(token) < 40 || time.Until(exp) < identity.TTL-time.Minute || time.Until(exp) > identity.TTL+time.Minute {
		t.Fatalf("token %q expires %v", token, exp)
	}
	var plain int
	must(t, e.st.DB().Get(&plain, `SELECT count(*) FROM identification_tokens WHERE position($1::bytea in token_hash) > 0`, []byte(token)))
	if plain != 0 {
		t.Fatal("the token itself is stored")
	}
	contactID := num(p["contact_id"])
	code, c := e.do("GET", "/api/v1/contacts/"+itoa(contactID), "")
	want := map[string]any{"plan": "gold", "seats": "12", "trial": "false"}
	if code != 200 || c["name"] != "Ann" || !reflect.DeepEqual(c["properties"], want) {
		t.Fatalf("contact: %d %v", code, c)
	}

	// A second call updates the contact: properties merge, null deletes.
	code, p = e.do("POST", url, `{"email":"ann@example.com","properties":{"plan":"platinum","trial":null}}`)
	if code != 200 || num(p["contact_id"]) != contactID {
		t.Fatalf("second identify: %d %v", code, p)
	}
	props, err := identity.Properties(ctx, e.st, e.acct.ID, contactID)
	must(t, err)
	if !reflect.DeepEqual(props, map[string]string{"plan": "platinum", "seats": "12"}) {
		t.Fatalf("properties after update: %v", props)
	}
	if ct, _ := e.st.Contact(ctx, e.acct.ID, contactID); ct.Name != "Ann" {
		t.Fatalf("a call without a name cleared it: %q", ct.Name)
	}

	got, err := identity.Verify(ctx, e.st, e.acct.ID, "ANN@example.com", token)
	if err != nil || got.ID != contactID {
		t.Fatalf("valid token: %v", err)
	}
	other := e.otherAccountID()
	for name, c := range map[string]struct {
		account      int64
		email, token string
	}{
		"another account": {other, "ann@example.com", token},
		"another email":   {e.acct.ID, "bob@example.com", token},
		"random string":   {e.acct.ID, "ann@example.com", store.NewToken()},
		"empty token":     {e.acct.ID, "ann@example.com", ""},
		"no email":        {e.acct.ID, "", token},
	} {
		if _, err := identity.Verify(ctx, e.st, c.account, c.email, c.token); !errors.Is(err, identity.ErrNotVerified) {
			t.Errorf("%s: %v, want ErrNotVerified", name, err)
		}
	}
	// A token issued for Bob does not identify Ann, even in the same account.
	_, p = e.do("POST", url, `{"email":"bob@example.com"}`)
	if _, err := identity.Verify(ctx, e.st, e.acct.ID, "ann@example.com", p["token"].(string)); !errors.Is(err, identity.ErrNotVerified) {
		t.Errorf("Bob's token for Ann: %v", err)
	}
	// The other account identifying the same email gets its own contact.
	code, p = e.doKey(e.other, "POST", url, `{"email":"ann@example.com"}`)
	if code != 200 || num(p["contact_id"]) == contactID {
		t.Fatalf("other account: %d %v", code, p)
	}

	_, err = e.st.DB().Exec(`UPDATE identification_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, store.HashToken(token))
	must(t, err)
	_, err = identity.Verify(ctx, e.st, e.acct.ID, "ann@example.com", token)
	if !errors.Is(err, identity.ErrExpired) || !errors.Is(err, identity.ErrNotVerified) {
		t.Fatalf("expired token: %v", err)
	}
	if !strings.Contains(identity.Warning(err), "expired") {
		t.Errorf("warning %q", identity.Warning(err))
	}
}

// privacyFixture is a contact with two conversations (one before the
// address was left), messages, consents and a subscription; plus another
// contact of the same account who must survive the first one's erasure.
type privacyFixture struct {
	contact, otherContact   int64
	visitor                 int64
	convs                   []int64
	otherConv, subscription int64
}

// identifyVisitor makes (or finds) the verified contact with email and
// links the visitor and its open conversations to it, as an identified
// hello does.
func (e *env) identifyVisitor(visitorID int64, email string) *store.Contact {
	e.t.Helper()
	ctx := context.Background()
	_, _, c, err := e.st.IdentifyContact(ctx, store.Identification{AccountID: e.acct.ID, Email: email}, time.Hour)
	must(e.t, err)
	must(e.t, e.st.LinkVisitorContact(ctx, e.acct.ID, visitorID, c.ID))
	return c
}

func (e *env) privacyFixture() *privacyFixture {
	e.t.Helper()
	ctx := context.Background()
	f := &privacyFixture{}
	_, v, err := e.st.CreateVisitor(ctx, e.acct.ID)
	must(e.t, err)
	f.visitor = v.ID
	for i, text := range []string{"<b>first</b> question", "second question"} {
		c, _, err := e.st.CreateConversation(ctx, store.NewConversation{AccountID: e.acct.ID, InboxID: e.inbox, VisitorID: v.ID, PageURL: "https://shop.example/p"})
		must(e.t, err)
		_, _, err = e.st.AppendMessage(ctx, store.NewMessage{ConversationID: c.ID, ClientID: "m1", AuthorType: store.AuthorVisitor, Body: text})
		must(e.t, err)
		_, _, err = e.st.AppendMessage(ctx, store.NewMessage{ConversationID: c.ID, AuthorType: store.AuthorAgent, AuthorID: e.user, Body: "answer"})
		must(e.t, err)
		f.convs = append(f.convs, c.ID)
		if i == 0 {
			_, err = e.st.CloseConversation(ctx, e.acct.ID, c.ID, "closed")
			must(e.t, err)
		}
	}
	f.contact = e.identifyVisitor(v.ID, "ann@example.com").ID
	_, err = e.st.RecordConsent(ctx, store.NewConsent{AccountID: e.acct.ID, VisitorID: v.ID, Kind: store.ConsentCookie, Decision: store.ConsentGranted, Text: "Cookies?"})
	must(e.t, err)
	_, err = e.st.RecordConsent(ctx, store.NewConsent{AccountID: e.acct.ID, ConversationID: f.convs[1], Kind: store.ConsentDataProcessing,
		Basis: store.BasisExplicit, Decision: store.ConsentGranted, Text: "We store data.", PageURL: "https://shop.example/p"})
	must(e.t, err)
	f.subscription = e.create("/api/v1/subscription-types", `{"name":"Newsletter"}`)
	_, err = e.st.SetContactSubscription(ctx, e.acct.ID, f.contact, f.subscription, store.Subscribed, f.convs[1])
	must(e.t, err)
	_, err = e.st.RecordConsent(ctx, store.NewConsent{AccountID: e.acct.ID, ConversationID: f.convs[1], SubscriptionTypeID: f.subscription,
		Kind: store.ConsentCommunication, Decision: store.ConsentGranted, Text: "News from Acme"})
	must(e.t, err)

	_, v2, err := e.st.CreateVisitor(ctx, e.acct.ID)
	must(e.t, err)
	oc, _, err := e.st.CreateConversation(ctx, store.NewConversation{AccountID: e.acct.ID, InboxID: e.inbox, VisitorID: v2.ID})
	must(e.t, err)
	_, _, err = e.st.AppendMessage(ctx, store.NewMessage{ConversationID: oc.ID, ClientID: "m1", AuthorType: store.AuthorVisitor, Body: "Bob here"})
	must(e.t, err)
	bob := e.identifyVisitor(v2.ID, "bob@example.com")
	_, err = e.st.RecordConsent(ctx, store.NewConsent{AccountID: e.acct.ID, ConversationID: oc.ID, Kind: store.ConsentCookie, Decision: store.ConsentGranted, Text: "Cookies?"})
	must(e.t, err)
	f.otherContact, f.otherConv = bob.ID, oc.ID
	return f
}

func TestContactExportHoldsEverything(t *testing.T) {
	e := setup(t)
	f := e.privacyFixture()
	path := "/api/v1/contacts/" + itoa(f.contact) + "/export"
	code, x := e.do("GET", path, "")
	if code != 200 {
		t.Fatalf("export: %d %v", code, x)
	}
	if c := x["contact"].(map[string]any); c["email"] != "ann@example.com" || num(c["id"]) != f.contact {
		t.Errorf("contact %v", c)
	}
	if _, ok := x["properties"].(map[string]any); !ok {
		t.Error("no properties object")
	}
	convs := x["conversations"].([]any)
	if !reflect.DeepEqual(ids(convs), f.convs) {
		t.Fatalf("conversations %v, want %v (the anonymous one before the address too)", ids(convs), f.convs)
	}
	first := convs[0].(map[string]any)
	msgs := first["messages"].([]any)
	if len(msgs) != 3 || msgs[0].(map[string]any)["body"] != "<b>first</b> question" || msgs[1].(map[string]any)["author_name"] != "Ana" {
		t.Errorf("messages %v", msgs)
	}
	if first["ticket"] == nil || len(x["tickets"].([]any)) != 2 {
		t.Errorf("tickets: %v / %v", first["ticket"], x["tickets"])
	}
	if n := len(x["consents"].([]any)); n != 3 {
		t.Errorf("%d consents, want 3", n)
	}
	subs := x["subscriptions"].([]any)
	if len(subs) != 1 || subs[0].(map[string]any)["status"] != store.Subscribed || subs[0].(map[string]any)["name"] != "Newsletter" {
		t.Errorf("subscriptions %v", subs)
	}
	if len(x["visitors"].([]any)) != 1 || x["exported_at"] == nil {
		t.Errorf("visitors %v, exported_at %v", x["visitors"], x["exported_at"])
	}
	for _, conv := range convs {
		if num(conv.(map[string]any)["id"]) == f.otherConv {
			t.Error("another contact's conversation is in the export")
		}
	}
	for _, p := range []string{path, "/api/v1/contacts/" + itoa(f.contact)} {
		if code, _ := e.doKey(e.other, "GET", p, ""); code != http.StatusNotFound {
			t.Errorf("another account GET %s: %d", p, code)
		}
	}
	if code, _ := e.do("GET", "/api/v1/contacts/99999/export", ""); code != http.StatusNotFound {
		t.Errorf("unknown contact: %d", code)
	}
}

func TestContactErasureLeavesNothing(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	f := e.privacyFixture()
	path := "/api/v1/contacts/" + itoa(f.contact)

	if code, _ := e.doKey(e.other, "DELETE", path, ""); code != http.StatusNotFound {
		t.Fatalf("another account erases: %d", code)
	}
	code, p := e.do("DELETE", path, "")
	if code != 200 {
		t.Fatalf("erase: %d %v", code, p)
	}
	d := p["deleted"].(map[string]any)
	if num(d["conversations"]) != 2 || num(d["messages"]) != 5 || num(d["tickets"]) != 2 || num(d["consents"]) != 3 || num(d["visitors"]) != 1 {
		t.Errorf("deleted %v", d)
	}

	for _, pth := range []string{path, path + "/export", "/api/v1/consents?contact_id=" + itoa(f.contact),
		"/api/v1/consents?visitor_id=" + itoa(f.visitor)} {
		if code, p := e.do("GET", pth, ""); code != http.StatusNotFound {
			t.Errorf("GET %s after erasure: %d %v", pth, code, p)
		}
	}
	for _, c := range f.convs {
		for _, pth := range []string{"/api/v1/conversations/" + itoa(c), "/api/v1/conversations/" + itoa(c) + "/messages",
			"/api/v1/consents?conversation_id=" + itoa(c)} {
			if code, _ := e.do("GET", pth, ""); code != http.StatusNotFound {
				t.Errorf("GET %s after erasure: %d", pth, code)
			}
		}
		// The inbox reads the same rows: they are gone.
		if _, err := e.st.ConversationSummary(ctx, e.acct.ID, c); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("inbox still finds conversation %d: %v", c, err)
		}
	}
	if code, p := e.do("DELETE", path, ""); code != http.StatusNotFound {
		t.Errorf("second erase: %d %v", code, p)
	}
	_, p = e.do("GET", "/api/v1/contacts?email=ann@example.com", "")
	if len(p["contacts"].([]any)) != 0 {
		t.Errorf("list still finds the contact: %v", p)
	}
	_, p = e.do("GET", "/api/v1/conversations", "")
	if got := ids(p["conversations"]); !reflect.DeepEqual(got, []int64{f.otherConv}) {
		t.Errorf("conversations left %v, want only Bob's %d", got, f.otherConv)
	}

	convs := pq.Array(f.convs)
	for table, q := range map[string]struct {
		sql  string
		args []any
	}{
		"conversations":         {`SELECT count(*) FROM conversations WHERE id = ANY($1)`, []any{convs}},
		"messages":              {`SELECT count(*) FROM messages WHERE conversation_id = ANY($1)`, []any{convs}},
		"tickets":               {`SELECT count(*) FROM tickets WHERE conversation_id = ANY($1)`, []any{convs}},
		"consents":              {`SELECT count(*) FROM consents WHERE conversation_id = ANY($1) OR contact_id = $2 OR visitor_id = $3`, []any{convs, f.contact, f.visitor}},
		"visitors":              {`SELECT count(*) FROM visitors WHERE id = $1 OR contact_id = $2`, []any{f.visitor, f.contact}},
		"contact_subscriptions": {`SELECT count(*) FROM contact_subscriptions WHERE contact_id = $1`, []any{f.contact}},
		"contacts":              {`SELECT count(*) FROM contacts WHERE account_id = $1 AND lower(email) = 'ann@example.com'`, []any{e.acct.ID}},
	} {
		var n int
		must(t, e.st.DB().Get(&n, q.sql, q.args...))
		if n != 0 {
			t.Errorf("%s: %d rows left", table, n)
		}
	}

	// Bob is untouched.
	code, x := e.do("GET", "/api/v1/contacts/"+itoa(f.otherContact)+"/export", "")
	if code != 200 || len(x["conversations"].([]any)) != 1 || len(x["consents"].([]any)) != 1 {
		t.Fatalf("Bob after Ann's erasure: %d %v", code, x)
	}
	if msgs := x["conversations"].([]any)[0].(map[string]any)["messages"].([]any); len(msgs) != 1 {
		t.Errorf("Bob's messages %v", msgs)
	}
}

func TestContactsListSubscriptionsAndConsents(t *testing.T) {
	e := setup(t)
	f := e.privacyFixture()

	code, p := e.do("GET", "/api/v1/contacts?limit=1", "")
	if code != 200 || !reflect.DeepEqual(ids(p["contacts"]), []int64{f.otherContact}) || p["next_cursor"] == nil {
		t.Fatalf("first page: %d %v", code, p)
	}
	_, p = e.do("GET", "/api/v1/contacts?limit=1&cursor="+p["next_cursor"].(string), "")
	if !reflect.DeepEqual(ids(p["contacts"]), []int64{f.contact}) {
		t.Fatalf("second page: %v", p)
	}
	_, p = e.do("GET", "/api/v1/contacts?email=BOB@example.com", "")
	if !reflect.DeepEqual(ids(p["contacts"]), []int64{f.otherContact}) {
		t.Errorf("email filter: %v", p)
	}
	code, p = e.do("GET", "/api/v1/contacts?sort=name&limit=0", "")
	wantFields(t, "contacts bad query", code, p, "sort", "limit")
	if _, p := e.doKey(e.other, "GET", "/api/v1/contacts", ""); len(p["contacts"].([]any)) != 0 {
		t.Errorf("another account lists our contacts: %v", p)
	}

	// Consents: filters, paging, another account's ids.
	code, p = e.do("GET", "/api/v1/consents?conversation_id="+itoa(f.convs[1]), "")
	if code != 200 || len(p["consents"].([]any)) != 2 {
		t.Fatalf("conversation's consents: %d %v", code, p)
	}
	c0 := p["consents"].([]any)[1].(map[string]any)
	if c0["kind"] != "data_processing" || c0["basis"] != "explicit" || c0["decision"] != "granted" || c0["text"] != "We store data." ||
		c0["text_hash"] != store.TextHash("We store data.") || c0["page_url"] != "https://shop.example/p" || num(c0["contact_id"]) != f.contact {
		t.Errorf("record %v", c0)
	}
	_, p = e.do("GET", "/api/v1/consents?contact_id="+itoa(f.contact)+"&limit=2", "")
	if len(p["consents"].([]any)) != 2 || p["next_cursor"] == nil {
		t.Errorf("contact's consents page: %v", p)
	}
	_, p = e.do("GET", "/api/v1/consents", "")
	if len(p["consents"].([]any)) != 4 {
		t.Errorf("all consents: %v", p)
	}
	code, p = e.do("GET", "/api/v1/consents?contact_id=abc&kind=cookie", "")
	wantFields(t, "consents bad query", code, p, "contact_id", "kind")
	for _, q := range []string{"contact_id=" + itoa(f.contact), "conversation_id=" + itoa(f.convs[0]), "visitor_id=" + itoa(f.visitor)} {
		if code, _ := e.doKey(e.other, "GET", "/api/v1/consents?"+q, ""); code != http.StatusNotFound {
			t.Errorf("another account's %s: %d", q, code)
		}
	}

	// An admin records an unsubscribe.
	sub := "/api/v1/contacts/" + itoa(f.contact) + "/subscriptions/" + itoa(f.subscription)
	code, p = e.do("PUT", sub, `{"status":"unsubscribed"}`)
	if code != 200 || p["status"] != "unsubscribed" || p["conversation_id"] != nil {
		t.Fatalf("unsubscribe: %d %v", code, p)
	}
	_, p = e.do("GET", "/api/v1/contacts/"+itoa(f.contact), "")
	if subs := p["subscriptions"].([]any); len(subs) != 1 || subs[0].(map[string]any)["status"] != "unsubscribed" {
		t.Errorf("contact's subscriptions %v", p["subscriptions"])
	}
	code, p = e.do("PUT", sub, `{"status":"maybe"}`)
	wantFields(t, "bad status", code, p, "status")
	if code, _ := e.doKey(e.other, "PUT", sub, `{"status":"subscribed"}`); code != http.StatusNotFound {
		t.Errorf("another account subscribes our contact: %d", code)
	}
	otherType := e.createWith(e.other, "/api/v1/subscription-types", `{"name":"Theirs"}`)
	if code, _ := e.do("PUT", "/api/v1/contacts/"+itoa(f.contact)+"/subscriptions/"+itoa(otherType), `{"status":"subscribed"}`); code != http.StatusNotFound {
		t.Errorf("another account's subscription type: %d", code)
	}
}
