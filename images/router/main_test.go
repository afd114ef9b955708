package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"exchange-platform/images/testapp"
)

func get(t *testing.T, handler http.Handler, target string, header http.Header) (*http.Response, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for name, values := range header {
		req.Header[name] = values
	}
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("GET %s: body %q is not JSON: %v", target, rec.Body.String(), err)
	}
	return rec.Result(), body
}

func TestEchoReportsPathAndPodButNoCredentials(t *testing.T) {
	app := &router{pod: "exchange-router-abc"}
	resp, body := get(t, app.routes(), "/api/v1/orders?side=buy", http.Header{
		"Authorization":      {"Bearer secret-token"},
		"X-Forwarded-Prefix": {"/backend"},
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if body["path"] != "/api/v1/orders" || body["query"] != "side=buy" || body["pod"] != "exchange-router-abc" {
		t.Errorf("echo = %v", body)
	}
	headers := body["headers"].(map[string]any)
	if headers["X-Forwarded-Prefix"] != "/backend" || headers["Authorization"] != "(redacted)" {
		t.Errorf("headers = %v: want the prefix header and no credential", headers)
	}
}

func TestDepsWithoutConnectionStringsIsUnavailable(t *testing.T) {
	app := &router{pod: "p"}
	resp, body := get(t, app.routes(), "/deps", nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", resp.StatusCode)
	}
	for _, dep := range []string{"postgres", "redis"} {
		result := body[dep].(map[string]any)
		if result["ok"] != false || !strings.Contains(result["error"].(string), "is not set") {
			t.Errorf("%s = %v, want a not-set error", dep, result)
		}
	}
}

func TestDepsReportsAnUnreachableServer(t *testing.T) {
	// A port nothing listens on: a closed listener's address.
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()
	app := &router{pod: "p", databaseURL: "postgresql://u:pw@" + addr + "/db", redisURL: "redis://" + addr}
	resp, body := get(t, app.routes(), "/deps", nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", resp.StatusCode)
	}
	for _, dep := range []string{"postgres", "redis"} {
		if result := body[dep].(map[string]any); result["ok"] != false || result["error"] == "" {
			t.Errorf("%s = %v, want an error", dep, result)
		}
	}
	if strings.Contains(body["postgres"].(map[string]any)["error"].(string), "pw") {
		t.Error("the error shows the password")
	}
}

// The rolling-update contract: once SIGTERM's shutdown begins, /health fails while requests are
// still answered (with Connection: close), and a request in flight when the server stops
// accepting still gets its full answer.
func TestShutdownFailsReadinessAndFinishesRequestsInFlight(t *testing.T) {
	app := &router{pod: "p"}
	started, release := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("/", app.routes())
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "finished")
	})
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: app.track(mux)}
	go srv.Serve(listener)
	base := "http://" + listener.Addr().String()

	slow := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			slow <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		slow <- string(data)
	}()
	<-started

	app.shuttingDown.Store(true)
	resp, err := http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !resp.Close {
		t.Errorf("/health during shutdown: %d, connection close %v; want 503 and close", resp.StatusCode, resp.Close)
	}

	stopped := make(chan error, 1)
	go func() { stopped <- testapp.Shutdown([]*http.Server{srv}, 5*time.Second) }()
	time.Sleep(100 * time.Millisecond) // Shutdown has closed the listener by now
	if conn, err := net.DialTimeout("tcp", listener.Addr().String(), time.Second); err == nil {
		conn.Close()
		t.Error("a new connection was accepted after shutdown began")
	}
	close(release)
	if got := <-slow; got != "finished" {
		t.Errorf("request in flight got %q, want its answer", got)
	}
	if err := <-stopped; err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

func TestMetricsCountRequestsByCodeFromZero(t *testing.T) {
	app := &router{pod: "p", started: time.Unix(1700000000, 250_000_000)}
	metrics := func() string {
		rec := httptest.NewRecorder()
		app.metricsRoutes().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return rec.Body.String()
	}
	before := metrics()
	for _, want := range []string{`router_requests_total{code="200"} 0`, `router_requests_total{code="500"} 0`, "process_start_time_seconds 1700000000.250\n"} {
		if !strings.Contains(before, want) {
			t.Errorf("metrics before any request:\n%s\nwant %s", before, want)
		}
	}
	for range 3 {
		get(t, app.routes(), "/anything", nil)
	}
	resp, body := get(t, app.routes(), "/fail", nil)
	if resp.StatusCode != http.StatusInternalServerError || body["pod"] != "p" {
		t.Errorf("/fail: status %d, body %v; want 500 naming the pod", resp.StatusCode, body)
	}
	get(t, app.routes(), "/work?ms=x", nil)
	after := metrics()
	for _, want := range []string{`router_requests_total{code="200"} 3`, `router_requests_total{code="400"} 1`, `router_requests_total{code="500"} 1`} {
		if !strings.Contains(after, want) {
			t.Errorf("metrics:\n%s\nwant %s", after, want)
		}
	}
	if strings.Contains(after, "pod=") {
		t.Errorf("metrics:\n%s\nwant no pod label (Prometheus adds it)", after)
	}
}

func TestWorkSpendsTheAskedTimeAndRefusesTooMuch(t *testing.T) {
	app := &router{pod: "p"}
	start := time.Now()
	resp, body := get(t, app.routes(), "/work?ms=50", nil)
	if resp.StatusCode != http.StatusOK || body["ms"] != float64(50) || body["spins"].(float64) <= 0 {
		t.Fatalf("status %d, body %v", resp.StatusCode, body)
	}
	if elapsed := time.Since(start); elapsed < 50*time.Millisecond {
		t.Errorf("answered after %v: the 50 ms of work were not done", elapsed)
	}
	for _, query := range []string{"ms=1001", "ms=-1", "ms=x", ""} {
		if resp, _ := get(t, app.routes(), "/work?"+query, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("/work?%s: status %d, want 400", query, resp.StatusCode)
		}
	}
}
