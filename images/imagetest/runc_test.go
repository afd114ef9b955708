//go:build imagetest

// Package imagetest runs the built images with runc under the constraints the platform's pod
// specs set (non-root user and group, supplementary fsGroup, read-only root, no capabilities
// unless added, no privilege escalation, only the declared volumes writable) and checks what
// the platform relies on: PostgreSQL initialises and authenticates, Redis answers with its
// password, data survives a restart, the router reaches both, CoreDNS answers on port 53,
// Traefik routes with a stripped prefix and passes WebSockets, pause exits on SIGTERM.
//
// Every container shares one network namespace made for the test (an `unshare --net` process),
// which has only a loopback link: nothing leaves it. The server address 192.0.2.10 (a
// documentation range) sits on that loopback, so connections to it are non-loopback for the
// servers' access rules. Seccomp is not applied here; the cluster's runtime adds RuntimeDefault.
//
//	IMAGE_ARCHIVES=<file with build.sh's output> go test -tags imagetest ./imagetest
//
// images/test.sh builds the images and runs this.
package imagetest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const serverAddress = "192.0.2.10"

var (
	archives = map[string]string{} // image reference -> archive path
	ocitool  string
	netnsPID int
	netns    string // /proc/<pid>/ns/net of the namespace holder
	runcRoot string
	work     string
	// Parent of the containers' cgroups, one per run, removed at the end.
	cgroupParent = fmt.Sprintf("exchange-imagetest-%d", os.Getpid())
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if err := setUp(); err != nil {
		fmt.Fprintln(os.Stderr, "imagetest:", err)
		return 1
	}
	defer tearDown()
	return m.Run()
}

func setUp() error {
	list := os.Getenv("IMAGE_ARCHIVES")
	if list == "" {
		return fmt.Errorf("IMAGE_ARCHIVES is not set: run images/test.sh")
	}
	data, err := os.ReadFile(list)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		ref, archive, ok := strings.Cut(line, " ")
		if !ok {
			return fmt.Errorf("%s: line %q is not \"<ref> <archive>\"", list, line)
		}
		archives[ref] = archive
	}
	if images, err = loadImages("../images.json", "../../toolchain/versions.env"); err != nil {
		return err
	}
	if work, err = os.MkdirTemp("", "imagetest-"); err != nil {
		return err
	}
	runcRoot = filepath.Join(work, "runc")
	ocitool = filepath.Join(work, "ocitool")
	if out, err := exec.Command("go", "build", "-o", ocitool, "../ocitool").CombinedOutput(); err != nil {
		return fmt.Errorf("building ocitool: %v\n%s", err, out)
	}
	holder := exec.Command("unshare", "--net", "sleep", "600")
	if err := holder.Start(); err != nil {
		return err
	}
	netnsPID = holder.Process.Pid
	netns = fmt.Sprintf("/proc/%d/ns/net", netnsPID)
	// unshare enters its new namespace only after it has started: until then netns names this
	// process's own, and the set-up below would change the host's loopback while the containers
	// join a namespace whose loopback is down. Wait (bounded) until the two differ.
	own, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if current, err := os.Readlink(netns); err == nil && current != own {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("unshare --net (pid %d) has no network namespace of its own after 10 s", netnsPID)
		}
	}
	for _, args := range [][]string{{"link", "set", "lo", "up"}, {"addr", "add", serverAddress + "/32", "dev", "lo"}} {
		if out, err := inNetns("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %v: %v\n%s", args, err, out)
		}
	}
	return nil
}

func tearDown() {
	if netnsPID != 0 {
		syscall.Kill(netnsPID, syscall.SIGKILL)
	}
	if runcRoot != "" {
		// Anything a failed test left running.
		out, _ := exec.Command("runc", "--root", runcRoot, "list", "-q").Output()
		for _, id := range strings.Fields(string(out)) {
			exec.Command("runc", "--root", runcRoot, "delete", "--force", id).Run()
		}
	}
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + cgroupParent)
	for _, dir := range dirs {
		os.Remove(dir) // empty once every container is deleted
	}
	os.RemoveAll(work)
}

// inNetns is a command run inside the test's network namespace, from the host's files.
func inNetns(name string, args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--net=" + netns, name}, args...)...)
}

// volume is a host folder mounted into a container, owned as Kubernetes leaves an fsGroup
// volume: root-owned, group fsGroup, group-writable with setgid.
type volume struct {
	hostPath, path string
}

