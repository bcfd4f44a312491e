package transform_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podtemplate/podtemplate/transform"
	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/retrieve"
)

// addCorpus seeds f with every stack file of the golden and error corpora.
func addCorpus(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "*", "*", "stack.yml"))
	for _, p := range files {
		// The hostile cases that spend a budget take seconds each; as
		// seeds they would make every go test slow, and the fuzzer finds
		// its way to them from the cheaper ones.
		name := filepath.Base(filepath.Dir(p))
		if strings.HasPrefix(name, "grow-") || strings.HasPrefix(name, "loop-") || strings.HasPrefix(name, "timeout-") {
			continue
		}
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
}

// FuzzRender renders arbitrary stack files read from stdin (templates are
// inline or missing): it must never panic, and every failure must be a
// positioned diag error, never a raw one.
func FuzzRender(f *testing.F) {
	addCorpus(f)
	f.Add([]byte("services:\n  a:\n    image: x\n    x-podlike:\n      templates:\n        - inline: \"{{ .Args.N }}: {image: y}\"\n      args: {N: b}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("x: &x {<<: *x}\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := transform.Options{Files: []string{"-"}, Stdin: strings.NewReader(string(data)), Cwd: dir, Env: map[string]string{"A": "1"}, Loaders: retrieve.Loaders{}, Warn: func(string) {}, TemplateTimeout: 5 * time.Second}
		res, err := transform.Render(context.Background(), opts)
		if err == nil {
			opts.Stdin = strings.NewReader(string(data))
			sameAsTree(t, opts, res.Output)
		}
		if err != nil {
			var d *diag.Error
			var l diag.List
			if !errors.As(err, &d) && !errors.As(err, &l) {
				t.Fatalf("error is not a diag error: %T %v", err, err)
			}
			if strings.Contains(err.Error(), "goroutine ") {
				t.Fatalf("stack trace in error: %v", err)
			}
		}
	})
}
