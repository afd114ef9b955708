// Command pulumi-language-nodejs is a small Node.js language host for the Pulumi CLI.
//
// Why it exists: upstream's host lives in its own Go module
// (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3), and the Go module proxy
// that this project can reach serves no version of it; the sdk/v3 module zip leaves that
// directory out. So this host implements the LanguageRuntime gRPC service itself, on top of the
// sdk/v3 packages, and hands the real work to the Node.js SDK that every program installs:
// @pulumi/pulumi/cmd/run (programs), cmd/run-policy-pack (policy packs) and cmd/run-plugin
// (providers written in TypeScript). The command-line flags and PULUMI_* variables it passes are
// the ones those scripts read (see their index.ts and run.ts in @pulumi/pulumi).
//
// Implemented: Handshake, GetPluginInfo, GetRequiredPackages, Run, RunPlugin and
// InstallDependencies; every other call answers Unimplemented, which the CLI treats as "this
// host is older" where it can (pulumi about, convert and the code generators do not work).
//
// Program options read from Pulumi.yaml's runtime.options: typescript (default true), tsconfig,
// nodeargs and packagemanager, as upstream's host does. Where it differs, to start faster: it
// finds the SDK's entry points itself instead of asking node, turns on Node.js' compile cache,
// starts programs through launch-program.js (the SDK's runner without source-map-support and
// without the V8 debugger session it opens for the closure serializer), and starts a policy pack
// whose PulumiPolicy.yaml says typescript: false without ts-node (upstream registers ts-node for
// every pack).
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	pbempty "google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	"github.com/pulumi/pulumi/sdk/v3/nodejs/npm"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// launchPolicyPack starts a compiled policy pack; see the file's own comment.
//
//go:embed launch-policy-pack.js
var launchPolicyPack string

// launchProgram starts a program through the SDK's runner; see the file's own comment.
//
//go:embed launch-program.js
var launchProgram string

// The Node.js SDK's cmd/run exits with this code after it has already shown the user an error;
// the host then reports a "bail" so the CLI does not print a second, generic message.
const exitedAfterLoggingUserActionableMessage = 32

func main() {
	// The CLI passes every plugin `--tracing ENDPOINT` when `pulumi --tracing` or `--otel-traces`
	// is given (and glog's -v and --logtostderr with --logflow, which the sdk's packages register).
	tracing := flag.String("tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	flag.Parse()
	// The CLI starts language hosts with the engine's address as the only positional argument.
	engineAddress := flag.Arg(0)
	cmdutil.InitTracing("pulumi-language-nodejs", "pulumi-language-nodejs", *tracing)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The CLI closes a plugin with SIGINT to its process group and waits up to 5 s before SIGKILL.
	// A process started with SIGINT ignored (a job a shell without job control puts in the
	// background, nohup) hands that on to the CLI and so to this host, which would then sit out the
	// 5 s at every close: the CLI closes its first host, which only answers About, before the update
	// starts. Asking for SIGINT enables it again; the host stops as on the CLI's other requests.
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, os.Interrupt)
	go func() {
		<-interrupted
		cancel()
	}()
	if engineAddress != "" {
		// Exit when the engine stops answering (checked every minute), as a killed `pulumi`
		// leaves its plugins behind.
		if err := rpcutil.Healthcheck(ctx, engineAddress, time.Minute, cancel); err != nil {
			fatalf("could not start health check: %v", err)
		}
	}

	cancelServer := make(chan bool)
	go func() {
		<-ctx.Done()
		close(cancelServer)
	}()
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancelServer,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, &host{ctx: ctx, engineAddress: engineAddress, tracing: *tracing})
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		fatalf("could not start language host RPC server: %v", err)
	}
	// The CLI reads the port from the first line of our stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fatalf("language host RPC server stopped: %v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: "+format+"\n", args...)
	os.Exit(1)
}

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	// ctx lives as long as the host: a program started ahead of its Run belongs to no request.
	ctx           context.Context
	mu            sync.Mutex
	engineAddress string
	// tracing is the CLI's tracing endpoint, which the program's runner sends its spans to too.
	tracing string
	// ready is a program's node process started ahead of its Run (see startAhead), or nil.
	ready *readyProgram
}

