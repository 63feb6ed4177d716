package bot

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

type refs struct{}

func (refs) User(id int64) bool { return id == 7 }
func (refs) Team(id int64) bool { return id == 9 }

func TestTemplatesAreValid(t *testing.T) {
	ts := Templates()
	if len(ts) < 2 {
		t.Fatalf("%d templates, want at least 2", len(ts))
	}
	for _, tp := range ts {
		if errs := tp.Flow.Validate(refs{}); len(errs) > 0 {
			t.Errorf("template %s: %v", tp.ID, errs)
		}
	}
	// Copies: editing one does not edit the next caller's.
	ts[0].Steps[0].Text = "changed"
	if Templates()[0].Steps[0].Text == "changed" {
		t.Error("Templates shares its steps between callers")
	}
}

// flow parses a flow from JSON, as the API receives it.
func flow(t *testing.T, js string) *Flow {
	t.Helper()
	var f Flow
	if err := json.Unmarshal([]byte(js), &f); err != nil {
		t.Fatalf("%v: %s", err, js)
	}
	return &f
}

func TestValidateNamesTheField(t *testing.T) {
	cases := []struct {
		name, flow, field, says string
	}{
		{"no steps", `{"start":"a","steps":[]}`, "steps", "at least one"},
		{"no start", `{"steps":[{"id":"a","type":"end"}]}`, "start", "first step"},
		{"missing start", `{"start":"zz","steps":[{"id":"a","type":"end"}]}`, "start", `no step with id "zz"`},
		{"bad id", `{"start":"a","steps":[{"id":"A b","type":"end"}]}`, "steps[0].id", "lower-case"},
		{"duplicate id", `{"start":"a","steps":[{"id":"a","type":"message","text":"x","next":"a2"},{"id":"a","type":"end"},{"id":"a2","type":"end"}]}`, "steps[1].id", "already the id of steps[0]"},
		{"unknown type", `{"start":"a","steps":[{"id":"a","type":"dance"}]}`, "steps[0].type", "must be one of"},
		{"branch to missing step", `{"start":"q","steps":[
			{"id":"q","type":"question","input":"text","text":"?","next":"b"},
			{"id":"b","type":"branch","on":"q","cases":[{"op":"equals","value":"x","next":"nowhere"}],"default":"e"},
			{"id":"e","type":"end"}]}`, "steps[1].cases[0].next", `no step with id "nowhere"`},
		{"next to missing step", `{"start":"a","steps":[{"id":"a","type":"message","text":"hi","next":"gone"}]}`, "steps[0].next", `no step with id "gone"`},
		{"message without next", `{"start":"a","steps":[{"id":"a","type":"message","text":"hi"}]}`, "steps[0].next", "comes next"},
		{"unreachable", `{"start":"a","steps":[{"id":"a","type":"end"},{"id":"island","type":"message","text":"x","next":"a"}]}`, "steps[1].id", "cannot be reached"},
		{"silent loop", `{"start":"a","steps":[
			{"id":"a","type":"message","text":"one","next":"b"},
			{"id":"b","type":"message","text":"two","next":"a"}]}`, "steps[1].next", "without a question"},
		{"silent loop through a branch", `{"start":"q","steps":[
			{"id":"q","type":"question","input":"number","text":"?","next":"b"},
			{"id":"b","type":"branch","on":"q","cases":[{"op":"greater_than","value":"3","next":"m"}],"default":"e"},
			{"id":"m","type":"message","text":"again","next":"b"},
			{"id":"e","type":"end"}]}`, "steps[2].next", "without a question"},
		{"question without input", `{"start":"q","steps":[{"id":"q","type":"question","text":"?","next":"e"},{"id":"e","type":"end"}]}`, "steps[0].input", "required"},
		{"one quick reply", `{"start":"q","steps":[{"id":"q","type":"question","input":"quick_replies","text":"?","options":[{"label":"A","value":"a"}],"next":"e"},{"id":"e","type":"end"}]}`, "steps[0].options", "2 to"},
		{"bad save target", `{"start":"q","steps":[{"id":"q","type":"question","input":"text","text":"?","save_to":{"object":"deal","name":"x"},"next":"e"},{"id":"e","type":"end"}]}`, "steps[0].save_to.object", "contact or ticket"},
		{"branch on a message", `{"start":"m","steps":[{"id":"m","type":"message","text":"x","next":"b"},{"id":"b","type":"branch","on":"m","cases":[{"op":"equals","value":"x","next":"e"}],"default":"e"},{"id":"e","type":"end"}]}`, "steps[1].on", "answer to a question"},
		{"case value not a reply", `{"start":"q","steps":[{"id":"q","type":"question","input":"quick_replies","text":"?","options":[{"label":"A","value":"a"},{"label":"B","value":"b"}],"next":"b"},
			{"id":"b","type":"branch","on":"q","cases":[{"op":"equals","value":"c","next":"e"}],"default":"e"},{"id":"e","type":"end"}]}`, "steps[1].cases[0].value", "quick replies"},
		{"number op on text", `{"start":"q","steps":[{"id":"q","type":"question","input":"text","text":"?","next":"b"},
			{"id":"b","type":"branch","on":"q","cases":[{"op":"greater_than","value":"3","next":"e"}],"default":"e"},{"id":"e","type":"end"}]}`, "steps[1].cases[0].op", "not a number question"},
		{"branch without default", `{"start":"q","steps":[{"id":"q","type":"question","input":"text","text":"?","next":"b"},
			{"id":"b","type":"branch","on":"q","cases":[{"op":"contains","value":"x","next":"e"}]},{"id":"e","type":"end"}]}`, "steps[1].default", "comes next"},
		{"unknown team", `{"start":"h","steps":[{"id":"h","type":"handover","team_id":4}]}`, "steps[0].team_id", "no team"},
		{"unknown user", `{"start":"h","steps":[{"id":"h","type":"handover","user_id":4}]}`, "steps[0].user_id", "no user"},
		{"end with next", `{"start":"e","steps":[{"id":"e","type":"end","next":"e"}]}`, "steps[0].next", "ends the flow"},
		{"min above max", `{"start":"q","steps":[{"id":"q","type":"question","input":"number","text":"?","min":5,"max":1,"next":"e"},{"id":"e","type":"end"}]}`, "steps[0].max", "below min"},
		{"bad ticket property", `{"start":"t","steps":[{"id":"t","type":"create_ticket","properties":{"Bad Name":"x"},"next":"e"},{"id":"e","type":"end"}]}`, "steps[0].properties.Bad Name", "property names"},
	}
	for _, c := range cases {
		errs := flow(t, c.flow).Validate(refs{})
		found := false
		for _, e := range errs {
			if e.Field == c.field && strings.Contains(e.Message, c.says) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: want %s %q, got %v", c.name, c.field, c.says, errs)
		}
	}
	// A loop that waits for the visitor is fine: asking again is a loop with a question.
	ok := flow(t, `{"start":"q","steps":[
		{"id":"q","type":"question","input":"quick_replies","text":"Done?","options":[{"label":"Yes","value":"y"},{"label":"No","value":"n"}],"next":"b"},
		{"id":"b","type":"branch","on":"q","cases":[{"op":"equals","value":"n","next":"m"}],"default":"e"},
		{"id":"m","type":"message","text":"Take your time.","next":"q"},
		{"id":"e","type":"handover","team_id":9}]}`)
	if errs := ok.Validate(refs{}); len(errs) > 0 {
		t.Errorf("loop through a question rejected: %v", errs)
	}
}

