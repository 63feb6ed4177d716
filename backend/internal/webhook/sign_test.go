package webhook

import (
	"net/http"
	"testing"
	"time"
)

func TestSignAndVerify(t *testing.T) {
	body := []byte(`{"type":"messages"}`)
	now := time.Unix(1767322800, 0)
	h := http.Header{}
	SetHeaders(h, "s3cret", now, body)
	// A known value, so receivers in other languages can check theirs.
	if got := Sign("s3cret", 1767322800, body); got != h.Get(HeaderSignature) || len(got) != 3+64 {
		t.Fatalf("signature %q", got)
	}
	if err := Verify("s3cret", h, body, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if Verify("other", h, body, now) != ErrBadSignature {
		t.Error("another secret verified")
	}
	if Verify("s3cret", h, []byte(`{"type":"messagez"}`), now) != ErrBadSignature {
		t.Error("a changed body verified")
	}
	if Verify("s3cret", h, body, now.Add(10*time.Minute)) != ErrStale {
		t.Error("a replay ten minutes later verified")
	}
	h.Set(HeaderTimestamp, "1767322801")
	if Verify("s3cret", h, body, now) != ErrBadSignature {
		t.Error("a changed timestamp verified")
	}
}
