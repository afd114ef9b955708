// Command ws-stream stands in for the platform's WebSocket stream in the local stack's
// end-to-end tests.
//
// Serving (no arguments), on PORT (the image sets it: images/images.json, the "http" port):
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
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"exchange-platform/images/testapp"
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
	port, err := testapp.RequiredEnv("PORT")
	if err != nil {
		return err
	}
	app := newStream(testapp.PodName())
	lifecycle := testapp.Lifecycle{
		Name: "ws-stream", Pod: app.pod, ShuttingDown: &app.shuttingDown, ShutdownTimeout: 10 * time.Second,
		// Shutdown does not wait for hijacked (WebSocket) connections: close them here.
		AfterShutdown: app.closeAll,
	}
	return lifecycle.Serve(testapp.NewServer(port, app.routes()))
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
			testapp.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting down", "pod": s.pod})
			return
		}
		testapp.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "pod": s.pod})
	})
	mux.HandleFunc("/", s.connect)
	return mux
}

func (s *stream) connect(w http.ResponseWriter, r *http.Request) {
	if !isUpgrade(r) {
		testapp.WriteJSON(w, http.StatusOK, map[string]any{"pod": s.pod, "path": r.URL.Path, "websocket": false})
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
