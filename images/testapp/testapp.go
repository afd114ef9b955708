// Package testapp is what the router and ws-stream test apps share: the pod's name, JSON
// answers, and the life of their HTTP servers (start, then on SIGTERM fail readiness, keep
// serving while the cluster takes the pod out of its Services, and stop without dropping a
// request).
package testapp

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
	"sync/atomic"
	"syscall"
	"time"
)

// EnvOr is the variable's value, or fallback when it is unset or empty.
func EnvOr(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}

// RequiredEnv is the variable's value, or an error when it is unset or empty.
func RequiredEnv(name string) (string, error) {
	if value := os.Getenv(name); value != "" {
		return value, nil
	}
	return "", fmt.Errorf("%s is not set", name)
}

// PodName is POD_NAME when the pod spec passes it, else the hostname (the pod's name).
func PodName() string {
	if name := os.Getenv("POD_NAME"); name != "" {
		return name
	}
	name, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return name
}

// WriteJSON answers with status and body as JSON.
func WriteJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// NewServer serves handler on port, with a bound on how long a client may take to send headers.
func NewServer(port string, handler http.Handler) *http.Server {
	return &http.Server{Addr: ":" + port, Handler: handler, ReadHeaderTimeout: 10 * time.Second}
}

// Lifecycle says how an app's servers run and stop.
type Lifecycle struct {
	// Name prefixes the app's log lines.
	Name string
	Pod  string
	// ShuttingDown is set on SIGTERM; the app's /health answers 503 from then on.
	ShuttingDown *atomic.Bool
	// ShutdownTimeout bounds the wait for requests in flight.
	ShutdownTimeout time.Duration
	// AfterShutdown runs once the servers stopped accepting, e.g. to close hijacked
	// connections, which http.Server.Shutdown does not wait for.
	AfterShutdown func()
}

// Serve runs the servers until one fails or a SIGTERM/SIGINT ends a graceful drain:
// SHUTDOWN_DRAIN_SECONDS (default 5, the time the cluster needs to take the pod out of its
// Services) of serving with readiness failing, then a shutdown that finishes the requests in flight.
func (l Lifecycle) Serve(servers ...*http.Server) error {
	drainValue := EnvOr("SHUTDOWN_DRAIN_SECONDS", "5")
	drain, err := strconv.Atoi(drainValue)
	if err != nil || drain < 0 {
		return fmt.Errorf("SHUTDOWN_DRAIN_SECONDS=%q: expected a whole number of seconds", drainValue)
	}
	errs := make(chan error, len(servers))
	for _, srv := range servers {
		listener, err := net.Listen("tcp", srv.Addr)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%s: pod %s serving on %s\n", l.Name, l.Pod, srv.Addr)
		go func() { errs <- srv.Serve(listener) }()
	}

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	select {
	case err := <-errs:
		return err
	case sig := <-signals:
		fmt.Fprintf(os.Stderr, "%s: %s: failing readiness, draining for %d s\n", l.Name, sig, drain)
	}
	l.ShuttingDown.Store(true)
	time.Sleep(time.Duration(drain) * time.Second)

	err = Shutdown(servers, l.ShutdownTimeout)
	if l.AfterShutdown != nil {
		l.AfterShutdown()
	}
	return err
}

// Shutdown stops the servers accepting connections and waits, at most timeout, for the
// requests in flight to finish.
func Shutdown(servers []*http.Server, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var errs []error
	for _, srv := range servers {
		errs = append(errs, srv.Shutdown(ctx))
	}
	return errors.Join(errs...)
}
