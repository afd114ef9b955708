package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestHelloThenEcho(t *testing.T) {
	app := newStream("exchange-ws-stream-abc")
	srv := httptest.NewServer(app.routes())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	_, hello, err := conn.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var first map[string]string
	if err := json.Unmarshal(hello, &first); err != nil || first["type"] != "hello" || first["pod"] != "exchange-ws-stream-abc" || first["path"] != "/ws" {
		t.Errorf("first message %s (%v), want a hello with the pod and path", hello, err)
	}
	for _, message := range []string{"one", "two"} {
		if err := conn.Write(ctx, websocket.MessageText, []byte(message)); err != nil {
			t.Fatal(err)
		}
		if _, echo, err := conn.Read(ctx); err != nil || string(echo) != message {
			t.Errorf("echo of %q: %q, %v", message, echo, err)
		}
	}
}

func TestPlainRequestsAnswerWithThePod(t *testing.T) {
	app := newStream("p")
	rec := httptest.NewRecorder()
	app.routes().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/anything", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"pod":"p"`) {
		t.Errorf("GET /anything: %d %s", rec.Code, rec.Body.String())
	}
	app.shuttingDown.Store(true)
	rec = httptest.NewRecorder()
	app.routes().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("/health during shutdown: %d, want 503", rec.Code)
	}
}

func TestShutdownClosesSocketsGoingAway(t *testing.T) {
	app := newStream("p")
	srv := httptest.NewServer(app.routes())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if _, _, err := conn.Read(ctx); err != nil { // the hello
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() { app.closeAll(); close(closed) }()
	_, _, err = conn.Read(ctx)
	var closeErr websocket.CloseError
	if !errors.As(err, &closeErr) || closeErr.Code != websocket.StatusGoingAway {
		t.Errorf("read after shutdown: %v, want close status 1001", err)
	}
	<-closed
}
