package dockercli

import (
	"bytes"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// copies are the files copied from docker/cli: the copy's path in this
// folder, the upstream path in the docker/cli module, and the one edit
// made to it (old and new text; empty for a verbatim copy).
var copies = []struct {
	copy, upstream string
	old, new       string
}{
	{copy: "convert/compose.go", upstream: "cli/compose/convert/compose.go"},
	{copy: "convert/volume.go", upstream: "cli/compose/convert/volume.go"},
	{copy: "convert/service.go", upstream: "cli/compose/convert/service.go",
		old: `servicecli "github.com/docker/cli/cli/command/service"`,
		new: `servicecli "github.com/podtemplate/podtemplate/internal/dockercli/service"`},
	{copy: "service/parse.go", upstream: "cli/command/service/parse.go"},
	{copy: "LICENSE", upstream: "LICENSE"},
	{copy: "NOTICE", upstream: "NOTICE"},
}

// TestCopiesMatchUpstream keeps the copies equal to the docker/cli
// version go.mod requires, so that diff converts as the docker stack
// deploy of that version: after a docker/cli upgrade it fails until the
// files are copied again (and the list of files still covers what
// convert imports from docker/cli's heavy packages).
func TestCopiesMatchUpstream(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH to find the docker/cli module; skipping")
	}
	out, err := exec.Command(goBin, "list", "-m", "-f", "{{.Dir}}", "github.com/docker/cli").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/docker/cli: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		t.Skip("the docker/cli module is not in the module cache; skipping")
	}
	copied := map[string]bool{}
	for _, c := range copies {
		copied[c.upstream] = true
	}
	// Every non-test file of upstream's convert package is copied.
	sources, err := filepath.Glob(filepath.Join(dir, "cli", "compose", "convert", "*.go"))
	if err != nil || len(sources) == 0 {
		t.Fatalf("no sources of docker/cli's cli/compose/convert in %s: %v", dir, err)
	}
	for _, s := range sources {
		if rel := "cli/compose/convert/" + filepath.Base(s); !strings.HasSuffix(s, "_test.go") && !copied[rel] {
			t.Errorf("docker/cli's %s is not copied into convert/", rel)
		}
	}
	for _, c := range copies {
		want, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(c.upstream)))
		if err != nil {
			t.Errorf("%s: %v", c.copy, err)
			continue
		}
		if c.old != "" {
			if !bytes.Contains(want, []byte(c.old)) {
				t.Errorf("%s: upstream %s no longer contains %q: copy it again and review the edit", c.copy, c.upstream, c.old)
				continue
			}
			want = bytes.Replace(want, []byte(c.old), []byte(c.new), 1)
			// The new import path sorts elsewhere in the import block.
			if want, err = format.Source(want); err != nil {
				t.Fatalf("%s: %v", c.copy, err)
			}
		}
		got, err := os.ReadFile(filepath.FromSlash(c.copy))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from docker/cli's %s in %s: copy it again (see doc.go)", c.copy, c.upstream, dir)
		}
	}
}
