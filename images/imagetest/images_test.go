//go:build imagetest

package imagetest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

func randomPassword(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func TestPauseExitsZeroOnSigterm(t *testing.T) {
	pause := start(t, containerSpec{image: "pause", name: "pause"})
	time.Sleep(time.Second) // running, not exited
	if exited, err := pause.exited(); exited {
		t.Fatalf("pause exited by itself: %v\n%s", err, pause.output())
	}
	if err := pause.stop(t, "TERM"); err != nil {
		t.Errorf("pause on SIGTERM: %v, want exit status 0", err)
	}
}

// postgresSpec is the program's PostgreSQL container (components/postgres.ts): the official
// image's variables, PGDATA a subfolder of the claim, emptyDirs on the socket folder and /tmp.
func postgresSpec(name, password string, data volume, run, tmp volume) containerSpec {
	return containerSpec{
		image: "postgres", name: name,
		env: []string{
			"POSTGRES_USER=exchange", "POSTGRES_PASSWORD=" + password, "POSTGRES_DB=exchange",
			"PGDATA=/var/lib/postgresql/data/pgdata",
		},
		volumes: []volume{data, run, tmp},
	}
}

func waitPostgres(t *testing.T, c *container) {
	t.Helper()
	// The program's readiness probe, verbatim.
	pgIsReady := []string{"sh", "-c", fmt.Sprintf(`exec pg_isready -U "$POSTGRES_USER" -d "$POSTGRES_DB" -h 127.0.0.1 -p %d`, port(t, "postgres", "postgresql"))}
	eventually(t, 3*time.Minute, "PostgreSQL ready (the program's probe)", func() error {
		out, err := c.exec(10*time.Second, nil, pgIsReady...)
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
}

func TestPlatformImages(t *testing.T) {
	pgPassword, redisPassword := randomPassword(t), randomPassword(t)
	postgresGID, redisGID := imageNamed(t, "postgres").User.GID, imageNamed(t, "redis").User.GID
	pgPort, redisPort := port(t, "postgres", "postgresql"), port(t, "redis", "redis")
	routerPort, metricsPort := port(t, "router", "http"), port(t, "router", "metrics")
	routerURL := fmt.Sprintf("http://127.0.0.1:%d", routerPort)
	wsStreamPort, traefikPort := port(t, "ws-stream", "http"), port(t, "traefik", "web")
	pgData := fsGroupVolume(t, postgresGID, "/var/lib/postgresql/data")
	pgRun, pgTmp := emptyDir(t, postgresGID, "/var/run/postgresql"), emptyDir(t, postgresGID, "/tmp")

	postgres := start(t, postgresSpec("postgres-1", pgPassword, pgData, pgRun, pgTmp))
	waitPostgres(t, postgres)

	t.Run("postgres authenticates host connections with the password", func(t *testing.T) {
		conninfo := fmt.Sprintf("host=%s port=%d user=exchange dbname=exchange", serverAddress, pgPort)
		out, err := postgres.exec(10*time.Second, []string{"PGPASSWORD=" + pgPassword}, "psql", "-tA", conninfo, "-c", "SELECT 1")
		if err != nil || strings.TrimSpace(out) != "1" {
			t.Errorf("SELECT 1 with the password: %v: %s", err, out)
		}
		out, err = postgres.exec(10*time.Second, []string{"PGPASSWORD=wrong"}, "psql", "-tA", conninfo, "-c", "SELECT 1")
		if err == nil || !strings.Contains(out, "password authentication failed") {
			t.Errorf("SELECT 1 with a wrong password: %v: %s, want refused", err, out)
		}
	})

	redis := start(t, containerSpec{
		image: "redis", name: "redis",
		// The program's arguments (components/redis.ts), the password expanded by the kubelet.
		args:    []string{"redis-server", "--port", strconv.Itoa(redisPort), "--dir", "/data", "--appendonly", "yes", "--requirepass", redisPassword},
		volumes: []volume{fsGroupVolume(t, redisGID, "/data")},
	})
	// The program's probe, authenticated through REDISCLI_AUTH.
	eventually(t, 30*time.Second, "Redis ready (the program's probe)", func() error {
		out, err := redis.exec(5*time.Second, []string{"REDISCLI_AUTH=" + redisPassword}, "redis-cli", "-p", strconv.Itoa(redisPort), "ping")
		if err != nil || strings.TrimSpace(out) != "PONG" {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})

	t.Run("redis refuses commands without the password and writes its AOF to /data", func(t *testing.T) {
		out, _ := redis.exec(5*time.Second, nil, "redis-cli", "-h", serverAddress, "-p", strconv.Itoa(redisPort), "ping")
		if !strings.Contains(out, "NOAUTH") {
			t.Errorf("PING without the password: %q, want NOAUTH", out)
		}
		out, err := redis.exec(5*time.Second, nil, "ls", "/data/appendonlydir")
		if err != nil || !strings.Contains(out, ".aof") {
			t.Errorf("/data/appendonlydir: %v: %q, want the append-only files", err, out)
		}
	})

	t.Run("redis takes options alone as redis-server options, protected mode off", func(t *testing.T) {
		options := start(t, containerSpec{
			image: "redis", name: "redis-options",
			args: []string{"--port", "6380"}, volumes: []volume{fsGroupVolume(t, redisGID, "/data")},
		})
		eventually(t, 30*time.Second, "PING from a non-loopback address without a password", func() error {
			out, err := options.exec(5*time.Second, nil, "redis-cli", "-h", serverAddress, "-p", "6380", "ping")
			if err != nil || strings.TrimSpace(out) != "PONG" {
				return fmt.Errorf("%v: %s", err, out)
			}
			return nil
		})
	})

	corednsFile := map[string]string{"/etc/coredns/Corefile": fmt.Sprintf(".:%d {\n  hosts {\n    192.0.2.53 db.exchange.test\n  }\n}\n", port(t, "coredns", "dns"))}
	start(t, containerSpec{
		image: "coredns", name: "coredns",
		args: []string{"-conf", "/etc/coredns/Corefile"}, files: corednsFile,
		capabilities: []string{"CAP_NET_BIND_SERVICE"},
	})

	router := start(t, containerSpec{
		image: "router", name: "router",
		env: []string{
			fmt.Sprintf("DATABASE_URL=postgresql://exchange:%s@%s:%d/exchange", pgPassword, serverAddress, pgPort),
			fmt.Sprintf("REDIS_URL=redis://:%s@%s:%d", redisPassword, serverAddress, redisPort),
			fmt.Sprintf("METRICS_PORT=%d", metricsPort), "SHUTDOWN_DRAIN_SECONDS=1",
		},
		files: map[string]string{"/etc/resolv.conf": "nameserver " + serverAddress + "\n"},
	})
	get := func(url string) (string, error) { return router.exec(10*time.Second, nil, "/router", "get", url) }
	eventually(t, 20*time.Second, "router /health", func() error { _, err := get(routerURL + "/health"); return err })

	t.Run("router reaches PostgreSQL and Redis", func(t *testing.T) {
		out, err := get(routerURL + "/deps")
		var deps struct {
			Pod             string
			Postgres, Redis struct{ OK bool }
		}
		if err != nil || json.Unmarshal([]byte(out), &deps) != nil || !deps.Postgres.OK || !deps.Redis.OK || deps.Pod != "router" {
			t.Errorf("/deps: %v: %s", err, out)
		}
		out, err = get(fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
		if err != nil || !strings.Contains(out, `router_requests_total{code="200"}`) {
			t.Errorf("/metrics: %v: %s", err, out)
		}
	})

	t.Run("coredns answers on port 53 as a non-root user", func(t *testing.T) {
		eventually(t, 20*time.Second, "db.exchange.test through CoreDNS", func() error {
			out, err := router.exec(10*time.Second, nil, "/router", "resolve", "db.exchange.test")
			if err != nil || strings.TrimSpace(out) != "192.0.2.53" {
				return fmt.Errorf("%v: %s", err, out)
			}
			return nil
		})
	})

	t.Run("coredns does not start without NET_BIND_SERVICE", func(t *testing.T) {
		bare := start(t, containerSpec{
			image: "coredns", name: "coredns-bare",
			args: []string{"-conf", "/etc/coredns/Corefile"}, files: corednsFile,
		})
		select {
		case <-bare.done:
			if bare.exitErr == nil || !strings.Contains(bare.output(), "operation not permitted") {
				t.Errorf("without the capability: %v, output %q; want exec refused", bare.exitErr, bare.output())
			}
		case <-time.After(20 * time.Second):
			t.Error("coredns without NET_BIND_SERVICE kept running")
		}
	})

	wsStream := start(t, containerSpec{image: "ws-stream", name: "ws-stream"})
	wsClient := func(url string) (string, error) {
		return wsStream.exec(10*time.Second, nil, "/ws-stream", "client", url, "hello-exchange")
	}
	wsStreamURL := fmt.Sprintf("ws://127.0.0.1:%d/ws", wsStreamPort)
	eventually(t, 20*time.Second, "ws-stream WebSocket", func() error { _, err := wsClient(wsStreamURL); return err })

	t.Run("ws-stream greets with its pod name and echoes", func(t *testing.T) {
		out, err := wsClient(wsStreamURL)
		lines := readLines(out)
		if err != nil || len(lines) != 2 || !strings.Contains(lines[0], `"pod":"ws-stream"`) || lines[1] != "hello-exchange" {
			t.Errorf("client: %v: %q", err, out)
		}
	})

	start(t, containerSpec{
		image: "traefik", name: "traefik",
		args: []string{
			fmt.Sprintf("--entrypoints.web.address=:%d", traefikPort), "--ping=true", "--ping.entrypoint=web",
			"--providers.file.filename=/etc/traefik/dynamic.yml",
		},
		files: map[string]string{"/etc/traefik/dynamic.yml": `http:
  routers:
    backend:
      rule: PathPrefix(` + "`/backend`" + `)
      middlewares: [strip-backend]
      service: router
    ws:
      rule: PathPrefix(` + "`/ws`" + `)
      service: ws-stream
  middlewares:
    strip-backend:
      stripPrefix:
        prefixes: [/backend]
  services:
    router:
      loadBalancer:
        servers: [{url: "` + fmt.Sprintf("http://%s:%d", serverAddress, routerPort) + `"}]
    ws-stream:
      loadBalancer:
        servers: [{url: "` + fmt.Sprintf("http://%s:%d", serverAddress, wsStreamPort) + `"}]
`},
	})
	traefikAddress := fmt.Sprintf("127.0.0.1:%d", traefikPort)
	eventually(t, 30*time.Second, "traefik /ping", func() error { _, err := get("http://" + traefikAddress + "/ping"); return err })

	t.Run("traefik strips the prefix on the way to the router and passes WebSockets", func(t *testing.T) {
		var echo struct {
			Path    string
			Headers map[string]string
		}
		eventually(t, 20*time.Second, "/backend/api/v1/orders through Traefik", func() error {
			out, err := get("http://" + traefikAddress + "/backend/api/v1/orders")
			if err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			return json.Unmarshal([]byte(out), &echo)
		})
		if echo.Path != "/api/v1/orders" || echo.Headers["X-Forwarded-Prefix"] != "/backend" {
			t.Errorf("router saw path %q, X-Forwarded-Prefix %q; want /api/v1/orders and /backend", echo.Path, echo.Headers["X-Forwarded-Prefix"])
		}
		out, err := wsClient("ws://" + traefikAddress + "/ws")
		if err != nil || !strings.Contains(out, "hello-exchange") {
			t.Errorf("WebSocket through Traefik: %v: %q", err, out)
		}
	})

	t.Run("a row written to PostgreSQL survives a new server on the same volume", func(t *testing.T) {
		for range 2 {
			if out, err := router.exec(10*time.Second, nil, "/router", "post", routerURL+"/rows"); err != nil {
				t.Fatalf("POST /rows: %v: %s", err, out)
			}
		}
		if err := postgres.stop(t, "INT"); err != nil {
			t.Errorf("PostgreSQL on its stop signal: %v, want exit status 0", err)
		}
		again := start(t, postgresSpec("postgres-2", pgPassword, pgData, pgRun, pgTmp))
		waitPostgres(t, again)
		out, err := get(routerURL + "/rows")
		var rows struct{ Count int }
		if err != nil || json.Unmarshal([]byte(out), &rows) != nil || rows.Count != 2 {
			t.Errorf("GET /rows after the restart: %v: %s, want 2 rows", err, out)
		}
		if strings.Contains(again.output(), "initialised") {
			t.Error("the second server initialised the data folder again")
		}
	})

	t.Run("router exits 0 on SIGTERM after draining", func(t *testing.T) {
		if err := router.stop(t, "TERM"); err != nil {
			t.Errorf("router on SIGTERM: %v\n%s", err, router.output())
		}
	})
}
