package store

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/parleychat/parley/backend/internal/dbtest"
)

// TestColumnLists: every column a list names is a column of its table
// (this version's schema) and a field of the struct it is read into, and
// every field that is a column of the table is in the list.
func TestColumnLists(t *testing.T) {
	db := dbtest.New(t)
	lists := []struct {
		table, cols string
		row         any
	}{
		{"accounts", accountColumns, Account{}},
		{"bots", botColumns, BotRow{}},
		{"bot_states", botStateColumns, BotState{}},
		{"bot_messages", botMessageColumns, BotMessage{}},
		{"chatflows", chatflowColumns, ChatflowRow{}},
		{"consents", consentColumns, Consent{}},
		{"contacts", contactColumns, Contact{}},
		{"contact_subscriptions", contactSubColumns, ContactSubscription{}},
		{"conversations", conversationColumns, Conversation{}},
		{"inboxes", inboxColumns, Inbox{}},
		{"knowledge_bases", kbColumns, KnowledgeBase{}},
		{"kb_categories", kbCategoryColumns, KBCategory{}},
		{"messages", messageColumns, Message{}},
		{"subscription_types", subscriptionTypeColumns, SubscriptionType{}},
		{"surveys", surveyColumns, Survey{}},
		{"survey_responses", surveyResponseColumns, SurveyResponse{}},
		{"teams", teamColumns, Team{}},
		{"webhooks", webhookColumns, Webhook{}},
		{"webhook_deliveries", webhookDeliveryColumns, WebhookDelivery{}},
		{"tickets", ticketRowColumns, Ticket{}},
		{"users", userColumns, User{}},
		{"visitors", visitorColumns, Visitor{}},
	}
	for _, l := range lists {
		var have []string
		if err := db.Select(&have, `SELECT column_name FROM information_schema.columns
			WHERE table_schema = 'public' AND table_name = $1`, l.table); err != nil {
			t.Fatal(err)
		}
		inTable := map[string]bool{}
		for _, c := range have {
			inTable[c] = true
		}
		fields := dbFields(reflect.TypeOf(l.row))
		listed := map[string]bool{}
		for _, c := range strings.Split(l.cols, ", ") {
			listed[c] = true
		}
		for f := range fields {
			if inTable[f] && !listed[f] {
				t.Errorf("%s: column %q of %T is not in its list", l.table, f, l.row)
			}
		}
		for _, c := range strings.Split(l.cols, ", ") {
			if !inTable[c] {
				t.Errorf("%s: %q is not a column (columns %v)", l.table, c, have)
			}
			if !fields[c] {
				t.Errorf("%s: %q has no field in %T", l.table, c, l.row)
			}
		}
	}
}

// dbFields returns the db tags of a struct type, its embedded structs' included.
func dbFields(typ reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			for k := range dbFields(f.Type) {
				out[k] = true
			}
			continue
		}
		if tag := f.Tag.Get("db"); tag != "" && tag != "-" {
			out[tag] = true
		}
	}
	return out
}

// TestSuiteWithAColumnAddedEverywhere runs this package's other tests again
// on databases where every table has one more column than this code knows,
// as during a rolling deploy after the next version's migration ran: every
// read and write must go on working.
func TestSuiteWithAColumnAddedEverywhere(t *testing.T) {
	if os.Getenv(dbtest.FutureColumnEnv) != "" {
		t.Skip("already the run with the added column")
	}
	if testing.Short() {
		t.Skip("reruns the package's tests")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.count=1", "-test.skip=^TestSuiteWithAColumnAddedEverywhere$")
	cmd.Env = append(os.Environ(), dbtest.FutureColumnEnv+"=x_future")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the store's tests fail with a column added to every table: %v\n%s", err, out)
	}
}

// TestNoSelectStar: no statement of the store reads "every column" (SELECT *
// or SELECT t.*): a column added by the next version's migration would
// change what this version reads while both run during a deploy.
func TestNoSelectStar(t *testing.T) {
	star := regexp.MustCompile(`(?i)\bselect\s+(distinct\s+)?([a-z_][a-z0-9_]*\.)?\*`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if star.MatchString(line) {
				t.Errorf("%s:%d reads every column: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}