// readyProgram is a program's node process that has loaded the SDK's runner and waits, on its
// stdin, for what only Run knows: the runner's flags and the run's environment.
type readyProgram struct {
	key   string
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

func (h *host) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

func (h *host) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *pbempty.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// options is the subset of Pulumi.yaml's runtime.options that this host understands.
type options struct {
	typescript     bool
	tsconfig       string
	nodeargs       []string
	packagemanager npm.PackageManagerType
}

func parseOptions(info *pulumirpc.ProgramInfo) options {
	o := options{typescript: true, packagemanager: npm.AutoPackageManager}
	m := info.GetOptions().AsMap()
	if v, ok := m["typescript"].(bool); ok {
		o.typescript = v
	}
	if v, ok := m["tsconfig"].(string); ok {
		o.tsconfig = v
	}
	if v, ok := m["nodeargs"].(string); ok {
		o.nodeargs = strings.Fields(v)
	}
	if v, ok := m["packagemanager"].(string); ok && v != "" {
		o.packagemanager = npm.PackageManagerType(v)
	}
	return o
}

// resolveModule finds MODULE (a file of a package, like "@pulumi/pulumi/cmd/run") from DIR the
// way Node.js' require.resolve does for a package without an "exports" map: in the node_modules
// folder of DIR and of every folder above it (npm workspaces hoist there), as MODULE.js, or as a
// folder's package.json "main" or index.js. Done here because asking node cost a Node.js start
// (about 40 ms of CPU) before every program and every policy pack; a package that does declare
// "exports" (which may remap its files) is still left to node.
func resolveModule(ctx context.Context, node, dir, module string) (string, error) {
	pkg := packageName(module)
	for d := dir; ; d = filepath.Dir(d) {
		pkgDir := filepath.Join(d, "node_modules", pkg)
		if info, err := os.Stat(pkgDir); err == nil && info.IsDir() {
			if declaresExports(pkgDir) {
				return resolveWithNode(ctx, node, dir, module)
			}
			if file, ok := moduleFile(filepath.Join(d, "node_modules", module)); ok {
				return file, nil
			}
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("could not find %s from %s; run npm install there first", module, dir)
		}
	}
}

// packageName is the package of a module specifier: "@scope/name" or "name".
func packageName(module string) string {
	parts := strings.SplitN(module, "/", 3)
	if strings.HasPrefix(module, "@") && len(parts) >= 2 {
		return parts[0] + "/" + parts[1]
	}
	return parts[0]
}

func declaresExports(pkgDir string) bool {
	var manifest map[string]json.RawMessage
	data, err := os.ReadFile(filepath.Join(pkgDir, "package.json"))
	if err != nil || json.Unmarshal(data, &manifest) != nil {
		return false
	}
	_, ok := manifest["exports"]
	return ok
}

// moduleFile applies Node.js' file and folder rules to PATH: PATH itself, PATH.js, then a
// folder's package.json "main" (itself as a file or a folder) or its index.js.
func moduleFile(path string) (string, bool) {
	if isFile(path) {
		return path, true
	}
	if isFile(path + ".js") {
		return path + ".js", true
	}
	var manifest struct {
		Main string `json:"main"`
	}
	if data, err := os.ReadFile(filepath.Join(path, "package.json")); err == nil &&
		json.Unmarshal(data, &manifest) == nil && manifest.Main != "" {
		main := filepath.Join(path, manifest.Main)
		for _, candidate := range []string{main, main + ".js", filepath.Join(main, "index.js")} {
			if isFile(candidate) {
				return candidate, true
			}
		}
	}
	if index := filepath.Join(path, "index.js"); isFile(index) {
		return index, true
	}
	return "", false
}

func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}

// resolveWithNode asks node itself, for packages whose "exports" map this host does not read.
func resolveWithNode(ctx context.Context, node, dir, module string) (string, error) {
	cmd := exec.CommandContext(ctx, node, "-e", "process.stdout.write(require.resolve(process.argv[1]))", module)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("could not find %s from %s; run npm install there first: %w", module, dir, err)
	}
	return string(out), nil
}

