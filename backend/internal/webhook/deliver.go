package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Client is the HTTP client of signed calls: bounded in time, and never
// redirected (a receiver answers; it does not send the call elsewhere).
func Client(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Result is how one call went.
type Result struct {
	Status    int   // the receiver's HTTP status; 0 without an answer
	Err       error // nil: delivered
	Permanent bool  // the receiver refused it for good: do not retry
}

// Post makes one signed POST of a JSON body to url, with extra headers, and
// judges the answer: a 2xx is delivered, a 4xx other than 408 and 429 is
// a permanent refusal, anything else (no answer included) is retried.
func Post(ctx context.Context, client *http.Client, url, secret string, hdr http.Header, body []byte) Result {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Result{Err: err, Permanent: true}
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	SetHeaders(req.Header, secret, time.Now(), body)
	res, err := client.Do(req)
	if err != nil {
		return Result{Err: err}
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		return Result{Status: res.StatusCode}
	case res.StatusCode >= 400 && res.StatusCode < 500 && res.StatusCode != http.StatusRequestTimeout && res.StatusCode != http.StatusTooManyRequests:
		return Result{Status: res.StatusCode, Err: fmt.Errorf("the receiver refused the call: %s", res.Status), Permanent: true}
	}
	return Result{Status: res.StatusCode, Err: fmt.Errorf("the receiver answered %s", res.Status)}
}

// Backoff is the wait before attempt n+1: exponential from least, capped
// at most, jittered into its upper half so retries of a burst spread out.
func Backoff(least, most time.Duration, attempts int) time.Duration {
	d := min(least<<min(max(attempts-1, 0), 16), most)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// Poll calls once every period, and again at once while it handles a full
// batch, until the returned stop is called; stop waits for a running call.
// once gets a context that the stop does not cancel mid-batch; its errors go
// to failed.
func Poll(every time.Duration, batch int, once func(context.Context) (int, error), failed func(error)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			for {
				n, err := once(context.WithoutCancel(ctx))
				if err != nil {
					failed(err)
				}
				if err != nil || n < batch || ctx.Err() != nil {
					break
				}
			}
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}

// Queue shapes a job that makes due calls from a queue in the database;
// zero values take the defaults.
type Queue struct {
	// RetryMin and RetryMax bound the backoff between attempts
	// (defaults 5s and 10m).
	RetryMin, RetryMax time.Duration
	PollEvery          time.Duration // how often due calls are looked for (default 1s)
	Batch              int           // calls claimed at once (default 20)
	Timeout            time.Duration // one call's time limit (default 10s)
}

// Queue defaults.
const (
	DefaultRetryMin = 5 * time.Second
	DefaultRetryMax = 10 * time.Minute
)

// WithDefaults fills in zero values.
func (q Queue) WithDefaults() Queue {
	if q.RetryMin <= 0 {
		q.RetryMin = DefaultRetryMin
	}
	if q.RetryMax < q.RetryMin {
		q.RetryMax = max(DefaultRetryMax, q.RetryMin)
	}
	if q.PollEvery <= 0 {
		q.PollEvery = time.Second
	}
	if q.Batch <= 0 {
		q.Batch = 20
	}
	if q.Timeout <= 0 {
		q.Timeout = 10 * time.Second
	}
	return q
}

// Backoff is the wait before the attempt after the given number of failed ones.
func (q Queue) Backoff(attempts int) time.Duration { return Backoff(q.RetryMin, q.RetryMax, attempts) }

// Run polls once with the queue's period and batch until the returned
// stop is called (see Poll); errors are logged under name.
func (q Queue) Run(name string, once func(context.Context) (int, error)) (stop func()) {
	return Poll(q.PollEvery, q.Batch, once, func(err error) { slog.Warn(name+": queue", "err", err) })
}
