package validation

import (
	"strings"
	"testing"

	"github.com/podtemplate/podtemplate/transform/load"
	"github.com/podtemplate/podtemplate/transform/validation/internal/fastschema"
	"gopkg.in/yaml.v3"
)

func mappingOf(t *testing.T, text string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

// TestBuiltCheckerHoldsBuiltServicesToDockersRules: a built service is
// accepted or refused as docker's schema and loader would, with docker's
// message, and an accepted shape is remembered (services that differ
// only in label values are accepted without another run).
func TestBuiltCheckerHoldsBuiltServicesToDockersRules(t *testing.T) {
	root := mappingOf(t, "version: \"3.8\"\nservices: {}\n")
	c := NewBuiltChecker([]*load.File{{Name: "stack.yml", Dir: t.TempDir(), Root: root}}, root, nil)
	ok := "image: busybox\ndeploy:\n  labels:\n    a: \"1\"\n  replicas: 1\nports:\n  - \"80:80\"\n"
	// A valid service is decided without docker's compiled schema.
	observeSchemaCheck = func(doc map[string]any, version string, r fastschema.Result) {
		if r != fastschema.Valid {
			t.Errorf("fastschema: %v for %v", r, doc)
		}
	}
	defer func() { observeSchemaCheck = nil }()
	if msgs := c.Check("job", mappingOf(t, ok)); len(msgs) != 0 {
		t.Fatalf("valid service refused: %v", msgs)
	}
	if len(c.valid) != 1 {
		t.Fatalf("%d accepted shapes remembered; want 1", len(c.valid))
	}
	if msgs := c.Check("job2", mappingOf(t, strings.ReplaceAll(ok, `"1"`, `"2"`))); len(msgs) != 0 || len(c.valid) != 1 {
		t.Fatalf("same shape: %v, %d shapes; want accepted, 1 shape", msgs, len(c.valid))
	}
	observeSchemaCheck = nil
	for svc, want := range map[string]string{
		"image: busybox\ndeploy:\n  labels: hello\n":             "services.job.deploy.labels must be a mapping",
		"image: busybox\nports: 80\n":                            "services.job.ports must be a list",
		"image: busybox\ndeploy:\n  replicas: many\n":            "services.job.deploy.replicas must be a integer",
		"image: busybox\nports:\n  - \"99999:80\"\n":             "services.job.ports.0 Does not match format 'ports'",
		"image: busybox\nenvironment:\n  - A=1\n  - A=1\n":       "services.job.environment",
		"image: busybox\nunknown_key: 1\n":                       "Additional property unknown_key is not allowed",
		"image: busybox\ndeploy:\n  resources:\n    limits: 1\n": "services.job.deploy.resources.limits must be a mapping",
	} {
		msgs := c.Check("job", mappingOf(t, svc))
		if len(msgs) == 0 || !strings.Contains(strings.Join(msgs, "\n"), want) {
			t.Errorf("%q: got %q; want a message containing %q", svc, msgs, want)
		}
	}
}
