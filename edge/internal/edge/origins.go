package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Limits of the origin reports.
const (
	// originsPerSite bounds the origins one report carries for a site
	// (the backend keeps 50 an account).
	originsPerSite = 50
	// originSites bounds the sites one report carries.
	originSites = 2000
)

// originLog collects the Origin of each page whose widget fetched a
// site's config, and reports them to the backend
// (POST /internal/origins-seen) at most every Settings.OriginReportEvery,
// so an owner's install page can say where the tag is live. Memory is
// bounded; what does not fit waits for the next report or is dropped.
type originLog struct {
	backend, secret string
	client          *http.Client
	every           time.Duration

	mu      sync.Mutex
	pending map[string]map[string]time.Time // site → origin → last seen
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

func newOriginLog(backendURL, secret string, s Settings) *originLog {
	return &originLog{backend: strings.TrimRight(backendURL, "/"), secret: secret,
		client: &http.Client{Timeout: s.ConfigFetchTimeout, Transport: s.transport()}, every: s.OriginReportEvery,
		pending: map[string]map[string]time.Time{}, stop: make(chan struct{}), done: make(chan struct{})}
}

// record notes that a page of origin loaded site's widget now.
func (l *originLog) record(site, origin string) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.pending[site]
	if m == nil {
		if len(l.pending) >= originSites {
			return
		}
		m = map[string]time.Time{}
		l.pending[site] = m
	}
	if _, ok := m[origin]; ok || len(m) < originsPerSite {
		m[origin] = now
	}
}

// run reports until close.
func (l *originLog) run() {
	defer close(l.done)
	t := time.NewTicker(l.every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			l.report() // what is pending goes out before the edge stops
			return
		case <-t.C:
			l.report()
		}
	}
}

func (l *originLog) close() {
	l.once.Do(func() { close(l.stop) })
	<-l.done
}

// report sends what is pending; on failure it is kept for the next one.
func (l *originLog) report() {
	l.mu.Lock()
	batch := l.pending
	l.pending = map[string]map[string]time.Time{}
	l.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	type seen struct {
		Site   string    `json:"site"`
		Origin string    `json:"origin"`
		At     time.Time `json:"at"`
	}
	var out []seen
	for site, m := range batch {
		for o, at := range m {
			out = append(out, seen{site, o, at})
		}
	}
	if err := l.send(out); err != nil {
		slog.Warn("edge: reporting page origins", "err", err)
		l.mu.Lock()
		for site, m := range batch {
			for o, at := range m {
				l.recordAtLocked(site, o, at)
			}
		}
		l.mu.Unlock()
	}
}

func (l *originLog) recordAtLocked(site, origin string, at time.Time) {
	m := l.pending[site]
	if m == nil {
		if len(l.pending) >= originSites {
			return
		}
		m = map[string]time.Time{}
		l.pending[site] = m
	}
	if prev, ok := m[origin]; ok {
		if at.After(prev) {
			m[origin] = at
		}
	} else if len(m) < originsPerSite {
		m[origin] = at
	}
}

func (l *originLog) send(seen any) error {
	b, err := json.Marshal(map[string]any{"seen": seen})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.backend+"/internal/origins-seen", bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+l.secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("backend answered %s", resp.Status)
	}
	return nil
}