func kinds(out []Output) string {
	var k []string
	for _, o := range out {
		k = append(k, o.Kind+":"+o.Step)
	}
	return strings.Join(k, " ")
}

func TestStepRunsLeadQualification(t *testing.T) {
	tp, _ := TemplateByID("lead_qualification")
	f := &tp.Flow
	out, st := Step(f, State{}, "")
	if kinds(out) != "message:welcome question:name" || st.Status != StatusWaiting || st.Step != "name" {
		t.Fatalf("start: %s %+v", kinds(out), st)
	}
	out, st = Step(f, st, "  Ana  ")
	if kinds(out) != "save:name question:email" || out[0].Value != "Ana" || out[0].Property.Object != ObjectContact ||
		out[1].Text != "Thanks, Ana. What is your work email?" {
		t.Fatalf("name: %s %+v", kinds(out), out)
	}
	// A bad email is asked again, nothing saved, state unchanged.
	before := st
	out, st = Step(f, st, "ana at example")
	if kinds(out) != "message:email question:email" || !strings.Contains(out[0].Text, "email address") || !reflect.DeepEqual(st, before) {
		t.Fatalf("bad email: %s %+v", kinds(out), st)
	}
	out, st = Step(f, st, "ana@example.com")
	if kinds(out) != "save:email question:team_size" {
		t.Fatalf("email: %s", kinds(out))
	}
	if out, _ := Step(f, st, "0"); kinds(out) != "message:team_size question:team_size" || !strings.Contains(out[0].Text, "from 1 to 1000000") {
		t.Fatalf("out-of-range number: %s %+v", kinds(out), out)
	}
	// Small team: the timeline question, then a ticket and the hand-over.
	out, small := Step(f, st, "12")
	if kinds(out) != "save:team_size question:timeline" || len(out[1].Options) != 3 {
		t.Fatalf("small team: %s", kinds(out))
	}
	out, done := Step(f, small, "this QUARTER")
	if kinds(out) != "save:timeline create_ticket:ticket message:sales handover:sales" || done.Status != StatusHandedOver {
		t.Fatalf("timeline: %s %+v", kinds(out), done)
	}
	if tk := out[1]; tk.Subject != "Lead: Ana (12 people)" || tk.Properties["timeline"] != "quarter" || tk.Properties["pipeline"] != "sales" {
		t.Errorf("ticket: %+v", tk)
	}
	if out, again := Step(f, done, "hello?"); out != nil || again.Status != StatusHandedOver {
		t.Errorf("after hand-over the bot spoke: %s", kinds(out))
	}
	// "Just looking" ends politely.
	out, end := Step(f, small, "later")
	if kinds(out) != "save:timeline message:goodbye end:goodbye" || end.Status != StatusEnded || out[1].Text != "Thanks, Ana! We will email you a short overview." {
		t.Fatalf("just looking: %s %+v", kinds(out), out)
	}
	// A big team goes straight to sales (the decimal comma is a number too).
	out, big := Step(f, st, "75,5")
	if kinds(out) != "save:team_size message:sales handover:sales" || out[0].Value != "75.5" || big.Status != StatusHandedOver {
		t.Fatalf("big team: %s %+v", kinds(out), out)
	}
	// The caller's state was never changed underneath it.
	if st.Answers["team_size"] != "" || len(st.Answers) != 2 {
		t.Errorf("Step changed its input state: %+v", st)
	}
}

