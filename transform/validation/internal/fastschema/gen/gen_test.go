package main

import (
	"bytes"
	"os"
	"testing"
)

// TestTablesAreCurrent regenerates tables.go from the docker/cli module
// the build uses and fails when the committed file differs: after a
// docker/cli update, run go generate ./transform/validation/...
func TestTablesAreCurrent(t *testing.T) {
	dir, version, err := dockerCLI()
	if err != nil {
		t.Fatal(err)
	}
	want, err := Generate(dir, version)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../tables.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("fastschema/tables.go is stale for github.com/docker/cli %s: run go generate ./transform/validation/internal/fastschema", version)
	}
}
