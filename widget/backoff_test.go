package widget

import (
	"testing"
	"time"
)

func TestBackoffSchedule(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		rand float64
		want []time.Duration
	}{
		{"no jitter at the top", 0.999999999, []time.Duration{500 * ms, 1000 * ms, 2000 * ms, 4000 * ms, 8000 * ms, 10000 * ms, 10000 * ms}},
		{"most jitter halves", 0, []time.Duration{250 * ms, 500 * ms, 1000 * ms, 2000 * ms, 4000 * ms, 5000 * ms, 5000 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Backoff{Rand: func() float64 { return tt.rand }}
			for i, want := range tt.want {
				got := b.Next()
				if got.Round(ms) != want {
					t.Errorf("attempt %d: %v, want %v", i, got, want)
				}
			}
			b.Reset()
			if got := b.Nominal(); got != BackoffMin {
				t.Errorf("after Reset: nominal %v, want %v", got, BackoffMin)
			}
		})
	}
}

func TestBackoffDefaultRandStaysInRange(t *testing.T) {
	var b Backoff
	for i := 0; i < 50; i++ {
		n := b.Nominal()
		d := b.Next()
		if d < n/2 || d > n {
			t.Fatalf("attempt %d: %v outside [%v, %v]", i, d, n/2, n)
		}
	}
}
