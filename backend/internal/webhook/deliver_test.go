package webhook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Post signs what it sends, and judges each kind of answer the same way
// for every sender: delivered, refused for good, or worth another try.
func TestPostJudgesTheAnswer(t *testing.T) {
	status := 200
	var gotBody []byte
	var gotHeader http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotBody, _ = io.ReadAll(r.Body)
		gotHeader = r.Header.Clone()
		if status == 302 {
			http.Redirect(w, r, "http://example.com/elsewhere", status)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	c := Client(5 * time.Second)
	body := []byte(`{"event":"message.created"}`)
	for _, tc := range []struct {
		status             int
		delivered, refused bool
	}{{200, true, false}, {204, true, false}, {400, false, true}, {410, false, true}, {408, false, false},
		{429, false, false}, {500, false, false}, {503, false, false}, {302, false, false}} {
		status = tc.status
		r := Post(context.Background(), c, srv.URL, "s3cret", http.Header{"Parley-Event": {"message.created"}}, body)
		if (r.Err == nil) != tc.delivered || r.Permanent != tc.refused || r.Status != tc.status {
			t.Errorf("answer %d: %+v", tc.status, r)
		}
		if err := Verify("s3cret", gotHeader, gotBody, time.Now()); err != nil || gotHeader.Get("Parley-Event") != "message.created" {
			t.Errorf("answer %d: the call was not signed as sent: %v %v", tc.status, err, gotHeader)
		}
	}
	srv.Close()
	if r := Post(context.Background(), c, srv.URL, "s3cret", nil, body); r.Err == nil || r.Permanent || r.Status != 0 {
		t.Errorf("no answer: %+v, want a retry", r)
	}
}

func TestBackoffGrowsJitteredAndCapped(t *testing.T) {
	for attempts := 1; attempts <= 30; attempts++ {
		full := min(time.Second<<min(attempts-1, 16), time.Minute)
		if d := Backoff(time.Second, time.Minute, attempts); d < full/2 || d > full {
			t.Fatalf("attempt %d: %v, want within [%v, %v]", attempts, d, full/2, full)
		}
	}
}
