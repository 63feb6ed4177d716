// Package edge is Parley's public front: it serves the static files and the
// built widget (content-hashed, pre-compressed), caches each site's published
// chatflow config, terminates visitor WebSockets and relays them to the
// backend over a few multiplexed links, and reverse-proxies the inbox, the
// admin API and the backend's static files.
package edge

import (
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/parleychat/parley/internal/localsock"
	"github.com/parleychat/parley/widget"
)

// Settings are every knob of an edge. Zero fields take the defaults of
// DefaultSettings when passed to New.
type Settings struct {
	// BackendURL is where the backend listens (http or https); links dial
	// its ws/wss equivalent at link.Path.
	BackendURL string
	// BackendSocket (BACKEND_SOCKET), when set, is the Unix socket of a
	// backend on this machine: every connection to the backend is made
	// there (localsock), BackendURL still naming it in requests.
	BackendSocket string
	// backendRT carries every request to the backend (set by withDefaults).
	backendRT http.RoundTripper
	// LinkSecret is the bearer secret for the backend's /internal/ endpoints.
	LinkSecret string
	// PublicDir holds the static files (loader.js, CSS, demo pages).
	PublicDir string
	// BuildDir holds the built widget (widget.wasm, wasm_exec.js); may be missing.
	BuildDir string

	// BrotliQuality is the brotli level (0-11) for assets up to
	// BrotliLargeBytes; larger ones use BrotliLargeQuality so start-up stays
	// quick even with a multi-megabyte widget.wasm.
	BrotliQuality      int
	BrotliLargeQuality int
	BrotliLargeBytes   int

	// ConfigTTL is how long a site's config is served from memory before the
	// backend is asked again.
	ConfigTTL time.Duration
	// ConfigNotFoundTTL is how long an unknown site is remembered as unknown,
	// and how long a stale config is served before the backend is retried.
	ConfigNotFoundTTL time.Duration
	// ConfigMaxStale is how long an expired config may still be served while
	// the backend cannot be reached.
	ConfigMaxStale time.Duration
	// ConfigFetchTimeout bounds one backend config request.
	ConfigFetchTimeout time.Duration

	// LinkCount is how many WebSockets the edge keeps open to the backend.
	LinkCount int
	// LinkQueue is how many envelopes may wait for one link's writer.
	LinkQueue int
	// LinkReadLimit is the largest envelope accepted from the backend.
	LinkReadLimit int64
	// LinkPingInterval is how often an idle link is pinged; a link whose
	// ping is not answered within LinkPingTimeout is dropped and redialed.
	LinkPingInterval time.Duration
	LinkPingTimeout  time.Duration
	// LinkBackoffMin and LinkBackoffMax bound the redial delay.
	LinkBackoffMin time.Duration
	LinkBackoffMax time.Duration

	// MaxFrameBytes is the largest visitor frame; bigger closes the socket
	// with 1009.
	MaxFrameBytes int64
	// RateBurst and RatePerSecond are a visitor socket's token bucket: it may
	// send RateBurst frames at once and RatePerSecond frames a second after.
	RateBurst     int
	RatePerSecond float64
	// VisitorQueue is how many backend frames may wait for a slow visitor
	// before its socket is closed with 1013 (it reconnects and catches up).
	VisitorQueue int
	// VisitorPingInterval is how often a visitor socket is pinged at the
	// WebSocket level; an unanswered ping within VisitorPingTimeout closes it.
	VisitorPingInterval time.Duration
	VisitorPingTimeout  time.Duration
	// WriteTimeout bounds one write to a visitor or link socket.
	WriteTimeout time.Duration

	// OriginReportEvery is how often the edge tells the backend which page
	// origins fetched each site's config (the install page's "last seen").
	OriginReportEvery time.Duration

	// TrustedProxies are the addresses of TLS proxies in front of the
	// edge: from them, the visitor's address is taken from
	// X-Forwarded-For (the nearest address no trusted proxy holds).
	// Empty: the connection's own address, whatever headers say.
	TrustedProxies []netip.Prefix
}

// DefaultSettings returns the settings an edge runs with unless told otherwise.
func DefaultSettings() Settings {
	return Settings{
		BackendURL:          "http://127.0.0.1:8081",
		PublicDir:           "public",
		BuildDir:            "build",
		BrotliQuality:       11,
		BrotliLargeQuality:  9,
		BrotliLargeBytes:    512 << 10,
		ConfigTTL:           10 * time.Second,
		ConfigNotFoundTTL:   5 * time.Second,
		ConfigMaxStale:      24 * time.Hour,
		ConfigFetchTimeout:  3 * time.Second,
		LinkCount:           2,
		LinkQueue:           1024,
		LinkReadLimit:       1 << 20,
		LinkPingInterval:    15 * time.Second,
		LinkPingTimeout:     10 * time.Second,
		LinkBackoffMin:      100 * time.Millisecond,
		LinkBackoffMax:      5 * time.Second,
		MaxFrameBytes:       widget.MaxFrameBytes,
		RateBurst:           30,
		RatePerSecond:       5,
		VisitorQueue:        256,
		VisitorPingInterval: 30 * time.Second,
		VisitorPingTimeout:  15 * time.Second,
		WriteTimeout:        10 * time.Second,
		OriginReportEvery:   5 * time.Second,
	}
}

