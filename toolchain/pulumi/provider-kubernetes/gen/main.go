// Command gen writes the two files that main.go embeds, from the files upstream commits in
// cmd/pulumi-resource-kubernetes: the schema with its version set (the committed schema has
// none), and the Terraform mapping compacted. Usage: go run ./gen UPSTREAM_CMD_DIR VERSION OUT_DIR
package main

import (
	"bytes"
	"encoding/json"
	"log"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) != 4 {
		log.Fatal("usage: gen UPSTREAM_CMD_DIR VERSION OUT_DIR")
	}
	src, version, out := os.Args[1], os.Args[2], os.Args[3]

	var schema map[string]json.RawMessage
	readJSON(filepath.Join(src, "schema.json"), &schema)
	v, err := json.Marshal(version)
	if err != nil {
		log.Fatal(err)
	}
	schema["version"] = v
	writeJSON(filepath.Join(out, "schema-embed.json"), schema)

	mapping, err := os.ReadFile(filepath.Join(src, "terraform-mapping.json"))
	if err != nil {
		log.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, mapping); err != nil {
		log.Fatalf("terraform-mapping.json: %v", err)
	}
	if err := os.WriteFile(filepath.Join(out, "terraform-mapping-embed.json"), compact.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

func readJSON(path string, v any) {
	data, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		log.Fatalf("%s: %v", path, err)
	}
}

func writeJSON(path string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		log.Fatal(err)
	}
}
