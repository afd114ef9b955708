// Command ocitool writes and reads the single-layer OCI image archives built here.
//
//	ocitool write -rootfs DIR -config FILE -ref NAME:TAG -out FILE [-file-capability PATH=CAP]...
//	ocitool unpack -archive FILE -dir DIR
//
// write packs DIR as one gzip layer (files sorted, owners and modes kept, every mtime set to one
// fixed instant, so the same folder always gives the same digests) and writes an OCI image
// layout as a tar: what `ctr images import` reads. The index names the image both ways
// containerd understands: io.containerd.image.name (the full reference, which ctr uses as the
// image's name) and org.opencontainers.image.ref.name (the tag, as the OCI spec defines it).
// FILE holds the image config's "config" object (User, Env, Entrypoint, Cmd, WorkingDir...).
//
// unpack checks every blob of an archive against its digest and extracts the layers into
// DIR/rootfs and the image config into DIR/config.json: the tests run the result with runc.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

const (
	mediaTypeIndex    = "application/vnd.oci.image.index.v1+json"
	mediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	mediaTypeLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"

	annotationContainerdName = "io.containerd.image.name"
	annotationRefName        = "org.opencontainers.image.ref.name"
)

// The one instant every file, the config and the history carry: nothing here depends on when
// it was built.
var buildEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *platform         `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

type index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []descriptor `json:"manifests"`
}

type manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
}

type imageConfig struct {
	Created      time.Time       `json:"created"`
	Architecture string          `json:"architecture"`
	OS           string          `json:"os"`
	Config       json.RawMessage `json:"config"`
	RootFS       struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
	History []struct {
		Created   time.Time `json:"created"`
		CreatedBy string    `json:"created_by"`
	} `json:"history"`
}

func main() {
	if len(os.Args) < 2 {
		fail(errors.New("usage: ocitool write|unpack [flags]"))
	}
	var err error
	switch os.Args[1] {
	case "write":
		err = runWrite(os.Args[2:])
	case "unpack":
		err = runUnpack(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (expected write or unpack)", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "ocitool:", err)
	os.Exit(1)
}

// fileCapabilities collects -file-capability PATH=CAP flags.
type fileCapabilities map[string]string

func (f fileCapabilities) String() string { return fmt.Sprint(map[string]string(f)) }

func (f fileCapabilities) Set(value string) error {
	file, capability, ok := strings.Cut(value, "=")
	if !ok || !strings.HasPrefix(file, "/") {
		return fmt.Errorf("%q: expected /PATH=CAPABILITY", value)
	}
	if _, known := capabilityBits[capability]; !known {
		return fmt.Errorf("%q: unknown capability %q (known: %s)", value, capability, strings.Join(knownCapabilities(), ", "))
	}
	f[strings.TrimPrefix(path.Clean(file), "/")] = capability
	return nil
}

// Only what an image here needs: a non-root server binding a port below 1024.
var capabilityBits = map[string]uint{"cap_net_bind_service": 10}

func knownCapabilities() []string {
	names := make([]string, 0, len(capabilityBits))
	for name := range capabilityBits {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// capabilityXattr encodes a file capability set as the kernel's security.capability value
// (struct vfs_cap_data, revision 2), permitted and effective: what `setcap CAP+ep` writes.
func capabilityXattr(capability string) string {
	const revision2, effective = 0x02000000, 0x000001
	bit := capabilityBits[capability]
	var words [5]uint32 // magic, then {permitted, inheritable} for bits 0-31 and 32-63
	words[0] = revision2 | effective
	words[1+2*(bit/32)] = 1 << (bit % 32)
	var buf bytes.Buffer
	_ = binary.Write(&buf, binary.LittleEndian, words)
	return buf.String()
}

func runWrite(args []string) error {
	flags := flag.NewFlagSet("write", flag.ContinueOnError)
	rootfs := flags.String("rootfs", "", "root filesystem folder to pack")
	configFile := flags.String("config", "", "JSON file with the image config's \"config\" object")
	ref := flags.String("ref", "", "image reference, NAME:TAG")
	out := flags.String("out", "", "archive to write")
	caps := fileCapabilities{}
	flags.Var(caps, "file-capability", "PATH=CAP: give the file at PATH (inside the image) that capability, permitted and effective (repeatable)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *rootfs == "" || *configFile == "" || *ref == "" || *out == "" || flags.NArg() > 0 {
		return errors.New("write needs -rootfs, -config, -ref and -out, and nothing else")
	}
	slash, colon := strings.LastIndex(*ref, "/"), strings.LastIndex(*ref, ":")
	if colon <= slash {
		return fmt.Errorf("-ref %q: expected NAME:TAG", *ref)
	}
	runtimeConfig, err := os.ReadFile(*configFile)
	if err != nil {
		return err
	}
	if !json.Valid(runtimeConfig) {
		return fmt.Errorf("%s: not valid JSON", *configFile)
	}

	// The layer goes to a scratch file first: its digest is needed before the archive's index.
	scratch, err := os.CreateTemp(filepath.Dir(*out), ".layer-*")
	if err != nil {
		return err
	}
	defer os.Remove(scratch.Name())
	defer scratch.Close()
	diffID, layer, err := writeLayer(scratch, *rootfs, caps)
	if err != nil {
		return err
	}

	var config imageConfig
	config.Created = buildEpoch
	config.Architecture = "amd64"
	config.OS = "linux"
	config.Config = runtimeConfig
	config.RootFS.Type = "layers"
	config.RootFS.DiffIDs = []string{diffID}
	config.History = append(config.History, struct {
		Created   time.Time `json:"created"`
		CreatedBy string    `json:"created_by"`
	}{buildEpoch, "images/build.sh: " + *ref})
	configJSON, err := json.Marshal(config)
	if err != nil {
		return err
	}
	configDesc := descriptorOf(mediaTypeConfig, configJSON)
	manifestJSON, err := json.Marshal(manifest{SchemaVersion: 2, MediaType: mediaTypeManifest, Config: configDesc, Layers: []descriptor{layer}})
	if err != nil {
		return err
	}
	manifestDesc := descriptorOf(mediaTypeManifest, manifestJSON)
	manifestDesc.Platform = &platform{Architecture: "amd64", OS: "linux"}
	manifestDesc.Annotations = map[string]string{annotationContainerdName: *ref, annotationRefName: (*ref)[colon+1:]}
	indexJSON, err := json.Marshal(index{SchemaVersion: 2, MediaType: mediaTypeIndex, Manifests: []descriptor{manifestDesc}})
	if err != nil {
		return err
	}

	if _, err := scratch.Seek(0, io.SeekStart); err != nil {
		return err
	}
	partial := *out + ".partial"
	archive, err := os.Create(partial)
	if err != nil {
		return err
	}
	defer os.Remove(partial)
	defer archive.Close()
	tw := tar.NewWriter(archive)
	files := []struct {
		name string
		data []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", indexJSON},
		{blobPath(configDesc.Digest), configJSON},
		{blobPath(manifestDesc.Digest), manifestJSON},
	}
	for _, f := range files {
		if err := writeArchiveFile(tw, f.name, int64(len(f.data)), bytes.NewReader(f.data)); err != nil {
			return err
		}
	}
	if err := writeArchiveFile(tw, blobPath(layer.Digest), layer.Size, scratch); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := archive.Close(); err != nil {
		return err
	}
	return os.Rename(partial, *out)
}

func descriptorOf(mediaType string, data []byte) descriptor {
	sum := sha256.Sum256(data)
	return descriptor{MediaType: mediaType, Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(data))}
}

func blobPath(digest string) string {
	return "blobs/sha256/" + strings.TrimPrefix(digest, "sha256:")
}

func writeArchiveFile(tw *tar.Writer, name string, size int64, content io.Reader) error {
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: buildEpoch, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := io.CopyN(tw, content, size)
	return err
}

// countingHash is the digest and size of what passes through it.
type countingHash struct {
	hash.Hash
	size int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.size += int64(len(p))
	return c.Hash.Write(p)
}

func (c *countingHash) digest() string { return "sha256:" + hex.EncodeToString(c.Sum(nil)) }

// writeLayer writes rootfs as a gzip tar to w and returns its diff ID (digest of the tar) and
// its descriptor (digest and size of the gzip stream).
func writeLayer(w io.Writer, rootfs string, caps fileCapabilities) (string, descriptor, error) {
	compressed := &countingHash{Hash: sha256.New()}
	gz := gzip.NewWriter(io.MultiWriter(w, compressed))
	uncompressed := &countingHash{Hash: sha256.New()}
	tw := tar.NewWriter(io.MultiWriter(gz, uncompressed))

	// Hard links: the first path of an inode is written as a file, later ones link to it.
	type inode struct{ dev, ino uint64 }
	firstPath := map[inode]string{}
	pending := fileCapabilities{}
	for file, capability := range caps {
		pending[file] = capability
	}

	err := filepath.WalkDir(rootfs, func(file string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(rootfs, file)
		if err != nil || rel == "." {
			return err
		}
		info, err := entry.Info()
		if err != nil {
			return err
		}
		stat, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("%s: no owner information", file)
		}
		mode := info.Mode()
		if mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeSocket|fs.ModeNamedPipe) != 0 {
			// The runtime provides /dev; a device node in an image would only hide its own.
			return fmt.Errorf("%s: device, socket or pipe in the root filesystem; remove it in the recipe", file)
		}
		link := ""
		if mode&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(file); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid = int(stat.Uid), int(stat.Gid)
		hdr.Uname, hdr.Gname = "", ""
		hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = buildEpoch, time.Time{}, time.Time{}
		hdr.Format = tar.FormatPAX
		if mode.IsRegular() && stat.Nlink > 1 {
			key := inode{uint64(stat.Dev), stat.Ino}
			if first, seen := firstPath[key]; seen {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				firstPath[key] = hdr.Name
			}
		}
		if capability, wanted := pending[hdr.Name]; wanted {
			if !mode.IsRegular() {
				return fmt.Errorf("-file-capability /%s: not a regular file", hdr.Name)
			}
			hdr.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": capabilityXattr(capability)}
			delete(pending, hdr.Name)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil
		}
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyN(tw, f, hdr.Size)
		return err
	})
	if err != nil {
		return "", descriptor{}, err
	}
	for file := range pending {
		return "", descriptor{}, fmt.Errorf("-file-capability /%s: no such file in %s", file, rootfs)
	}
	if err := tw.Close(); err != nil {
		return "", descriptor{}, err
	}
	if err := gz.Close(); err != nil {
		return "", descriptor{}, err
	}
	return uncompressed.digest(), descriptor{MediaType: mediaTypeLayer, Digest: compressed.digest(), Size: compressed.size}, nil
}

func runUnpack(args []string) error {
	flags := flag.NewFlagSet("unpack", flag.ContinueOnError)
	archivePath := flags.String("archive", "", "OCI archive to read")
	dir := flags.String("dir", "", "folder to create: rootfs/ and config.json")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *archivePath == "" || *dir == "" || flags.NArg() > 0 {
		return errors.New("unpack needs -archive and -dir, and nothing else")
	}
	blobs, err := readArchive(*archivePath)
	if err != nil {
		return err
	}
	var idx index
	if err := json.Unmarshal(blobs["index.json"], &idx); err != nil {
		return fmt.Errorf("index.json: %w", err)
	}
	if len(idx.Manifests) != 1 {
		return fmt.Errorf("index.json: %d manifests, expected 1", len(idx.Manifests))
	}
	if idx.Manifests[0].Annotations[annotationContainerdName] == "" {
		return fmt.Errorf("index.json: no %s annotation", annotationContainerdName)
	}
	var m manifest
	if err := json.Unmarshal(blobs[blobPath(idx.Manifests[0].Digest)], &m); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	var config imageConfig
	configJSON := blobs[blobPath(m.Config.Digest)]
	if err := json.Unmarshal(configJSON, &config); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if len(config.RootFS.DiffIDs) != len(m.Layers) {
		return fmt.Errorf("config lists %d layers, manifest %d", len(config.RootFS.DiffIDs), len(m.Layers))
	}
	rootfs := filepath.Join(*dir, "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return err
	}
	for i, layer := range m.Layers {
		diffID, err := extractLayer(blobs[blobPath(layer.Digest)], rootfs)
		if err != nil {
			return fmt.Errorf("layer %s: %w", layer.Digest, err)
		}
		if diffID != config.RootFS.DiffIDs[i] {
			return fmt.Errorf("layer %s: diff ID %s, config says %s", layer.Digest, diffID, config.RootFS.DiffIDs[i])
		}
	}
	return os.WriteFile(filepath.Join(*dir, "config.json"), config.Config, 0o644)
}

// readArchive reads every file of an OCI archive into memory, checking each blob's digest.
func readArchive(archivePath string) (map[string][]byte, error) {
	f, err := os.Open(archivePath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		if digest, isBlob := strings.CutPrefix(hdr.Name, "blobs/sha256/"); isBlob {
			if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != digest {
				return nil, fmt.Errorf("%s: content does not match its digest", hdr.Name)
			}
		}
		files[hdr.Name] = data
	}
	if string(files["oci-layout"]) == "" {
		return nil, errors.New("not an OCI image layout: no oci-layout file")
	}
	return files, nil
}

// extractLayer unpacks a gzip tar layer into rootfs (owners, modes, links and file
// capabilities included) and returns its diff ID.
func extractLayer(blob []byte, rootfs string) (string, error) {
	gz, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		return "", err
	}
	uncompressed := &countingHash{Hash: sha256.New()}
	tr := tar.NewReader(io.TeeReader(gz, uncompressed))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		target := filepath.Join(rootfs, filepath.FromSlash(hdr.Name))
		if !strings.HasPrefix(target, filepath.Clean(rootfs)+string(filepath.Separator)) {
			return "", fmt.Errorf("%s: outside the root filesystem", hdr.Name)
		}
		mode := hdr.FileInfo().Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return "", err
			}
		case tar.TypeReg:
			f, err := os.OpenFile(target, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
			if err != nil {
				return "", err
			}
			_, err = io.Copy(f, tr)
			if closeErr := f.Close(); err == nil {
				err = closeErr
			}
			if err != nil {
				return "", err
			}
		case tar.TypeSymlink:
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				return "", err
			}
			if err := os.Lchown(target, hdr.Uid, hdr.Gid); err != nil {
				return "", err
			}
			continue
		case tar.TypeLink:
			if err := os.Link(filepath.Join(rootfs, filepath.FromSlash(hdr.Linkname)), target); err != nil {
				return "", err
			}
			continue
		default:
			return "", fmt.Errorf("%s: unsupported entry type %c", hdr.Name, hdr.Typeflag)
		}
		// chown before chmod: chown clears setuid/setgid bits.
		if err := os.Lchown(target, hdr.Uid, hdr.Gid); err != nil {
			return "", err
		}
		if err := os.Chmod(target, mode); err != nil {
			return "", err
		}
		if value, ok := hdr.PAXRecords["SCHILY.xattr.security.capability"]; ok {
			if err := syscall.Setxattr(target, "security.capability", []byte(value), 0); err != nil {
				return "", fmt.Errorf("%s: file capability: %w", hdr.Name, err)
			}
		}
	}
	// Whatever follows the end-of-archive marker belongs to the diff ID too.
	if _, err := io.Copy(io.Discard, io.TeeReader(gz, uncompressed)); err != nil {
		return "", err
	}
	return uncompressed.digest(), nil
}