// SettingsFromEnv returns DefaultSettings overridden by the environment:
// BACKEND_URL, BACKEND_SOCKET, LINK_SECRET, PUBLIC_DIR, BUILD_DIR, EDGE_LINKS (link count),
// EDGE_CONFIG_TTL (a Go duration), EDGE_RATE_BURST and EDGE_RATE_PER_SECOND.
func SettingsFromEnv() Settings {
	s := DefaultSettings()
	str := func(name string, dst *string) {
		if v := os.Getenv(name); v != "" {
			*dst = v
		}
	}
	str("BACKEND_URL", &s.BackendURL)
	str("BACKEND_SOCKET", &s.BackendSocket)
	str("LINK_SECRET", &s.LinkSecret)
	str("PUBLIC_DIR", &s.PublicDir)
	str("BUILD_DIR", &s.BuildDir)
	if n, err := strconv.Atoi(os.Getenv("EDGE_LINKS")); err == nil && n > 0 {
		s.LinkCount = n
	}
	if d, err := time.ParseDuration(os.Getenv("EDGE_CONFIG_TTL")); err == nil && d > 0 {
		s.ConfigTTL = d
	}
	if n, err := strconv.Atoi(os.Getenv("EDGE_RATE_BURST")); err == nil && n > 0 {
		s.RateBurst = n
	}
	if f, err := strconv.ParseFloat(os.Getenv("EDGE_RATE_PER_SECOND"), 64); err == nil && f > 0 {
		s.RatePerSecond = f
	}
	if v := os.Getenv("EDGE_TRUSTED_PROXIES"); v != "" {
		p, err := ParsePrefixes(v)
		if err != nil {
			slog.Error("EDGE_TRUSTED_PROXIES ignored", "err", err)
		}
		s.TrustedProxies = p
	}
	return s
}

// withDefaults fills zero fields from DefaultSettings.
func (s Settings) withDefaults() Settings {
	d := DefaultSettings()
	def := func(v *string, dv string) {
		if *v == "" {
			*v = dv
		}
	}
	def(&s.BackendURL, d.BackendURL)
	s.backendRT = s.transport() // one pool of connections for the whole edge
	def(&s.PublicDir, d.PublicDir)
	def(&s.BuildDir, d.BuildDir)
	defInt := func(v *int, dv int) {
		if *v <= 0 {
			*v = dv
		}
	}
	defInt(&s.BrotliQuality, d.BrotliQuality)
	defInt(&s.BrotliLargeQuality, d.BrotliLargeQuality)
	defInt(&s.BrotliLargeBytes, d.BrotliLargeBytes)
	defInt(&s.LinkCount, d.LinkCount)
	defInt(&s.LinkQueue, d.LinkQueue)
	defInt(&s.RateBurst, d.RateBurst)
	defInt(&s.VisitorQueue, d.VisitorQueue)
	defDur := func(v *time.Duration, dv time.Duration) {
		if *v <= 0 {
			*v = dv
		}
	}
	defDur(&s.ConfigTTL, d.ConfigTTL)
	defDur(&s.ConfigNotFoundTTL, d.ConfigNotFoundTTL)
	defDur(&s.ConfigMaxStale, d.ConfigMaxStale)
	defDur(&s.ConfigFetchTimeout, d.ConfigFetchTimeout)
	defDur(&s.LinkPingInterval, d.LinkPingInterval)
	defDur(&s.LinkPingTimeout, d.LinkPingTimeout)
	defDur(&s.LinkBackoffMin, d.LinkBackoffMin)
	defDur(&s.LinkBackoffMax, d.LinkBackoffMax)
	defDur(&s.VisitorPingInterval, d.VisitorPingInterval)
	defDur(&s.VisitorPingTimeout, d.VisitorPingTimeout)
	defDur(&s.WriteTimeout, d.WriteTimeout)
	defDur(&s.OriginReportEvery, d.OriginReportEvery)
	if s.LinkReadLimit <= 0 {
		s.LinkReadLimit = d.LinkReadLimit
	}
	if s.MaxFrameBytes <= 0 {
		s.MaxFrameBytes = d.MaxFrameBytes
	}
	if s.RatePerSecond <= 0 {
		s.RatePerSecond = d.RatePerSecond
	}
	return s
}

// transport is what carries requests to the backend: over BackendSocket
// when set, else over TCP to BackendURL's host.
func (s Settings) transport() http.RoundTripper {
	switch {
	case s.backendRT != nil:
		return s.backendRT
	case s.BackendSocket != "":
		return localsock.Transport(s.BackendSocket)
	}
	return http.DefaultTransport
}
