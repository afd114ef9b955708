//go:build imagetest

package imagetest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// image is one entry of images/images.json: the facts build.sh builds the image with and the
// stack's unit tests hold the program to. The containers here run as the image's user, as the
// platform's pod specs do.
type image struct {
	Tag  string
	User struct {
		Name string
		UID  int `json:"uid"`
		GID  int `json:"gid"`
	}
	Ports []struct {
		Name     string
		Port     int
		Protocol string
		Env      string
	}
	// ref is the full reference build.sh prints: repository/name:tag, versions filled in.
	ref string
}

// images is images.json, by image name; setUp loads it.
var images map[string]image

// A tag's ${NAME}: NAME's value in toolchain/versions.env.
var versionVariable = regexp.MustCompile(`\$\{([A-Z0-9_]+)\}`)

func loadImages(factsFile, versionsFile string) (map[string]image, error) {
	data, err := os.ReadFile(factsFile)
	if err != nil {
		return nil, err
	}
	var facts struct {
		Repository string
		Images     map[string]image
	}
	if err := json.Unmarshal(data, &facts); err != nil {
		return nil, fmt.Errorf("%s: %v", factsFile, err)
	}
	if facts.Repository == "" || len(facts.Images) == 0 {
		return nil, fmt.Errorf("%s: no repository or no images", factsFile)
	}
	versions, err := readVersions(versionsFile)
	if err != nil {
		return nil, err
	}
	loaded := map[string]image{}
	for name, img := range facts.Images {
		var missing []string
		tag := versionVariable.ReplaceAllStringFunc(img.Tag, func(variable string) string {
			value, ok := versions[versionVariable.FindStringSubmatch(variable)[1]]
			if !ok {
				missing = append(missing, variable)
			}
			return value
		})
		if len(missing) > 0 {
			return nil, fmt.Errorf("%s: image %s: %s not in %s", factsFile, name, strings.Join(missing, ", "), versionsFile)
		}
		img.ref = facts.Repository + "/" + name + ":" + tag
		loaded[name] = img
	}
	return loaded, nil
}

// readVersions reads the NAME=VALUE lines of toolchain/versions.env.
func readVersions(file string) (map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	versions := map[string]string{}
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if name, value, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			versions[name] = value
		}
	}
	return versions, scanner.Err()
}

// imageNamed is the image called name in images.json; the test fails without one.
func imageNamed(t *testing.T, name string) image {
	t.Helper()
	img, ok := images[name]
	if !ok {
		t.Fatalf("no image %q in images.json", name)
	}
	return img
}

// port is the number of the image's port called portName in images.json.
func port(t *testing.T, imageName, portName string) int {
	t.Helper()
	for _, p := range imageNamed(t, imageName).Ports {
		if p.Name == portName {
			return p.Port
		}
	}
	t.Fatalf("image %s has no port %q in images.json", imageName, portName)
	return 0
}

// Each image's config carries its facts: the user, the exposed ports, the variables that tell
// the program its ports (build.sh writes them from images.json).
func TestImageConfigsCarryTheirFacts(t *testing.T) {
	for name, img := range images {
		t.Run(name, func(t *testing.T) {
			_, config := unpack(t, img.ref)
			if want := fmt.Sprintf("%d:%d", img.User.UID, img.User.GID); config.User != want {
				t.Errorf("User %q, want %q", config.User, want)
			}
			var want []string
			for _, p := range img.Ports {
				want = append(want, fmt.Sprintf("%d/%s", p.Port, strings.ToLower(p.Protocol)))
				if p.Env != "" && !slices.Contains(config.Env, fmt.Sprintf("%s=%d", p.Env, p.Port)) {
					t.Errorf("Env %q lacks %s=%d (port %s)", config.Env, p.Env, p.Port, p.Name)
				}
			}
			exposed := slices.Collect(maps.Keys(config.ExposedPorts))
			slices.Sort(want)
			slices.Sort(exposed)
			if !slices.Equal(exposed, want) {
				t.Errorf("ExposedPorts %q, want %q", exposed, want)
			}
		})
	}
}
