package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// TestMain runs the host's own main when a test starts this binary as the CLI would start the host.
func TestMain(m *testing.M) {
	if os.Getenv("RUN_AS_LANGUAGE_HOST") == "true" {
		main()
		return
	}
	os.Exit(m.Run())
}

// The host starts with the flags the CLI gives every plugin (`pulumi --tracing`, `--otel-traces`,
// `--logflow -v=9 --logtostderr`) and announces its port, as upstream's host does.
func TestAcceptsTheCLIsPluginFlags(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, os.Args[0], "--logtostderr", "-v=9", "--tracing", "http://127.0.0.1:9/api/v1/spans")
	cmd.Env = append(os.Environ(), "RUN_AS_LANGUAGE_HOST=true")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The host serves until it is killed.
	defer func() { cancel(); _ = cmd.Wait() }()
	port, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(port) == "" || strings.Trim(strings.TrimSpace(port), "0123456789") != "" {
		t.Fatalf("first line %q (%v), want the host's port; stderr:\n%s", port, err, stderr.String())
	}
}

// The host stops on SIGINT, the CLI's way of closing a plugin, even when it was started with SIGINT
// ignored (as a background job of a shell without job control is, and what it starts): otherwise
// the CLI waits 5 s for it at every close.
func TestStopsOnSIGINTEvenWhenStartedIgnoringIt(t *testing.T) {
	const ignoringSIGINT = `trap "" INT; exec "$0" "$@"`
	// The test's own precondition: what sh execs this way does start with SIGINT ignored (bit 2 of
	// SigIgn; the host itself then catches it, so its own status cannot show this).
	status, err := exec.Command("sh", "-c", ignoringSIGINT, "/bin/cat", "/proc/self/status").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^SigIgn:\s+[0-9a-f]*[2367abef]$`).Match(status) {
		t.Fatalf("sh did not start its command with SIGINT ignored:\n%s", status)
	}

	cmd := exec.Command("sh", "-c", ignoringSIGINT, os.Args[0])
	cmd.Env = append(os.Environ(), "RUN_AS_LANGUAGE_HOST=true")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
		t.Fatalf("no port announced: %v", err)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the host was still running 10 s after SIGINT")
	}
}

// writeFiles creates FILES (path relative to ROOT: contents) under ROOT.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, contents := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(contents), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func nodeOnPath(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH (the toolchain puts it there): %v", err)
	}
	return node
}

// The host's resolution agrees with node's own require.resolve on the layouts npm makes.
func TestResolveModuleAgreesWithNode(t *testing.T) {
	node := nodeOnPath(t)
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		// A folder module with index.js, and a file module, of a scoped package.
		"node_modules/@pulumi/pulumi/package.json":               `{"name": "@pulumi/pulumi"}`,
		"node_modules/@pulumi/pulumi/cmd/run/index.js":           "",
		"node_modules/@pulumi/pulumi/cmd/run-policy-pack/run.js": "",
		// A folder whose package.json names its main.
		"node_modules/plain/package.json":     `{"name": "plain"}`,
		"node_modules/plain/lib/package.json": `{"main": "./entry"}`,
		"node_modules/plain/lib/entry.js":     "",
		// A package with an exports map: left to node.
		"node_modules/mapped/package.json":        `{"name": "mapped", "exports": {"./sub": "./dist/sub.js"}}`,
		"node_modules/mapped/dist/sub.js":         "",
		"project/package.json":                    `{"name": "project"}`,
		"project/node_modules/local/index.js":     "",
		"project/node_modules/local/package.json": `{"name": "local"}`,
	})
	project := filepath.Join(root, "project")
	for _, module := range []string{
		"@pulumi/pulumi/cmd/run",
		"@pulumi/pulumi/cmd/run-policy-pack/run",
		"plain/lib",
		"mapped/sub",
		"local",
	} {
		got, err := resolveModule(context.Background(), node, project, module)
		if err != nil {
			t.Fatalf("%s: %v", module, err)
		}
		want, err := resolveWithNode(context.Background(), node, project, module)
		if err != nil {
			t.Fatalf("%s (node): %v", module, err)
		}
		if got != want {
			t.Errorf("%s: host resolved %s, node %s", module, got, want)
		}
	}
	if _, err := resolveModule(context.Background(), node, project, "@pulumi/pulumi/cmd/missing"); err == nil {
		t.Errorf("a missing module resolved")
	}
}

// A compiled pack starts through the launcher with the engine address and the pack's folder; any
// other pack through the SDK's cmd/run-policy-pack, as upstream's host does.
func TestPluginCommand(t *testing.T) {
	node := nodeOnPath(t)
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"node_modules/@pulumi/pulumi/cmd/run-policy-pack/index.js": "",
		"node_modules/@pulumi/pulumi/cmd/run-plugin/index.js":      "",
	})
	policyPack := filepath.Join(root, "node_modules/@pulumi/pulumi/cmd/run-policy-pack")
	for _, c := range []struct {
		kind       string
		typescript bool
		want       []string
	}{
		{"analyzer", false, []string{"-e", launchPolicyPack, "--", "127.0.0.1:1", root}},
		{"analyzer", true, []string{filepath.Join(policyPack, "index.js"), "127.0.0.1:1", root}},
		{"resource", false, []string{filepath.Join(root, "node_modules/@pulumi/pulumi/cmd/run-plugin/index.js"), root, "127.0.0.1:1"}},
	} {
		got, err := pluginCommand(context.Background(), node, root, c.kind, c.typescript, []string{"127.0.0.1:1"})
		if err != nil {
			t.Fatalf("%s typescript=%t: %v", c.kind, c.typescript, err)
		}
		if strings.Join(got, "\x00") != strings.Join(c.want, "\x00") {
			t.Errorf("%s typescript=%t: %q, want %q", c.kind, c.typescript, got, c.want)
		}
	}
	if _, err := pluginCommand(context.Background(), node, root, "converter", false, nil); err == nil {
		t.Errorf("a plugin kind the host cannot run was accepted")
	}
}

// The launcher starts the pack's folder (its package.json's main) with no arguments of its own,
// after the flags the CLI may give (`pulumi --tracing`), and keeps the SDK runner's exit contract:
// 0 only when the pack ran without an uncaught error; an error that escapes the pack, at load or
// later, is shown on stderr and the exit code is 32 (already shown to the user). The pack here is
// a stand-in that reports what it sees and fails as told.
func TestLaunchPolicyPack(t *testing.T) {
	node := nodeOnPath(t)
	pack := t.TempDir()
	writeFiles(t, pack, map[string]string{
		"package.json": `{"main": "bin/bundle.js"}`,
		"bin/bundle.js": `
console.log(JSON.stringify(process.argv.slice(1)));
switch (process.env.OUTCOME) {
    case "throws": throw new Error("the pack failed to load");
    case "rejects": setTimeout(() => Promise.reject(new Error("the pack failed later")), 10); break;
}`,
	})
	for _, cliArgs := range [][]string{
		{"127.0.0.1:1"},
		{"--tracing", "tcp:/127.0.0.1:9", "127.0.0.1:1"},
	} {
		for outcome, want := range map[string]struct {
			code   int
			stderr string
		}{
			"ok":      {0, ""},
			"throws":  {32, "the pack failed to load"},
			"rejects": {32, "the pack failed later"},
		} {
			args := append(append([]string{"-e", launchPolicyPack, "--"}, cliArgs...), pack)
			cmd := exec.Command(node, args...)
			cmd.Env = append(os.Environ(), "OUTCOME="+outcome)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				code = exitErr.ExitCode()
			} else if err != nil {
				t.Fatalf("%q %s: %v", cliArgs, outcome, err)
			}
			if code != want.code {
				t.Errorf("%q %s: exit code %d, want %d\n%s", cliArgs, outcome, code, want.code, stderr.String())
			}
			shown := strings.Contains(stderr.String(), "policy pack in "+pack+" failed") &&
				strings.Contains(stderr.String(), want.stderr)
			if (want.stderr == "" && stderr.Len() > 0) || (want.stderr != "" && !shown) {
				t.Errorf("%q %s: stderr %q, want %q", cliArgs, outcome, stderr.String(), want.stderr)
			}
			if got, want := strings.TrimSpace(stdout.String()), `["`+pack+`"]`; got != want {
				t.Errorf("%q %s: the pack saw argv %s, want %s", cliArgs, outcome, got, want)
			}
		}
	}
	missing := t.TempDir()
	out, err := exec.Command(node, "-e", launchPolicyPack, "--", "127.0.0.1:1", missing).CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 32 || !strings.Contains(string(out), "Cannot find module") {
		t.Errorf("a pack without its main: %v\n%s", err, out)
	}
}

// The program launcher runs the SDK's runner as `node RUN_INDEX ARGS...` would (same argv), with
// source-map-support left out, the closure serializer's inspector session opened only when
// something asks for it, and the runner's tracing module loaded only when tracing starts (spans
// before that come from OpenTelemetry's global tracer); a runner without a module it replaces
// stops with an error naming it. The SDK here is a stand-in whose runner reports what it sees.
func TestLaunchProgram(t *testing.T) {
	node := nodeOnPath(t)
	sdk := t.TempDir()
	writeFiles(t, sdk, map[string]string{
		"node_modules/source-map-support/register.js": `throw new Error("source-map-support was loaded");`,
		"runtime/closure/v8Hooks.js": `
globalThis.realV8HooksLoaded = true;
exports.isInitializedAsync = async () => { throw new Error("the real isInitializedAsync ran"); };
exports.getSessionAsync = async () => "session";
exports.getScriptUrl = (id) => "url of " + id;`,
		"cmd/run/tracing.js": `
globalThis.realTracingLoaded = true;
let root;
exports.start = (url) => { root = "root for " + url; };
exports.stop = () => { globalThis.stoppedRoot = root; };
exports.newSpan = (name) => name + " under " + root;`,
		"node_modules/@opentelemetry/api/index.js": `
exports.trace = { getTracer: (tracer) => ({ startSpan: (name) => name + " of the global " + tracer }) };`,
		"cmd/run/index.js": `
require("source-map-support/register");
const v8Hooks = require("../../runtime/closure/v8Hooks");
const tracing = require("./tracing");
(async () => {
    await v8Hooks.isInitializedAsync();
    const loadedBeforeUse = globalThis.realV8HooksLoaded === true;
    const session = await v8Hooks.getSessionAsync();
    const spans = [tracing.newSpan("first")];
    const tracingLoadedBeforeStart = globalThis.realTracingLoaded === true;
    const url = process.argv.find((a) => a.startsWith("--tracing="));
    if (url) {
        tracing.start(url.slice("--tracing=".length));
        spans.push(tracing.newSpan("second"));
    }
    tracing.stop();
    console.log(JSON.stringify({
        argv: process.argv.slice(1),
        loadedBeforeUse,
        session,
        url: v8Hooks.getScriptUrl("7"),
        tracingLoadedBeforeStart,
        spans,
        stoppedRoot: globalThis.stoppedRoot,
    }));
})();`,
	})
	// The tests' and the benchmark's copies of the project link node_modules: the same through a link.
	linked := filepath.Join(t.TempDir(), "linked-sdk")
	if err := os.Symlink(sdk, linked); err != nil {
		t.Fatal(err)
	}
	runIndex := filepath.Join(sdk, "cmd/run/index.js")
	for _, c := range []struct {
		args []string
		want string
	}{
		{
			[]string{"--monitor=127.0.0.1:1", "."},
			`"tracingLoadedBeforeStart":false,"spans":["first of the global nodejs-runtime"]}`,
		},
		{
			[]string{"--monitor=127.0.0.1:1", "--tracing=http://127.0.0.1:9", "."},
			`"tracingLoadedBeforeStart":false,"spans":["first of the global nodejs-runtime","second under root for http://127.0.0.1:9"],"stoppedRoot":"root for http://127.0.0.1:9"}`,
		},
	} {
		for _, index := range []string{runIndex, filepath.Join(linked, "cmd/run/index.js")} {
			out, err := exec.Command(node, append([]string{"-e", launchProgram, "--", index}, c.args...)...).Output()
			if err != nil {
				t.Fatalf("launcher %s %q: %v", index, c.args, err)
			}
			argv, _ := json.Marshal(append([]string{index}, c.args...))
			want := `{"argv":` + string(argv) + `,"loadedBeforeUse":false,"session":"session","url":"url of 7",` + c.want
			if got := strings.TrimSpace(string(out)); got != want {
				t.Errorf("the runner saw %s, want %s", got, want)
			}
		}
	}

	for _, replaced := range []string{"cmd/run/tracing.js", "runtime/closure/v8Hooks.js"} {
		if err := os.Remove(filepath.Join(sdk, replaced)); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(node, "-e", launchProgram, "--", runIndex, ".").CombinedOutput()
		if err == nil || !strings.Contains(string(out), filepath.Base(replaced)+" is missing") {
			t.Errorf("a runner without %s: %v\n%s", replaced, err, out)
		}
	}
}

// A program started ahead (at GetRequiredPackages) has loaded the runner's modules when Run hands
// it the runner's flags and the run's environment; a Run without one, or for another program,
// starts the program then. The SDK is a stand-in whose runner writes what it sees to $RUN_OUT.
func TestRunStartedAhead(t *testing.T) {
	nodeOnPath(t)
	root := t.TempDir()
	sdk := "node_modules/@pulumi/pulumi/"
	stubs := map[string]string{
		sdk + "package.json":                          `{"name": "@pulumi/pulumi"}`,
		sdk + "runtime/closure/v8Hooks.js":            "",
		sdk + "cmd/run/instrumentation.js":            "",
		sdk + "cmd/run/tracing.js":                    "",
		sdk + "runtime/settings.js":                   "globalThis.settingsLoaded = true;",
		"node_modules/source-map-support/register.js": "",
		sdk + "cmd/run/index.js": `
require("fs").appendFileSync(process.env.RUN_OUT, JSON.stringify({
    argv: process.argv.slice(2),
    config: process.env.PULUMI_CONFIG,
    loadedAhead: globalThis.settingsLoaded === true,
}) + "\n");`,
	}
	for _, program := range []string{"a", "b"} {
		writeFiles(t, filepath.Join(root, program), stubs)
	}
	out := filepath.Join(root, "runs.jsonl")
	t.Setenv("RUN_OUT", out)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &host{ctx: ctx, tracing: "http://127.0.0.1:9/api/v1/spans"}
	info := func(program string) *pulumirpc.ProgramInfo {
		dir := filepath.Join(root, program)
		return &pulumirpc.ProgramInfo{RootDirectory: dir, ProgramDirectory: dir, EntryPoint: "."}
	}
	run := func(program string) {
		t.Helper()
		resp, err := h.Run(ctx, &pulumirpc.RunRequest{
			Info: info(program), MonitorAddress: "127.0.0.1:1", Stack: "dev", Config: map[string]string{"k": program},
		})
		if err != nil || resp.GetError() != "" {
			t.Fatalf("run %s: %v %s", program, err, resp.GetError())
		}
	}
	for _, step := range []struct{ ahead, program string }{
		{"a", "a"}, // started ahead and taken
		{"", "a"},  // nothing started ahead
		{"b", "a"}, // started ahead for another program: stopped, a started at Run
	} {
		if step.ahead != "" {
			if _, err := h.GetRequiredPackages(ctx, &pulumirpc.GetRequiredPackagesRequest{Info: info(step.ahead)}); err != nil {
				t.Fatal(err)
			}
		}
		run(step.program)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	want := []string{`"loadedAhead":true`, `"loadedAhead":false`, `"loadedAhead":false`}
	if len(lines) != len(want) {
		t.Fatalf("%d runs of the runner, want %d:\n%s", len(lines), len(want), data)
	}
	for i, line := range lines {
		for _, part := range []string{want[i], `"config":"{\"k\":\"a\"}"`, `"--monitor=127.0.0.1:1"`, `"--stack=dev"`, `"--tracing=http://127.0.0.1:9/api/v1/spans"`} {
			if !strings.Contains(line, part) {
				t.Errorf("run %d: %s lacks %s", i+1, line, part)
			}
		}
	}
}
