package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The tests run as root, as the image builds do: files owned by others and device nodes need it.

// A root filesystem with what Debian images hold: nested folders, a sticky folder, a setuid
// file, a symbolic link, hard links and files owned by a non-root user.
func sampleRootfs(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "tmp"), 0o755))
	must(os.Chmod(filepath.Join(root, "tmp"), 0o1777|os.ModeSticky))
	must(os.WriteFile(filepath.Join(root, "usr/bin/server"), []byte("#!/bin/sh\necho server\n"), 0o755))
	must(os.WriteFile(filepath.Join(root, "usr/bin/setuid"), []byte("x"), 0o755))
	must(os.Chmod(filepath.Join(root, "usr/bin/setuid"), 0o755|os.ModeSetuid))
	must(os.Link(filepath.Join(root, "usr/bin/server"), filepath.Join(root, "usr/bin/server-link")))
	must(os.Symlink("server", filepath.Join(root, "usr/bin/alias")))
	must(os.MkdirAll(filepath.Join(root, "data"), 0o700))
	must(os.Chown(filepath.Join(root, "data"), 70, 70))
	return root
}

func writeSample(t *testing.T, root string, extra ...string) string {
	t.Helper()
	config := filepath.Join(t.TempDir(), "image.json")
	if err := os.WriteFile(config, []byte(`{"User":"70:70","Entrypoint":["/usr/bin/server"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "image.oci.tar")
	args := append([]string{"-rootfs", root, "-config", config, "-ref", "localhost/exchange/sample:1.0", "-out", out}, extra...)
	if err := runWrite(args); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWriteThenUnpackKeepsTheFilesystem(t *testing.T) {
	archive := writeSample(t, sampleRootfs(t), "-file-capability", "/usr/bin/server=cap_net_bind_service")
	dir := t.TempDir()
	if err := runUnpack([]string{"-archive", archive, "-dir", dir}); err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(dir, "rootfs")
	check := func(rel string, wantMode os.FileMode, wantUID int) os.FileInfo {
		t.Helper()
		info, err := os.Lstat(filepath.Join(rootfs, rel))
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSticky | os.ModeSymlink | os.ModeDir); got != wantMode {
			t.Errorf("%s: mode %v, want %v", rel, got, wantMode)
		}
		if uid := int(info.Sys().(*syscall.Stat_t).Uid); uid != wantUID {
			t.Errorf("%s: owner %d, want %d", rel, uid, wantUID)
		}
		return info
	}
	check("tmp", os.ModeDir|os.ModeSticky|0o777, 0)
	check("usr/bin/setuid", os.ModeSetuid|0o755, 0)
	check("data", os.ModeDir|0o700, 70)
	check("usr/bin/alias", os.ModeSymlink|0o777, 0)
	server := check("usr/bin/server", 0o755, 0)
	link := check("usr/bin/server-link", 0o755, 0)
	if !os.SameFile(server, link) {
		t.Error("usr/bin/server-link: no longer a hard link of usr/bin/server")
	}
	capability := make([]byte, 64)
	n, err := syscall.Getxattr(filepath.Join(rootfs, "usr/bin/server"), "security.capability", capability)
	if err != nil {
		t.Fatalf("usr/bin/server: no file capability: %v", err)
	}
	// The value `setcap cap_net_bind_service+ep` writes: revision 2 with the effective flag,
	// then bit 10 in the low permitted word.
	want := []byte{0x01, 0, 0, 0x02, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if !bytes.Equal(capability[:n], want) {
		t.Errorf("security.capability = % x, want % x", capability[:n], want)
	}
	config, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil || !strings.Contains(string(config), `"User":"70:70"`) {
		t.Errorf("config.json = %s (%v), want the image config back", config, err)
	}
}

func TestIndexNamesTheImageForContainerd(t *testing.T) {
	archive := writeSample(t, sampleRootfs(t))
	files, err := readArchive(archive)
	if err != nil {
		t.Fatal(err)
	}
	var idx index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil {
		t.Fatal(err)
	}
	annotations := idx.Manifests[0].Annotations
	if annotations[annotationContainerdName] != "localhost/exchange/sample:1.0" || annotations[annotationRefName] != "1.0" {
		t.Errorf("annotations = %v, want the full reference and the tag", annotations)
	}
	if p := idx.Manifests[0].Platform; p == nil || p.OS != "linux" || p.Architecture != "amd64" {
		t.Errorf("platform = %v, want linux/amd64", p)
	}
}

func TestSameFolderGivesSameDigests(t *testing.T) {
	root := sampleRootfs(t)
	first, err := os.ReadFile(writeSample(t, root))
	if err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(writeSample(t, root))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Error("two archives of one folder differ")
	}
}

func TestUnpackRefusesATamperedBlob(t *testing.T) {
	archive := writeSample(t, sampleRootfs(t))
	files, err := readArchive(archive)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		if strings.HasPrefix(name, "blobs/") {
			data = append(bytes.Clone(data[:len(data)-1]), data[len(data)-1]^0xff)
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	tampered := filepath.Join(t.TempDir(), "tampered.tar")
	if err := os.WriteFile(tampered, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	err = runUnpack([]string{"-archive", tampered, "-dir", t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "does not match its digest") {
		t.Errorf("unpack of a tampered archive: %v, want a digest mismatch", err)
	}
}

func TestWriteRefusesDeviceNodesAndUnknownCapabilities(t *testing.T) {
	root := sampleRootfs(t)
	if err := runWrite([]string{"-rootfs", root, "-config", "x", "-ref", "a:b", "-out", "y", "-file-capability", "/usr/bin/server=cap_sys_admin"}); err == nil ||
		!strings.Contains(err.Error(), "unknown capability") {
		t.Errorf("cap_sys_admin: %v, want an unknown-capability error", err)
	}
	if err := syscall.Mknod(filepath.Join(root, "null"), syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(t.TempDir(), "image.json")
	if err := os.WriteFile(config, []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	err := runWrite([]string{"-rootfs", root, "-config", config, "-ref", "a:b", "-out", filepath.Join(t.TempDir(), "out.tar")})
	if err == nil || !strings.Contains(err.Error(), "device") {
		t.Errorf("a device node: %v, want it refused", err)
	}
}