// compileCacheEnv turns on Node.js' compile cache (Node.js 22.1 and later; older versions ignore
// the variable) for the processes this host starts, unless the user set NODE_COMPILE_CACHE
// (or NODE_DISABLE_COMPILE_CACHE, which node honours) already: node keeps the code V8 compiled
// for each module on disk and reuses it on the next start, checked against the file's contents.
// A program or pack loads thousands of modules on every preview and update, so this is most of
// their start-up CPU after the first run.
func compileCacheEnv() []string {
	if _, set := os.LookupEnv("NODE_COMPILE_CACHE"); set {
		return nil
	}
	cacheDir, err := os.UserCacheDir()
	if err != nil {
		return nil
	}
	return []string{"NODE_COMPILE_CACHE=" + filepath.Join(cacheDir, "pulumi-language-nodejs", "node-compile-cache")}
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	if info == nil {
		return nil, errors.New("RunRequest without program info; this host needs a newer CLI")
	}
	opts := parseOptions(info)
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("node is not on PATH: %w", err)
	}
	dir := info.GetProgramDirectory()
	runScript, err := resolveModule(ctx, node, dir, "@pulumi/pulumi/cmd/run")
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	runnerArgs := []string{
		"--monitor=" + req.GetMonitorAddress(),
		"--engine=" + h.engine(),
		"--organization=" + req.GetOrganization(),
		"--project=" + req.GetProject(),
		"--stack=" + req.GetStack(),
		"--root-directory=" + info.GetRootDirectory(),
		"--pwd=" + dir,
		fmt.Sprintf("--parallel=%d", req.GetParallel()),
	}
	if req.GetDryRun() {
		runnerArgs = append(runnerArgs, "--dry-run")
	}
	if h.tracing != "" {
		runnerArgs = append(runnerArgs, "--tracing="+h.tracing)
	}
	entry := info.GetEntryPoint()
	if entry == "" {
		entry = "."
	}
	runnerArgs = append(append(runnerArgs, entry), req.GetArgs()...)

	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, err
	}
	secretKeys, err := json.Marshal(req.GetConfigSecretKeys())
	if err != nil {
		return nil, err
	}
	runEnv := map[string]string{
		"PULUMI_CONFIG":             string(config),
		"PULUMI_CONFIG_SECRET_KEYS": string(secretKeys),
		"PULUMI_NODEJS_TYPESCRIPT":  fmt.Sprintf("%t", opts.typescript),
	}
	if opts.tsconfig != "" {
		runEnv["PULUMI_NODEJS_TSCONFIG_PATH"] = opts.tsconfig
	}

	if ready := h.takeReady(programKey(runScript, dir, opts)); ready != nil {
		err = ready.run(ctx, runnerArgs, runEnv)
	} else {
		cmd := exec.CommandContext(ctx, node, programCommand(opts, runScript, runnerArgs)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), compileCacheEnv()...)
		for k, v := range runEnv {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		// The CLI shows the host's stdout and stderr as the program's output.
		cmd.Stdout = os.Stdout
		cmd.Stderr = os.Stderr
		err = cmd.Run()
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == exitedAfterLoggingUserActionableMessage:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr):
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode()),
		}, nil
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program could not be started: %v", err)}, nil
	}
}

// programCommand is node's arguments for a program: the launcher, the SDK's runner and, unless
// the process is started ahead of its Run, the runner's flags.
func programCommand(opts options, runScript string, runnerArgs []string) []string {
	args := append(append([]string{}, opts.nodeargs...), "-e", launchProgram, "--", runScript)
	return append(args, runnerArgs...)
}

// programKey is what a program process started ahead must share with the Run that takes it.
func programKey(runScript, dir string, opts options) string {
	return strings.Join(append([]string{runScript, dir}, opts.nodeargs...), "\x00")
}

// startAhead starts the program's node process before the engine asks for the program, so that
// node and the SDK's runner load while the engine does what it does first: the engine asks for
// the packages (GetRequiredPackages), then starts every policy pack and waits until each has
// answered, and only then sends Run, whose flags (the resource monitor's address above all) exist
// only once the policy packs run. Nothing of the program itself runs before Run: the process
// waits for Run's flags and environment on its stdin (launch-program.js). One at a time; a
// process nobody takes ends with the host (or, if the host is killed, when its stdin closes).
func (h *host) startAhead(info *pulumirpc.ProgramInfo) {
	opts := parseOptions(info)
	node, err := exec.LookPath("node")
	if err != nil {
		return
	}
	dir := info.GetProgramDirectory()
	runScript, err := resolveModule(h.ctx, node, dir, "@pulumi/pulumi/cmd/run")
	if err != nil {
		return // Run reports it.
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ready != nil {
		return
	}
	cmd := exec.CommandContext(h.ctx, node, programCommand(opts, runScript, nil)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), compileCacheEnv()...)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil || cmd.Start() != nil {
		return
	}
	h.ready = &readyProgram{key: programKey(runScript, dir, opts), cmd: cmd, stdin: stdin}
}

