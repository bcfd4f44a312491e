package transform_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podtemplate/podtemplate/transform"
	"github.com/podtemplate/podtemplate/transform/retrieve"
)

// Each test here is a defect found in podlike's template command that
// podtemplate must not repeat (the golden and error corpora cover the
// others).

func renderIn(t *testing.T, dir string, files []string, stdin string) string {
	t.Helper()
	opts := transform.Options{Files: files, Stdin: strings.NewReader(stdin), Cwd: dir, Env: map[string]string{}, Loaders: retrieve.Loaders{}, Warn: func(string) {}}
	res, err := transform.Render(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return string(res.Output)
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// podlike broke absolute template paths.
func TestAbsoluteTemplatePath(t *testing.T) {
	dir := t.TempDir()
	tmpl := filepath.Join(t.TempDir(), "sidecar.yml")
	write(t, tmpl, "side:\n  image: busybox\n")
	out := renderIn(t, dir, []string{"-"}, "services:\n  a:\n    image: x\n    x-podlike:\n      templates: "+tmpl+"\n")
	if !strings.Contains(out, "pod.component.side") {
		t.Errorf("absolute template path not used:\n%s", out)
	}
}

// podlike resolved relative paths under /dev when the stack came on stdin.
func TestStdinRelativePaths(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "templates", "side.yml"), "side:\n  image: busybox\n")
	out := renderIn(t, dir, []string{"-"}, "services:\n  a:\n    image: x\n    x-podlike:\n      templates: templates/side.yml\n")
	if !strings.Contains(out, "pod.component.side") {
		t.Errorf("stdin stack's relative template path not resolved against the current directory:\n%s", out)
	}
}

// podlike ignored top-level pod/transformer/init when a service-level
// block existed, dropped top-level init, and dropped per-service args
// when the service-level block had no args.
func TestBothLevelsCombine(t *testing.T) {
	dir := t.TempDir()
	stack := `services:
  a:
    image: x
    x-podlike:
      templates:
        - inline: "side: {image: 'side:{{ .Args.Tag }}'}"
x-podlike:
  a:
    pod:
      inline: "pod: {command: '-logs -pids=false'}"
    transformer:
      inline: "main: {environment: [LEVEL={{ .Args.Level }}]}"
    init:
      - inline: "i: {image: 'init:1'}"
    args:
      Tag: "7"
      Level: debug
`
	out := renderIn(t, dir, []string{"-"}, stack)
	for _, want := range []string{"-logs -pids=false", "pod.component.main", "LEVEL=debug", "pod.init.components", "init:1", "side:7"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q:\n%s", want, out)
		}
	}
}