func fsGroupVolume(t *testing.T, gid int, path string) volume {
	t.Helper()
	dir, err := os.MkdirTemp(work, "volume-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 0, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o2775|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	return volume{dir, path}
}

// emptyDir is a scratch folder as Kubernetes makes one with fsGroup: world-writable, setgid.
func emptyDir(t *testing.T, gid int, path string) volume {
	v := fsGroupVolume(t, gid, path)
	if err := os.Chmod(v.hostPath, 0o777|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	return v
}

type imageConfig struct {
	User         string
	ExposedPorts map[string]struct{}
	Env          []string
	Entrypoint   []string
	Cmd          []string
	WorkingDir   string
}

// containerSpec is a container of a pod spec; it runs as its image's user (images.json), as
// the platform's pods do.
type containerSpec struct {
	image        string   // the image's name in images.json
	name         string   // container ID and hostname (the "pod name")
	args         []string // replaces the image's Cmd, as a pod spec's args do
	env          []string
	volumes      []volume
	files        map[string]string // path in the container -> content, mounted read-only
	capabilities []string
}

type container struct {
	spec     containerSpec
	uid, gid int
	cmd      *exec.Cmd
	log      string
	done     chan struct{} // closed when runc returns; exitErr is set then
	exitErr  error
}

// unpacked image bundles, one per reference and test run.
var unpacked = map[string]string{}

func unpack(t *testing.T, ref string) (string, imageConfig) {
	t.Helper()
	archive, ok := archives[ref]
	if !ok {
		t.Fatalf("no archive for %s in IMAGE_ARCHIVES", ref)
	}
	dir, done := unpacked[ref]
	if !done {
		dir = filepath.Join(work, "image-"+strings.NewReplacer("/", "_", ":", "_").Replace(ref))
		if out, err := exec.Command(ocitool, "unpack", "-archive", archive, "-dir", dir).CombinedOutput(); err != nil {
			t.Fatalf("unpack %s: %v\n%s", ref, err, out)
		}
		unpacked[ref] = dir
	}
	var config imageConfig
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err == nil {
		err = json.Unmarshal(data, &config)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir, config
}

// start runs a container with runc, as the kubelet and containerd would for a pod with the
// platform's security context.
func start(t *testing.T, spec containerSpec) *container {
	t.Helper()
	img := imageNamed(t, spec.image)
	image, config := unpack(t, img.ref)
	bundle := filepath.Join(work, "bundle-"+spec.name)
	if err := os.MkdirAll(bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{}, config.Entrypoint...), config.Cmd...)
	if spec.args != nil {
		args = append(append([]string{}, config.Entrypoint...), spec.args...)
	}
	cwd := config.WorkingDir
	if cwd == "" {
		cwd = "/"
	}
	caps := append([]string{}, spec.capabilities...)
	mounts := []map[string]any{
		{"destination": "/proc", "type": "proc", "source": "proc"},
		{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
		{"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": []string{"nosuid", "noexec", "nodev"}},
		{"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": []string{"nosuid", "noexec", "nodev", "ro"}},
	}
	for _, v := range spec.volumes {
		mounts = append(mounts, map[string]any{"destination": v.path, "type": "bind", "source": v.hostPath, "options": []string{"rbind", "rw"}})
	}
	for path, content := range spec.files {
		host := filepath.Join(bundle, "file-"+filepath.Base(path))
		if err := os.WriteFile(host, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		mounts = append(mounts, map[string]any{"destination": path, "type": "bind", "source": host, "options": []string{"rbind", "ro"}})
	}
	runtimeSpec := map[string]any{
		"ociVersion": "1.0.2",
		"hostname":   spec.name,
		"root":       map[string]any{"path": filepath.Join(image, "rootfs"), "readonly": true},
		"process": map[string]any{
			"user":            map[string]any{"uid": img.User.UID, "gid": img.User.GID, "additionalGids": []int{img.User.GID}},
			"args":            args,
			"env":             append(append([]string{}, config.Env...), spec.env...),
			"cwd":             cwd,
			"noNewPrivileges": true,
			"capabilities":    map[string]any{"bounding": caps, "effective": caps, "permitted": caps},
		},
		"mounts": mounts,
		"linux": map[string]any{
			"namespaces": []map[string]any{
				{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
				{"type": "network", "path": netns},
			},
			"cgroupsPath":   "/" + cgroupParent + "/" + spec.name,
			"maskedPaths":   []string{"/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"},
			"readonlyPaths": []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
	data, err := json.MarshalIndent(runtimeSpec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	c := &container{spec: spec, uid: img.User.UID, gid: img.User.GID, log: filepath.Join(bundle, "output.log"), done: make(chan struct{})}
	logFile, err := os.Create(c.log)
	if err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command("runc", "--root", runcRoot, "run", "--bundle", bundle, spec.name)
	c.cmd.Stdout, c.cmd.Stderr = logFile, logFile
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.exitErr = c.cmd.Wait(); logFile.Close(); close(c.done) }()
	t.Cleanup(func() { c.remove(t) })
	return c
}

// exited reports whether the container has stopped, and how.
func (c *container) exited() (bool, error) {
	select {
	case <-c.done:
		return true, c.exitErr
	default:
		return false, nil
	}
}

// stop sends the signal and waits (bounded) for the container to exit; returns its exit error.
func (c *container) stop(t *testing.T, signal string) error {
	t.Helper()
	exec.Command("runc", "--root", runcRoot, "kill", c.spec.name, signal).Run()
	select {
	case <-c.done:
		return c.exitErr
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not exit within 30 s of %s; output:\n%s", c.spec.name, signal, c.output())
		return nil
	}
}

func (c *container) remove(t *testing.T) {
	exec.Command("runc", "--root", runcRoot, "delete", "--force", c.spec.name).Run()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Errorf("%s: runc did not return after delete", c.spec.name)
	}
	if t.Failed() {
		t.Logf("%s output:\n%s", c.spec.name, c.output())
	}
}

func (c *container) output() string {
	data, _ := os.ReadFile(c.log)
	return string(data)
}

// exec runs a command inside the container as its user, bounded by timeout.
func (c *container) exec(timeout time.Duration, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	runcArgs := []string{"--root", runcRoot, "exec", "--user", fmt.Sprintf("%d:%d", c.uid, c.gid)}
	for _, e := range env {
		runcArgs = append(runcArgs, "--env", e)
	}
	runcArgs = append(append(runcArgs, c.spec.name), args...)
	out, err := exec.CommandContext(ctx, "runc", runcArgs...).CombinedOutput()
	return string(out), err
}

// eventually retries check every half second until it succeeds or limit passes.
func eventually(t *testing.T, limit time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, limit, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func readLines(s string) []string {
	var lines []string
	scanner := bufio.NewScanner(strings.NewReader(s))
	for scanner.Scan() {
		lines = append(lines, scanner.Text())
	}
	return lines
}
