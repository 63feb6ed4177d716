package widget

import (
	"math/rand/v2"
	"time"
)

// Reconnect backoff defaults: the first retry comes quickly (an edge restart
// is usually over in a moment), later ones double up to a ceiling so a long
// outage does not turn every open page into a hammer.
const (
	BackoffMin = 500 * time.Millisecond
	BackoffMax = 10 * time.Second
)

// Backoff is a reconnect schedule: BackoffMin doubling to BackoffMax, each
// delay jittered down to between half and all of its nominal value so that
// many widgets cut off by the same outage do not come back in lockstep.
// The zero value is ready to use.
type Backoff struct {
	// Rand returns a number in [0, 1); nil uses math/rand/v2. Tests fix it.
	Rand func() float64

	attempt int
}

// Next returns the delay before the next attempt and counts the attempt.
func (b *Backoff) Next() time.Duration {
	d := b.Nominal()
	b.attempt++
	r := rand.Float64
	if b.Rand != nil {
		r = b.Rand
	}
	return d/2 + time.Duration(r()*float64(d/2))
}

// Nominal returns the un-jittered delay of the next attempt.
func (b *Backoff) Nominal() time.Duration {
	d := BackoffMin
	for i := 0; i < b.attempt && d < BackoffMax; i++ {
		d *= 2
	}
	return min(d, BackoffMax)
}

// Reset starts the schedule over; call it once a connection is welcomed.
func (b *Backoff) Reset() { b.attempt = 0 }
