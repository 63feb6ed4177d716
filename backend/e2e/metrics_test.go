package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/parleychat/parley/backend/cmd/parley-load/chatsim"
	"github.com/parleychat/parley/backend/internal/pgcluster"
)

// scrape fetches url and parses it with Prometheus's own text parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("%s does not parse: %v", url, err)
	}
	return mfs
}

// value sums a counter's or gauge's series (those whose labels include match).
func value(mfs map[string]*dto.MetricFamily, name string, match ...string) float64 {
	var sum float64
	mf := mfs[name]
	if mf == nil {
		return -1
	}
	for _, m := range mf.Metric {
		if !hasLabels(m, match...) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, match ...string) bool {
	for i := 0; i+1 < len(match); i += 2 {
		found := false
		for _, l := range m.Label {
			if l.GetName() == match[i] && l.GetValue() == match[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func status(t *testing.T, url string) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// TestMetricsAfterAChat scrapes both services' /metrics, on their own
// addresses, around a chat: the message counter moved, the histograms have
// samples, sockets and links are counted, requests by route pattern. The
// public addresses do not serve /metrics. A REST request's id is in the
// edge's and the backend's JSON logs.
func TestMetricsAfterAChat(t *testing.T) {
	bp, _ := pgcluster.FreePort()
	ep, _ := pgcluster.FreePort()
	backendMetrics, edgeMetrics := fmt.Sprintf("http://127.0.0.1:%d", bp), fmt.Sprintf("http://127.0.0.1:%d", ep)
	s := StartCluster(t, ClusterOptions{Env: []string{
		fmt.Sprintf("BACKEND_METRICS_ADDR=127.0.0.1:%d", bp), fmt.Sprintf("EDGE_METRICS_ADDR=127.0.0.1:%d", ep), "LOG_FORMAT=json"}})
	edge, backend := s.Edges[0], s.Backends[0]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	for _, u := range []string{edge.URL + "/metrics", backend.URL + "/metrics"} {
		if code := status(t, u); code != http.StatusNotFound {
			t.Errorf("GET %s on the public address: %d, want 404", u, code)
		}
	}
	for _, u := range []string{edge.URL + "/readyz", backend.URL + "/readyz", edgeMetrics + "/readyz", backendMetrics + "/readyz"} {
		waitFor(t, u+" ready", 10*time.Second, func() bool { return status(t, u) == 200 })
	}
	before := scrape(t, backendMetrics+"/metrics")

	agent, err := chatsim.SignIn(ctx, edge.URL, s.Demo.AgentEmail, s.Demo.AgentPass)
	if err != nil {
		t.Fatal(err)
	}
	v := chatsim.NewVisitor(chatsim.VisitorConfig{Edge: edge.URL, Site: s.Demo.Site, Chatflow: s.Demo.ChatflowID, IDPrefix: "m"})
	vctx, vstop := context.WithCancel(ctx)
	vdone := make(chan struct{})
	go func() { defer close(vdone); v.Run(vctx) }()
	defer func() { vstop(); <-vdone }()
	waitFor(t, "the visitor's welcome", 10*time.Second, v.Connected)
	for i := range 3 {
		v.Send(ctx, fmt.Sprintf("question %d", i))
	}
	waitFor(t, "the messages stored", 10*time.Second, func() bool { return v.Unsent() == 0 && v.Conversation() != "" })
	var conv int64
	if err := s.DB.Get(&conv, `SELECT id FROM conversations WHERE public_id = $1`, v.Conversation()); err != nil {
		t.Fatal(err)
	}
	if _, err := agent.Reply(ctx, conv, "r1", "an answer"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reply at the visitor", 10*time.Second, func() bool { return len(v.Entries()) == 4 })

	b := scrape(t, backendMetrics+"/metrics")
	if moved := value(b, "parley_backend_messages_stored_total") - value(before, "parley_backend_messages_stored_total"); moved != 4 {
		t.Errorf("messages stored moved by %v, want 4", moved)
	}
	for _, h := range []string{"parley_backend_append_duration_seconds", "parley_backend_http_request_duration_seconds"} {
		if n := value(b, h); n <= 0 {
			t.Errorf("histogram %s has %v samples", h, n)
		}
	}
	if n := value(b, "parley_backend_http_requests_total", "route", "/inbox/conversations/:id/messages", "method", "POST", "status", "200"); n != 1 {
		t.Errorf("the reply's request by route pattern: %v", n)
	}
	for name, want := range map[string]float64{"parley_backend_links": 2, "parley_backend_visitor_sessions": 1} {
		if got := value(b, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if value(b, "go_sql_max_open_connections", "db_name", "parley") <= 0 || value(b, "go_sql_wait_count_total") < 0 || value(b, "go_sql_in_use_connections") < 0 {
		t.Error("no database pool metrics")
	}
	e := scrape(t, edgeMetrics+"/metrics")
	for name, want := range map[string]float64{"parley_edge_visitor_sockets": 1, "parley_edge_links": 2} {
		if got := value(e, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if in, out := value(e, "parley_edge_visitor_frames_in_total"), value(e, "parley_edge_visitor_frames_out_total"); in < 4 || out < 5 {
		t.Errorf("frames in %v, out %v", in, out)
	}
	for _, name := range []string{"parley_edge_http_request_duration_seconds", "parley_edge_link_queue_depth", "parley_edge_link_reconnects_total",
		"parley_edge_config_cache_hits_total", "parley_edge_rate_limited_total"} {
		if value(e, name) < 0 {
			t.Errorf("edge metric %s missing", name)
		}
	}
	for _, l := range e["parley_edge_http_requests_total"].Metric {
		for _, lp := range l.Label {
			if lp.GetName() == "route" && strings.Contains(lp.GetValue(), "demo") {
				t.Errorf("a raw path as a route label: %q", lp.GetValue())
			}
		}
	}

	// One request id in both services' logs.
	req, _ := http.NewRequest("GET", edge.URL+"/api/v1/account", nil)
	req.Header.Set("Authorization", "Bearer "+s.Demo.APIKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	id := res.Header.Get("X-Request-Id")
	if res.StatusCode != 200 || id == "" {
		t.Fatalf("GET /api/v1/account: %d, request id %q", res.StatusCode, id)
	}
	logged := func(n *Node) map[string]any {
		for _, line := range lines(n.Log()) {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["request_id"] == id {
				return rec
			}
		}
		return nil
	}
	waitFor(t, "the request id in the backend's log", 5*time.Second, func() bool { return logged(backend) != nil })
	waitFor(t, "the request id in the edge's log", 5*time.Second, func() bool { return logged(edge) != nil })
	if rec := logged(backend); rec["route"] != "/api/v1/account" || rec["status"] != float64(200) {
		t.Errorf("backend's log line: %v", rec)
	}
}

func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
