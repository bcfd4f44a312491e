package transform_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podtemplate/podtemplate/transform"
	"github.com/podtemplate/podtemplate/transform/diag"
)

// A stack with problems in five stages: interpolation (line 5), the
// x-podlike configuration (line 8), docker's schema (lines 11 and 14),
// docker's loader (line 17) and a template (service side).
const severalStages = `version: "3.8"
services:
  web:
    image: nginx
    hostname: ${NAME:?set NAME}
    x-podlike:
      templates:
        - inline: "a: {}"
          file: two-kinds.yml
    deploy:
      replica: 2
  api:
    image: nginx
    ports: 80
  worker:
    image: nginx
    command: sh -c 'unclosed
  side:
    image: nginx
    x-podlike:
      templates:
        - inline: "{{ required \"give Port\" .Args.Port }}"
`

func renderStages(t *testing.T, keepGoing bool) ([]string, error) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "stack.yml"), []byte(severalStages), 0o644); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	_, err := transform.Render(context.Background(), transform.Options{
		Files: []string{"stack.yml"}, Cwd: dir, Env: map[string]string{}, KeepGoing: keepGoing,
		Warn: func(w string) { warnings = append(warnings, w) },
	})
	return warnings, err
}

// TestValidateReportsEveryStage: validate (KeepGoing) reports the problems
// of every stage in one run, sorted by position; render stops after the
// first stage with problems.
func TestValidateReportsEveryStage(t *testing.T) {
	_, err := renderStages(t, true)
	var list diag.List
	if !errors.As(err, &list) {
		t.Fatalf("want several problems, got %v", err)
	}
	var lines []int
	for _, e := range list {
		var d *diag.Error
		if !errors.As(e, &d) {
			t.Fatalf("problem without a position: %v", e)
		}
		lines = append(lines, d.Line)
	}
	want := []int{5, 8, 11, 14, 17, 22}
	if len(lines) != len(want) {
		t.Fatalf("problems on lines %v, want %v:\n%v", lines, want, err)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Fatalf("problems on lines %v, want %v:\n%v", lines, want, err)
		}
	}
	for _, part := range []string{"required variable NAME is missing a value", "exactly one of", "Additional property replica is not allowed", "services.api.ports must be a list", "closing quote", "give Port"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("no %q in:\n%v", part, err)
		}
	}

	_, err = renderStages(t, false)
	if err == nil || errors.As(err, &list) || !strings.Contains(err.Error(), "required variable NAME") {
		t.Fatalf("render should stop at the interpolation stage with its one problem, got:\n%v", err)
	}
}

// TestIgnoredOptionsWarnings: keys docker stack deploy ignores get its
// warnings; on a pod, keys the build moves into the main component are
// used, not ignored.
func TestIgnoredOptionsWarnings(t *testing.T) {
	dir := t.TempDir()
	stack := `version: "3.8"
services:
  web:
    image: nginx
    build: .
    restart: always
    container_name: web
    privileged: true
    x-podlike: {}
  plain:
    image: nginx
    security_opt: ["label:disable"]
    expose: ["80"]
`
	if err := os.WriteFile(filepath.Join(dir, "stack.yml"), []byte(stack), 0o644); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	_, err := transform.Render(context.Background(), transform.Options{
		Files: []string{"stack.yml"}, Cwd: dir, Env: map[string]string{},
		Warn: func(w string) { warnings = append(warnings, w) },
	})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(warnings, "\n")
	for _, want := range []string{
		"Ignoring unsupported options: build, restart, security_opt",
		"Ignoring deprecated options:\n\ncontainer_name: Setting the container name is not supported.\n\nexpose: Exposing ports is unnecessary",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "privileged") {
		t.Errorf("privileged goes to the pod's main component, yet it is reported as ignored:\n%s", got)
	}
}

// TestValidateTemplateThatDoesNotParse: validate (KeepGoing) reports a
// template that does not parse, with the other stages' problems, and
// builds nothing without templates (it used to dereference the missing
// engine).
func TestValidateTemplateThatDoesNotParse(t *testing.T) {
	dir := t.TempDir()
	stack := `services:
  web:
    image: nginx
    ports: 80
    x-podlike:
      pod:
        inline: "pod: {{ .Args.X "
`
	if err := os.WriteFile(filepath.Join(dir, "stack.yml"), []byte(stack), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := transform.Render(context.Background(), transform.Options{
		Files: []string{"stack.yml"}, Cwd: dir, Env: map[string]string{}, KeepGoing: true,
	})
	for _, part := range []string{"unclosed action", "ports must be a list"} {
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Errorf("want %q among the problems, got %v", part, err)
		}
	}
}