// takeReady hands over the program process started ahead if it was started for KEY; one started
// for another program (or with other node arguments) is stopped.
func (h *host) takeReady(key string) *readyProgram {
	h.mu.Lock()
	ready := h.ready
	h.ready = nil
	h.mu.Unlock()
	if ready != nil && ready.key != key {
		_ = ready.cmd.Process.Kill()
		_ = ready.cmd.Wait()
		return nil
	}
	return ready
}

// run sends the process its runner flags and environment and waits for it; CTX (the Run
// request's) ending stops it, as exec.CommandContext would.
func (p *readyProgram) run(ctx context.Context, runnerArgs []string, runEnv map[string]string) error {
	stop := context.AfterFunc(ctx, func() { _ = p.cmd.Process.Kill() })
	defer stop()
	message, err := json.Marshal(map[string]any{"args": runnerArgs, "env": runEnv})
	if err == nil {
		_, err = p.stdin.Write(message)
	}
	if closeErr := p.stdin.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
		return fmt.Errorf("could not hand the run to the program's process: %w", err)
	}
	return p.cmd.Wait()
}

// RunPlugin runs a policy pack (kind "analyzer") or a provider written in Node.js (kind
// "resource"), streaming its output back; the CLI reads the plugin's port from that stdout.
func (h *host) RunPlugin(
	req *pulumirpc.RunPluginRequest, stream pulumirpc.LanguageRuntime_RunPluginServer,
) error {
	ctx := stream.Context()
	info := req.GetInfo()
	if info == nil {
		return errors.New("RunPluginRequest without program info; this host needs a newer CLI")
	}
	opts := parseOptions(info)
	node, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("node is not on PATH: %w", err)
	}
	dir := info.GetProgramDirectory()

	pluginArgs, err := pluginCommand(ctx, node, dir, req.GetKind(), opts.typescript, req.GetArgs())
	if err != nil {
		return err
	}
	nodeArgs := append(append([]string{}, opts.nodeargs...), pluginArgs...)

	cmd := exec.CommandContext(ctx, node, nodeArgs...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), req.GetEnv()...), compileCacheEnv()...)
	if opts.tsconfig != "" {
		cmd.Env = append(cmd.Env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}

	var sendMu sync.Mutex
	send := func(r *pulumirpc.RunPluginResponse) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return stream.Send(r)
	}
	cmd.Stdout = writerFunc(func(p []byte) error {
		return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: p}})
	})
	cmd.Stderr = writerFunc(func(p []byte) error {
		return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: p}})
	})

	code := int32(0)
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return fmt.Errorf("could not start the %s plugin in %s: %w", req.GetKind(), dir, err)
		}
		code = int32(exitErr.ExitCode())
	}
	return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: code}})
}

// pluginCommand is node's arguments (after nodeargs) for a plugin of KIND in DIR: the SDK's
// runner for it, then the CLI's ARGS.
func pluginCommand(ctx context.Context, node, dir, kind string, typescript bool, args []string) ([]string, error) {
	var script string
	var scriptArgs []string
	switch kind {
	case "analyzer":
		// run-policy-pack <engine-address> <program>: the CLI's args are the engine address.
		script = "@pulumi/pulumi/cmd/run-policy-pack"
		scriptArgs = append(append(scriptArgs, args...), dir)
	case "resource", "":
		// run-plugin <program> [args...]
		script = "@pulumi/pulumi/cmd/run-plugin"
		scriptArgs = append(append(scriptArgs, dir), args...)
	default:
		return nil, fmt.Errorf("cannot run a plugin of kind %q", kind)
	}
	if kind == "analyzer" && !typescript {
		// A compiled pack (runtime option typescript: false): launch-policy-pack.js, without the
		// SDK's runner.
		return append([]string{"-e", launchPolicyPack, "--"}, scriptArgs...), nil
	}
	scriptPath, err := resolveModule(ctx, node, dir, script)
	if err != nil {
		return nil, err
	}
	return append([]string{scriptPath}, scriptArgs...), nil
}

