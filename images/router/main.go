// Command router stands in for the platform's HTTP API in the local stack's end-to-end tests.
//
// Serving (no arguments), on PORT (the image sets it: images/images.json, the "http" port):
//
//	GET  /health  200 {"status":"ok"}; 503 once shutdown has begun
//	GET  /deps    opens DATABASE_URL (SELECT 1) and REDIS_URL (PING); 200 when both answer, else 503
//	POST /rows    inserts a row into a table of its own; GET /rows counts them (data-survival test)
//	GET  /work?ms=N  keeps one CPU busy for N ms (at most 1000) and answers: the load under which
//	              the autoscaling drill makes the HPA scale (a real API's request costs CPU too)
//	GET  /fail    500 {"error":...,"pod":...}: a server error on request, which the monitoring
//	              suite sends to provoke the 5xx-ratio alert (a real API fails on its own)
//	any other     echoes the request as JSON: path, pod, method, host, query, remote address...
//
// and, when METRICS_PORT is set, GET /metrics there in the Prometheus text format: requests
// answered by status code (router_requests_total{code}), requests in flight, whether shutdown has
// begun, and process_start_time_seconds. No pod label: Prometheus adds the pod, namespace and
// Service from its service discovery (monitoring/prometheus.yml), and a label of the app's own by
// that name would collide with them.
//
// On SIGTERM it turns /health to 503 and keeps serving for SHUTDOWN_DRAIN_SECONDS (default 5,
// the time the cluster needs to take the pod out of its Services), then stops accepting
// connections, finishes the requests in flight and exits 0: a rolling update loses none.
//
// Client mode, for tests run inside the cluster with `kubectl exec` (the image has no shell):
//
//	router get URL          GET URL, print the body; exit 1 unless 2xx
//	router post URL         POST URL (empty body), likewise
//	router resolve NAME     print NAME's addresses; exit 1 if it does not resolve
//	router tcp HOST:PORT    open a TCP connection; exit 1 if it fails
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"exchange-platform/images/testapp"
)

// Bounds every dependency check and client-mode call: a test never waits longer than this.
const dependencyTimeout = 5 * time.Second

func main() {
	if len(os.Args) > 1 {
		if err := runClient(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "router:", err)
			os.Exit(1)
		}
		return
	}
	if err := serve(); err != nil {
		fmt.Fprintln(os.Stderr, "router:", err)
		os.Exit(1)
	}
}

func serve() error {
	port, err := testapp.RequiredEnv("PORT")
	if err != nil {
		return err
	}
	app := &router{pod: testapp.PodName(), started: time.Now(), databaseURL: os.Getenv("DATABASE_URL"), redisURL: os.Getenv("REDIS_URL")}
	servers := []*http.Server{testapp.NewServer(port, app.routes())}
	if metricsPort := os.Getenv("METRICS_PORT"); metricsPort != "" {
		servers = append(servers, testapp.NewServer(metricsPort, app.metricsRoutes()))
	}
	lifecycle := testapp.Lifecycle{Name: "router", Pod: app.pod, ShuttingDown: &app.shuttingDown, ShutdownTimeout: 20 * time.Second}
	return lifecycle.Serve(servers...)
}

type router struct {
	pod                   string
	started               time.Time
	databaseURL, redisURL string
	shuttingDown          atomic.Bool
	inFlight              atomic.Int64
	requests              requestCounter
}

// The status codes the router's own handlers answer with. Their counters are exported from the
// start, at 0: a series that appears only with its first request would hide that request from
// rate() and increase(), which need an earlier sample (the first 500s would never alert).
var answeredCodes = []int{http.StatusOK, http.StatusCreated, http.StatusBadRequest, http.StatusInternalServerError, http.StatusServiceUnavailable}

// requestCounter counts answered requests by status code.
type requestCounter struct {
	mu     sync.Mutex
	byCode map[int]int64
}

func (c *requestCounter) add(code int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byCode == nil {
		c.byCode = map[int]int64{}
	}
	c.byCode[code]++
}

// snapshot: every code answered so far and every one of answeredCodes, in order, with its count.
func (c *requestCounter) snapshot() ([]int, map[int]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	counts := map[int]int64{}
	for _, code := range answeredCodes {
		counts[code] = 0
	}
	for code, count := range c.byCode {
		counts[code] = count
	}
	codes := make([]int, 0, len(counts))
	for code := range counts {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	return codes, counts
}

func (a *router) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", a.health)
	mux.HandleFunc("GET /deps", a.deps)
	mux.HandleFunc("POST /rows", a.insertRow)
	mux.HandleFunc("GET /rows", a.countRows)
	mux.HandleFunc("GET /work", a.work)
	mux.HandleFunc("GET /fail", a.fail)
	mux.HandleFunc("/", a.echo)
	return a.track(mux)
}