func TestStepRunsSupportTriage(t *testing.T) {
	tp, _ := TemplateByID("support_triage")
	f := &tp.Flow
	_, st := Step(f, State{}, "")
	out, _ := Step(f, st, "dance")
	if kinds(out) != "message:topic question:topic" || out[0].Text != "Please choose one of the options." {
		t.Fatalf("unknown reply: %s %+v", kinds(out), out)
	}
	out, st2 := Step(f, st, "Something is broken")
	if kinds(out) != "save:topic question:urgency" || out[0].Value != "bug" || out[0].Property.Object != ObjectTicket {
		t.Fatalf("bug: %s %+v", kinds(out), out)
	}
	out, _ = Step(f, st2, "urgent")
	if kinds(out) != "save:urgency create_ticket:urgent_ticket message:urgent_handover handover:urgent_handover" {
		t.Fatalf("urgent: %s", kinds(out))
	}
	out, st3 := Step(f, st, "billing")
	if kinds(out) != "save:topic question:describe" {
		t.Fatalf("billing: %s", kinds(out))
	}
	_, st3 = Step(f, st3, "I was charged twice")
	out, st3 = Step(f, st3, "bo@example.org")
	if kinds(out) != "save:email create_ticket:ticket message:handover handover:handover" || out[1].Subject != "billing: I was charged twice" || st3.Status != StatusHandedOver {
		t.Fatalf("billing end: %s %+v", kinds(out), out)
	}
	// An empty answer is no answer.
	if out, _ := Step(f, st, "   "); kinds(out) != "message:topic question:topic" {
		t.Errorf("empty answer: %s", kinds(out))
	}
}

func TestStepHandsOverWhenTheFlowChangedUnderIt(t *testing.T) {
	f := flow(t, `{"start":"e","steps":[{"id":"e","type":"end","text":"bye"}]}`)
	out, st := Step(f, State{Status: StatusWaiting, Step: "deleted_question"}, "hi")
	if kinds(out) != "handover:deleted_question" || st.Status != StatusHandedOver {
		t.Errorf("vanished step: %s %+v", kinds(out), st)
	}
	// An unvalidated silent loop stops instead of spinning.
	loop := flow(t, `{"start":"a","steps":[{"id":"a","type":"message","text":"x","next":"a"}]}`)
	if out, st := Step(loop, State{}, ""); st.Status != StatusHandedOver || len(out) != 3 {
		t.Errorf("silent loop: %s %+v", kinds(out), st)
	}
}

func TestFill(t *testing.T) {
	a := map[string]string{"name": "<b>Ana</b>"}
	for in, want := range map[string]string{
		"Hi {{name}}!":         "Hi <b>Ana</b>!", // data, escaped where shown
		"Hi {{ name }} {{x}}.": "Hi <b>Ana</b> .",
		"{{unclosed":           "{{unclosed",
		"none":                 "none",
	} {
		if got := fill(in, a); got != want {
			t.Errorf("fill(%q) = %q, want %q", in, got, want)
		}
	}
}
