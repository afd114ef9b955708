// Command ws-stream stands in for the platform's WebSocket stream in the local stack's
// end-to-end tests.
//
// Serving (no arguments), on PORT (default 4000):
//
//	GET /health   200 {"status":"ok"}; 503 once shutdown has begun
//	any path      a WebSocket upgrade is accepted: the first message is
//	              {"type":"hello","pod":...,"path":...}, then every message is echoed back;
//	              a plain GET answers {"pod":...,"path":...} (for affinity tests over HTTP)
//
// On SIGTERM it fails /health, keeps serving for SHUTDOWN_DRAIN_SECONDS (default 5), then closes
// every WebSocket with status 1001 (going away) and exits 0.
//
// Client mode, for tests run inside the cluster with `kubectl exec` (the image has no shell):
//
//	ws-stream client URL [MESSAGE]   connect, print the hello, send MESSAGE (default "ping"),
//	                                 check that it comes back; exit 1 otherwise
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// Bounds the client mode: a test never waits longer than this.
const clientTimeout = 5 * time.Second

func main() {
	var err error
	if len(os.Args) > 1 {
		err = runClient(os.Args[1:])
	} else {
		err = serve()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ws-stream:", err)
		os.Exit(1)
	}
}

func serve() error {
	port := os.Getenv("PORT")
	if port == "" {
		port = "4000"
	}
	drain := 5
	if value := os.Getenv("SHUTDOWN_DRAIN_SECONDS"); value != "" {
		var err error
		if drain, err = strconv.Atoi(value); err != nil || drain < 0 {
			return fmt.Errorf("SHUTDOWN_DRAIN_SECONDS=%q: expected a whole number of seconds", value)
		}
	}
	app := newStream(podName())
	srv := &http.Server{Addr: ":" + port, Handler: app.routes(), ReadHeaderTimeout: 10 * time.Second}
	listener, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "ws-stream: pod %s serving on %s\n", app.pod, srv.Addr)
	errs := make(chan error, 1)
	go func() { errs <- srv.Serve(listener) }()

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	select {
	case err := <-errs:
		return err
	case sig := <-signals:
		fmt.Fprintf(os.Stderr, "ws-stream: %s: failing readiness, draining for %d s\n", sig, drain)
	}
	app.shuttingDown.Store(true)
	time.Sleep(time.Duration(drain) * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(ctx)
	// Shutdown does not wait for hijacked (WebSocket) connections: close them here.
	app.closeAll()
	return err
}

type stream struct {
	pod          string
	shuttingDown atomic.Bool
	// Cancelled at shutdown: every open WebSocket then closes with "going away".
	closing context.Context
	close   context.CancelFunc
	open    sync.WaitGroup
}

func newStream(pod string) *stream {
	closing, close := context.WithCancel(context.Background())
	return &stream{pod: pod, closing: closing, close: close}
}

func (s *stream) closeAll() {
	s.close()
	s.open.Wait()
}

func (s *stream) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		if s.shuttingDown.Load() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting down", "pod": s.pod})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "pod": s.pod})
	})
	mux.HandleFunc("/", s.connect)
	return mux
}

func (s *stream) connect(w http.ResponseWriter, r *http.Request) {
	if !isUpgrade(r) {
		writeJSON(w, http.StatusOK, map[string]any{"pod": s.pod, "path": r.URL.Path, "websocket": false})
		return
	}
	// Any origin: clients come through the test's ingress under whatever host it uses.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept has answered the client already
	}
	s.open.Add(1)
	defer s.open.Done()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-s.closing.Done():
			conn.Close(websocket.StatusGoingAway, "server shutting down")
		case <-ctx.Done():
		}
	}()
	hello, _ := json.Marshal(map[string]string{"type": "hello", "pod": s.pod, "path": r.URL.Path})
	if err := conn.Write(ctx, websocket.MessageText, hello); err != nil {
		return
	}
	for {
		kind, message, err := conn.Read(ctx)
		if err != nil {
			return
		}
		if err := conn.Write(ctx, kind, message); err != nil {
			return
		}
	}
}

func isUpgrade(r *http.Request) bool {
	return r.Header.Get("Upgrade") != "" && r.Method == http.MethodGet
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// podName is POD_NAME when the pod spec passes it, else the hostname (the pod's name).
func podName() string {
	if name := os.Getenv("POD_NAME"); name != "" {
		return name
	}
	name, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return name
}

func runClient(args []string) error {
	if len(args) < 2 || len(args) > 3 || args[0] != "client" {
		return errors.New("usage: ws-stream client URL [MESSAGE]")
	}
	message := "ping"
	if len(args) == 3 {
		message = args[2]
	}
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, args[1], nil)
	if err != nil {
		return fmt.Errorf("dial %s: %w", args[1], err)
	}
	defer conn.CloseNow()
	_, hello, err := conn.Read(ctx)
	if err != nil {
		return fmt.Errorf("first message: %w", err)
	}
	fmt.Println(string(hello))
	if err := conn.Write(ctx, websocket.MessageText, []byte(message)); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	_, echo, err := conn.Read(ctx)
	if err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	if string(echo) != message {
		return fmt.Errorf("echo: got %q, sent %q", echo, message)
	}
	fmt.Println(string(echo))
	return conn.Close(websocket.StatusNormalClosure, "")
}
