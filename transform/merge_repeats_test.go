package transform_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/podtemplate/podtemplate/internal/stackcheck"
	"github.com/podtemplate/podtemplate/transform"
	"gopkg.in/yaml.v3"
)

// TestMergeRepeatedItems merges an override that repeats list items the
// base file has. Docker's merge appends lists whole, so its merged config
// holds cap_add and dns items twice, which its own schema refuses on
// reading the file back ("array items[0,1] must be unique"); the output
// must keep one of each there, and both where the schema allows repeats
// (placement constraints), and docker stack config must accept it.
func TestMergeRepeatedItems(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"base.yml": `version: "3.8"
services:
  web:
    image: nginx:1.25   # base
    cap_add: [NET_ADMIN]
    dns: [10.0.0.2]
    deploy:
      placement:
        constraints: [node.role == worker]
`,
		"override.yml": `version: "3.8"
services:
  web:
    cap_add: [NET_ADMIN, SYS_TIME]
    dns: [10.0.0.2]
    deploy:
      placement:
        constraints: [node.role == worker]
`,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := transform.Render(context.Background(), transform.Options{Files: []string{"base.yml", "override.yml"}, Cwd: dir, Env: map[string]string{}, Warn: func(string) {}})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Services map[string]struct {
			CapAdd []string `yaml:"cap_add"`
			DNS    []string `yaml:"dns"`
			Deploy struct {
				Placement struct {
					Constraints []string `yaml:"constraints"`
				} `yaml:"placement"`
			} `yaml:"deploy"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(res.Output, &out); err != nil {
		t.Fatalf("%v\n%s", err, res.Output)
	}
	web := out.Services["web"]
	if len(web.CapAdd) != 2 || len(web.DNS) != 1 || len(web.Deploy.Placement.Constraints) != 2 {
		t.Errorf("cap_add %q (want NET_ADMIN, SYS_TIME), dns %q (want one), constraints %q (want docker's two):\n%s",
			web.CapAdd, web.DNS, web.Deploy.Placement.Constraints, res.Output)
	}
	if !stackcheck.Available() {
		t.Skip("docker CLI with 'stack config' not found; the output is not checked with it")
	}
	if err := stackcheck.Run(dir, res.Output, nil); err != nil {
		t.Errorf("docker stack config rejects the output: %v\n%s", err, res.Output)
	}
}