// writerFunc adapts a send function to io.Writer; exec copies each chunk it reads to it.
type writerFunc func([]byte) error

func (f writerFunc) Write(p []byte) (int, error) {
	// gRPC may hold on to the slice after Send returns, and exec reuses its buffer.
	if err := f(append([]byte(nil), p...)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// InstallDependencies runs npm install (or yarn, pnpm, bun; see npm.ResolvePackageManager).
func (h *host) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, stream pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	info := req.GetInfo()
	dir := req.GetDirectory() //nolint:staticcheck // older CLIs send only this
	opts := options{packagemanager: npm.AutoPackageManager}
	if info != nil {
		dir = info.GetProgramDirectory()
		opts = parseOptions(info)
	}
	var sendMu sync.Mutex
	send := func(r *pulumirpc.InstallDependenciesResponse) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return stream.Send(r)
	}
	stdout := writerFunc(func(p []byte) error { return send(&pulumirpc.InstallDependenciesResponse{Stdout: p}) })
	stderr := writerFunc(func(p []byte) error { return send(&pulumirpc.InstallDependenciesResponse{Stderr: p}) })
	_, err := npm.Install(stream.Context(), opts.packagemanager, dir, false /*production*/, stdout, stderr)
	return err
}

// GetRequiredPackages lists the provider plugins that the installed npm packages declare, so
// the CLI can check they are installed before it runs the program. A package declares one with
// a "pulumi" block in package.json, or (newer SDKs) a pulumi-plugin.json beside it.
func (h *host) GetRequiredPackages(
	_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	// The engine asks for the packages just before it starts the policy packs and runs the program.
	h.startAhead(req.GetInfo())
	seen := map[string]bool{}
	var pkgs []*pulumirpc.PackageDependency
	// node_modules of the program and of every directory above it (npm workspaces hoist there).
	for d := dir; ; d = filepath.Dir(d) {
		for _, pkgDir := range packageDirs(filepath.Join(d, "node_modules")) {
			dep := pluginOf(pkgDir)
			if dep == nil || seen[dep.Name+"@"+dep.Version] {
				continue
			}
			seen[dep.Name+"@"+dep.Version] = true
			pkgs = append(pkgs, dep)
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, nil
}

// packageDirs lists the package directories directly in a node_modules folder, scoped ones too.
func packageDirs(nodeModules string) []string {
	entries, err := os.ReadDir(nodeModules)
	if err != nil {
		return nil
	}
	var dirs []string
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(nodeModules, name)
		switch {
		case strings.HasPrefix(name, "."):
		case strings.HasPrefix(name, "@"):
			scoped, _ := os.ReadDir(path)
			for _, s := range scoped {
				dirs = append(dirs, filepath.Join(path, s.Name()))
			}
		default:
			dirs = append(dirs, path)
		}
	}
	return dirs
}

type pluginDecl struct {
	Resource bool   `json:"resource"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Server   string `json:"server"`
}

func pluginOf(pkgDir string) *pulumirpc.PackageDependency {
	var decl pluginDecl
	if data, err := os.ReadFile(filepath.Join(pkgDir, "pulumi-plugin.json")); err == nil {
		if json.Unmarshal(data, &decl) != nil {
			return nil
		}
	} else {
		var manifest struct {
			Name    string      `json:"name"`
			Version string      `json:"version"`
			Pulumi  *pluginDecl `json:"pulumi"`
		}
		data, err := os.ReadFile(filepath.Join(pkgDir, "package.json"))
		if err != nil || json.Unmarshal(data, &manifest) != nil || manifest.Pulumi == nil {
			return nil
		}
		decl = *manifest.Pulumi
		if decl.Name == "" {
			decl.Name = strings.TrimPrefix(manifest.Name, "@pulumi/")
		}
		if decl.Version == "" {
			decl.Version = manifest.Version
		}
	}
	if !decl.Resource || decl.Name == "" {
		return nil
	}
	return &pulumirpc.PackageDependency{
		Kind:    "resource",
		Name:    decl.Name,
		Version: decl.Version,
		Server:  decl.Server,
	}
}
