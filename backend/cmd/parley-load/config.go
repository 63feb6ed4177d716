package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type configOpts struct {
	clients int
	each    time.Duration
}

func configFlags(fs *flag.FlagSet) *configOpts {
	o := &configOpts{}
	fs.IntVar(&o.clients, "config-clients", 32, "config: concurrent keep-alive HTTP clients")
	fs.DurationVar(&o.each, "config-for", 5*time.Second, "config: how long each URL is requested")
	return o
}

const targetConfigFrac = 0.8

func runConfig(ctx context.Context, d dirs, o *configOpts) error {
	began := time.Now()
	fmt.Println("== config: published-config requests per second at the edge, against a static file of the same edge")
	sys, err := startSystem(ctx, d)
	if err != nil {
		return err
	}
	defer sys.close()
	fmt.Println("   database:", sys.describeDatabase(ctx))
	be, err := sys.startBackend(ctx)
	if err != nil {
		return err
	}
	// The edge reaches the backend through a counting proxy: every config
	// fetch that could cost a database query is seen on the wire.
	target, _ := url.Parse(be.url)
	var fetches atomic.Int64
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/internal/sites/") && strings.HasSuffix(r.URL.Path, "/config") {
			fetches.Add(1)
		}
		rp.ServeHTTP(w, r)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go proxy.Serve(ln)
	defer proxy.Close()
	edge, err := sys.startEdge(ctx, "http://"+ln.Addr().String())
	if err != nil {
		return err
	}

	configURL := edge.url + "/v1/sites/" + sys.demo.Site + "/config"
	staticURL := edge.url + "/loader.js"
	// Warm both (the config's first request fetches it), then measure each.
	for _, u := range []string{configURL, staticURL} {
		if _, _, err := hammer(ctx, u, o.clients, time.Second); err != nil {
			return err
		}
	}
	f0 := fetches.Load()
	cfgRPS, cfgN, err := hammer(ctx, configURL, o.clients, o.each)
	if err != nil {
		return err
	}
	cfgFetches := fetches.Load() - f0
	staticRPS, _, err := hammer(ctx, staticURL, o.clients, o.each)
	if err != nil {
		return err
	}
	frac := cfgRPS / staticRPS
	fmt.Printf("   %d keep-alive clients, %v per URL, Accept-Encoding: gzip, deflate, br (as a browser)\n", o.clients, o.each)
	fmt.Printf("   GET /v1/sites/%s/config: %.0f req/s; GET /loader.js: %.0f req/s; ratio %.2f; target ≥ %.1f: %s\n",
		sys.demo.Site, cfgRPS, staticRPS, frac, targetConfigFrac, verdict(frac >= targetConfigFrac))
	fmt.Printf("   backend config fetches during the %d config requests: %d (the edge caches each site's config for EDGE_CONFIG_TTL, 10s by default): no database query per request\n",
		cfgN, cfgFetches)
	fmt.Printf("   (config step took %s)\n", since(began))
	return nil
}

// hammer requests u from n keep-alive clients for d and returns requests
// per second and the number of requests. Any answer but 200 is an error.
func hammer(ctx context.Context, u string, n int, d time.Duration) (float64, int64, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var count atomic.Int64
	var firstErr error
	var once sync.Once
	hctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for hctx.Err() == nil {
				req, _ := http.NewRequestWithContext(hctx, http.MethodGet, u, nil)
				req.Header.Set("Accept-Encoding", "gzip, deflate, br")
				res, err := client.Do(req)
				if err != nil {
					if hctx.Err() == nil {
						once.Do(func() { firstErr = err })
					}
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					once.Do(func() { firstErr = fmt.Errorf("GET %s: %s", u, res.Status) })
					return
				}
				count.Add(1)
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	return float64(count.Load()) / secs, count.Load(), firstErr
}
