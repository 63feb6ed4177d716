package bot

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzFlow feeds arbitrary flows and answers through Validate and Step: a
// flow that validates must run without panicking, every waiting state must
// rest on a question, and a run never says more than its steps allow.
func FuzzFlow(f *testing.F) {
	for _, t := range Templates() {
		b, _ := json.Marshal(t.Flow)
		f.Add(b, "Sales|12|ana@example.com|later")
	}
	f.Add([]byte(`{"start":"a","steps":[{"id":"a","type":"message","text":"x","next":"a"}]}`), "x")
	f.Add([]byte(`{"start":"q","steps":[{"id":"q","type":"question","input":"number","min":1,"text":"?","next":"b"},
		{"id":"b","type":"branch","on":"q","cases":[{"op":"less_than","value":"3","next":"q"}],"default":"e"},{"id":"e","type":"end"}]}`), "1|2|5")
	f.Fuzz(func(t *testing.T, raw []byte, answers string) {
		var fl Flow
		if json.Unmarshal(raw, &fl) != nil {
			return
		}
		valid := len(fl.Validate(refs{})) == 0
		var st State
		for i, in := range append([]string{""}, strings.Split(answers, "|")...) {
			if i > 20 {
				break
			}
			out, next := Step(&fl, st, in)
			if len(out) > 3*len(fl.Steps)+3 {
				t.Fatalf("one step produced %d outputs for %d steps", len(out), len(fl.Steps))
			}
			if next.Status == StatusWaiting {
				if s := fl.step(next.Step); s == nil || s.Type != TypeQuestion {
					t.Fatalf("waiting on %q, not a question", next.Step)
				}
			}
			// A valid flow never needs the hand-over fallback.
			if valid {
				for _, o := range out {
					if o.Kind == OutHandover {
						if s := fl.step(o.Step); s == nil || s.Type != TypeHandover {
							t.Fatalf("valid flow fell back to a hand-over at %q: %s", o.Step, raw)
						}
					}
				}
			}
			st = next
		}
	})
}