func (a *router) metricsRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		shuttingDown := 0
		if a.shuttingDown.Load() {
			shuttingDown = 1
		}
		codes, counts := a.requests.snapshot()
		fmt.Fprintln(w, "# HELP router_requests_total Requests answered, by HTTP status code.")
		fmt.Fprintln(w, "# TYPE router_requests_total counter")
		for _, code := range codes {
			fmt.Fprintf(w, "router_requests_total{code=\"%d\"} %d\n", code, counts[code])
		}
		fmt.Fprintf(w, "# TYPE router_requests_in_flight gauge\nrouter_requests_in_flight %d\n", a.inFlight.Load())
		fmt.Fprintf(w, "# TYPE router_shutting_down gauge\nrouter_shutting_down %d\n", shuttingDown)
		fmt.Fprintln(w, "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.")
		fmt.Fprintf(w, "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %.3f\n", float64(a.started.UnixMilli())/1000)
	})
	return mux
}

// track counts requests by the status they were answered with and, once shutdown has begun,
// asks clients not to reuse the connection, so keep-alive clients move to another pod while this
// one still answers.
func (a *router) track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.inFlight.Add(1)
		defer a.inFlight.Add(-1)
		if a.shuttingDown.Load() {
			w.Header().Set("Connection", "close")
		}
		status := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(status, r)
		a.requests.add(status.code)
	})
}

// statusRecorder remembers the status a handler answered with (200 unless it wrote another).
type statusRecorder struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wroteHeader {
		s.code, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection's own writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (a *router) health(w http.ResponseWriter, _ *http.Request) {
	if a.shuttingDown.Load() {
		testapp.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting down", "pod": a.pod})
		return
	}
	testapp.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "pod": a.pod})
}

// Headers whose values are credentials: echoed as present, never by value.
var redactedHeaders = map[string]bool{"Authorization": true, "Cookie": true, "Proxy-Authorization": true}

func (a *router) echo(w http.ResponseWriter, r *http.Request) {
	headers := map[string]string{}
	for name, values := range r.Header {
		if redactedHeaders[name] {
			headers[name] = "(redacted)"
			continue
		}
		headers[name] = values[0]
	}
	testapp.WriteJSON(w, http.StatusOK, map[string]any{
		"path":    r.URL.Path,
		"uri":     r.RequestURI,
		"query":   r.URL.RawQuery,
		"method":  r.Method,
		"host":    r.Host,
		"remote":  r.RemoteAddr,
		"pod":     a.pod,
		"headers": headers,
	})
}

// The longest /work a request may ask for: a client's mistake costs one CPU second, not more.
const maxWork = time.Second

func (a *router) work(w http.ResponseWriter, r *http.Request) {
	ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
	if err != nil || ms < 0 || time.Duration(ms)*time.Millisecond > maxWork {
		testapp.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("ms must be 0 to %d", maxWork.Milliseconds())})
		return
	}
	// Busy, not asleep: the point is CPU time, which the kubelet reports and the HPA reads.
	spins := 0
	for deadline := time.Now().Add(time.Duration(ms) * time.Millisecond); time.Now().Before(deadline); spins++ {
	}
	testapp.WriteJSON(w, http.StatusOK, map[string]any{"pod": a.pod, "ms": ms, "spins": spins})
}

func (a *router) fail(w http.ResponseWriter, _ *http.Request) {
	testapp.WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": "failed on request (GET /fail)", "pod": a.pod})
}

type checkResult struct {
	OK     bool   `json:"ok"`
	Result string `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`
}

func (a *router) deps(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), dependencyTimeout)
	defer cancel()
	postgres, redisResult := make(chan checkResult, 1), make(chan checkResult, 1)
	go func() { postgres <- a.checkPostgres(ctx) }()
	go func() { redisResult <- a.checkRedis(ctx) }()
	result := map[string]any{"pod": a.pod, "postgres": <-postgres, "redis": <-redisResult}
	status := http.StatusOK
	if !result["postgres"].(checkResult).OK || !result["redis"].(checkResult).OK {
		status = http.StatusServiceUnavailable
	}
	testapp.WriteJSON(w, status, result)
}

