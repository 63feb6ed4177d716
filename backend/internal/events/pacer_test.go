package events

import (
	"testing"
	"time"
)

func TestPacerSpacesReReads(t *testing.T) {
	p := Pacer{Every: 50 * time.Millisecond}
	if p.C() != nil {
		t.Fatal("a pending re-read before anything was missed")
	}
	if !p.Now() {
		t.Fatal("the first re-read waits")
	}
	began := time.Now()
	if p.Now() || p.Now() {
		t.Fatal("a second re-read within Every runs at once")
	}
	<-p.C() // one pending for the misses meanwhile, however many
	p.Fired()
	if d := time.Since(began); d < 40*time.Millisecond {
		t.Fatalf("the pending re-read came after %v, want about Every", d)
	}
	if p.C() != nil {
		t.Fatal("still pending after it fired")
	}
	if p.Now() {
		t.Fatal("a re-read right after the fired one runs at once")
	}
	p.Stop()
	if p.C() != nil {
		t.Fatal("pending after Stop")
	}
	time.Sleep(60 * time.Millisecond) // Every passes: a quiet spell (left: the pacer reads the clock, the spell is what is tested)
	if !p.Now() {
		t.Fatal("after a quiet spell the re-read waits")
	}
}
