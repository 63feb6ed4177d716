package events

import "time"

// Pacer spaces the re-reads a subscriber does after Missed: the first at
// once, then at most one per Every, whatever was missed meanwhile. A burst
// can overflow a subscription again and again, and re-reading on every
// overflow makes each re-read the cause of the next. One loop owns a
// Pacer; it is not safe for concurrent use.
type Pacer struct {
	Every time.Duration
	last  time.Time
	timer *time.Timer
}

// Now reports whether the re-read is to run now (it then counts as done);
// otherwise one is pending and C fires when it is due.
func (p *Pacer) Now() bool {
	if p.timer != nil {
		return false
	}
	wait := time.Until(p.last.Add(p.Every))
	if wait <= 0 {
		p.last = time.Now()
		return true
	}
	p.timer = time.NewTimer(wait)
	return false
}

// C fires when the pending re-read is due; with none pending it is nil
// (a select never picks it). After it fires, call Fired and re-read.
func (p *Pacer) C() <-chan time.Time {
	if p.timer == nil {
		return nil
	}
	return p.timer.C
}

// Fired records that the pending re-read runs now.
func (p *Pacer) Fired() {
	p.timer, p.last = nil, time.Now()
}

// Stop drops a pending re-read.
func (p *Pacer) Stop() {
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
}