func (a *router) checkPostgres(ctx context.Context) checkResult {
	conn, err := a.connectPostgres(ctx)
	if err != nil {
		return checkResult{Error: err.Error()}
	}
	defer conn.Close(context.Background())
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return checkResult{Error: "SELECT 1: " + err.Error()}
	}
	return checkResult{OK: true, Result: "SELECT 1 = " + strconv.Itoa(one)}
}

func (a *router) connectPostgres(ctx context.Context) (*pgx.Conn, error) {
	if a.databaseURL == "" {
		return nil, errors.New("DATABASE_URL is not set")
	}
	conn, err := pgx.Connect(ctx, a.databaseURL)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return conn, nil
}

func (a *router) checkRedis(ctx context.Context) checkResult {
	if a.redisURL == "" {
		return checkResult{Error: "REDIS_URL is not set"}
	}
	options, err := redis.ParseURL(a.redisURL)
	if err != nil {
		return checkResult{Error: "REDIS_URL: " + err.Error()}
	}
	client := redis.NewClient(options)
	defer client.Close()
	reply, err := client.Ping(ctx).Result()
	if err != nil {
		return checkResult{Error: "PING: " + err.Error()}
	}
	return checkResult{OK: true, Result: reply}
}

// The table of the data-survival test, created on first use.
const rowsTable = `CREATE TABLE IF NOT EXISTS router_rows (
	id bigserial PRIMARY KEY,
	pod text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now())`

func (a *router) insertRow(w http.ResponseWriter, r *http.Request) {
	var id int64
	a.onRowsTable(w, r, http.StatusCreated, func(ctx context.Context, conn *pgx.Conn) (map[string]any, error) {
		err := conn.QueryRow(ctx, "INSERT INTO router_rows (pod) VALUES ($1) RETURNING id", a.pod).Scan(&id)
		return map[string]any{"id": id, "pod": a.pod}, err
	})
}

func (a *router) countRows(w http.ResponseWriter, r *http.Request) {
	var count, lastID int64
	a.onRowsTable(w, r, http.StatusOK, func(ctx context.Context, conn *pgx.Conn) (map[string]any, error) {
		err := conn.QueryRow(ctx, "SELECT count(*), coalesce(max(id), 0) FROM router_rows").Scan(&count, &lastID)
		return map[string]any{"count": count, "lastId": lastID, "pod": a.pod}, err
	})
}

// onRowsTable runs query on a connection of its own once the table exists, and answers with
// its result and status, 503 when PostgreSQL cannot be reached, 500 when the query fails.
func (a *router) onRowsTable(w http.ResponseWriter, r *http.Request, status int, query func(context.Context, *pgx.Conn) (map[string]any, error)) {
	ctx, cancel := context.WithTimeout(r.Context(), dependencyTimeout)
	defer cancel()
	conn, err := a.connectPostgres(ctx)
	if err != nil {
		testapp.WriteJSON(w, http.StatusServiceUnavailable, checkResult{Error: err.Error()})
		return
	}
	defer conn.Close(context.Background())
	var result map[string]any
	if _, err = conn.Exec(ctx, rowsTable); err == nil {
		result, err = query(ctx, conn)
	}
	if err != nil {
		testapp.WriteJSON(w, http.StatusInternalServerError, checkResult{Error: err.Error()})
		return
	}
	testapp.WriteJSON(w, status, result)
}

func runClient(args []string) error {
	if len(args) != 2 {
		return errors.New("usage: router get URL | post URL | resolve NAME | tcp HOST:PORT")
	}
	ctx, cancel := context.WithTimeout(context.Background(), dependencyTimeout)
	defer cancel()
	switch args[0] {
	case "get", "post":
		req, err := http.NewRequestWithContext(ctx, strings.ToUpper(args[0]), args[1], nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(os.Stdout, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("%s %s: %s", req.Method, args[1], resp.Status)
		}
		return nil
	case "resolve":
		addrs, err := net.DefaultResolver.LookupHost(ctx, args[1])
		if err != nil {
			return err
		}
		for _, addr := range addrs {
			fmt.Println(addr)
		}
		return nil
	case "tcp":
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", args[1])
		if err != nil {
			return err
		}
		fmt.Printf("connected to %s\n", conn.RemoteAddr())
		return conn.Close()
	default:
		return fmt.Errorf("unknown command %q (expected get, post, resolve or tcp)", args[0])
	}
}
