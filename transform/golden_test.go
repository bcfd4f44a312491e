package transform_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podtemplate/podtemplate/internal/stackcheck"
	"github.com/podtemplate/podtemplate/templates"
	"github.com/podtemplate/podtemplate/transform"
	"github.com/podtemplate/podtemplate/transform/emit"
	"github.com/podtemplate/podtemplate/transform/retrieve"
	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the expected output of golden cases")

// goldenCase is one folder of testdata/golden: the input files, optional
// `args` (command-line style: -c FILE, --set K=V, --args-file F,
// --env-file F, --no-interpolate, --strict, --controller-image I,
// --format json, --library P), optional `env` (VAR=value lines, the only
// environment the case sees) and the expected output `expected.yml` (or
// expected.json).
type goldenCase struct {
	dir  string
	opts transform.Options
	env  []string
}

func loadCase(t *testing.T, dir string) goldenCase {
	t.Helper()
	c := goldenCase{dir: dir}
	o := &c.opts
	o.Cwd, o.OutDir = dir, dir
	o.Env = map[string]string{}
	o.Loaders = retrieve.Loaders{Builtin: templates.Get}
	o.Warn = func(string) {}
	if data, err := os.ReadFile(filepath.Join(dir, "env")); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				o.Env[k] = v
				c.env = append(c.env, line)
			}
		}
	}
	var args []string
	if data, err := os.ReadFile(filepath.Join(dir, "args")); err == nil {
		args = strings.Fields(string(data))
	}
	for i := 0; i < len(args); i++ {
		next := func() string { i++; return args[i] }
		switch args[i] {
		case "-c":
			o.Files = append(o.Files, next())
		case "--set":
			o.Set = append(o.Set, next())
		case "--args-file":
			o.ArgsFiles = append(o.ArgsFiles, next())
		case "--env-file":
			o.EnvFiles = append(o.EnvFiles, next())
		case "--no-interpolate":
			o.NoInterpolate = true
		case "--strict":
			o.Strict = true
		case "--controller-image":
			o.ControllerImage = next()
		case "--format":
			o.Format = emit.Format(next())
		case "--library":
			o.Library = append(o.Library, next())
		case "--out-dir":
			o.OutDir = filepath.Join(dir, next())
		default:
			t.Fatalf("%s/args: unknown option %q", dir, args[i])
		}
	}
	if len(o.Files) == 0 {
		o.Files = []string{"stack.yml"}
	}
	return c
}

func (c goldenCase) expectedPath() string {
	if c.opts.Format == emit.JSON {
		return filepath.Join(c.dir, "expected.json")
	}
	return filepath.Join(c.dir, "expected.yml")
}

func caseDirs(t *testing.T, root string) []string {
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(root, e.Name()))
		}
	}
	return dirs
}

func TestGolden(t *testing.T) {
	for _, dir := range caseDirs(t, filepath.Join("..", "testdata", "golden")) {
		dir := dir
		t.Run(filepath.Base(dir), func(t *testing.T) {
			abs, _ := filepath.Abs(dir)
			c := loadCase(t, abs)
			res, err := transform.Render(context.Background(), c.opts)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			// Component bind sources and env files are absolute (the
			// controller needs them so); the case's folder is written as
			// /golden-case so the expected files do not depend on where
			// the repository is.
			got := bytes.ReplaceAll(res.Output, []byte(abs), []byte("/golden-case"))
			if *update {
				if err := os.WriteFile(c.expectedPath(), got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(c.expectedPath())
			if err != nil {
				t.Fatalf("%v (run go test ./transform -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (go test ./transform -update rewrites it):\n--- got\n%s\n--- want\n%s", c.expectedPath(), got, want)
			}
			// The same input renders byte-identically, run after run.
			for i := 0; i < 3; i++ {
				again, err := transform.Render(context.Background(), loadCase(t, abs).opts)
				if err != nil {
					t.Fatalf("render again: %v", err)
				}
				if !bytes.Equal(again.Output, res.Output) {
					t.Fatalf("run %d rendered different output", i+2)
				}
			}
			stackcheck.Check(t, c.opts.OutDir, res.Output, c.env)
		})
	}
}

// TestExamples renders every example stack and checks it with docker stack
// config, from the example's folder (relative paths stay valid there).
func TestExamples(t *testing.T) {
	stacks, _ := filepath.Glob(filepath.Join("..", "examples", "*", "stack.yml"))
	if len(stacks) < 3 {
		t.Fatalf("found %d examples, want at least 3", len(stacks))
	}
	for _, stack := range stacks {
		dir, _ := filepath.Abs(filepath.Dir(stack))
		t.Run(filepath.Base(dir), func(t *testing.T) {
			opts := transform.Options{Files: []string{"stack.yml"}, Cwd: dir, Env: map[string]string{}, Strict: true,
				Loaders: retrieve.Loaders{Builtin: templates.Get}, Warn: func(string) {}}
			res, err := transform.Render(context.Background(), opts)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			var doc yaml.Node
			if err := yaml.Unmarshal(res.Output, &doc); err != nil {
				t.Fatal(err)
			}
			root := doc.Content[0]
			for _, key := range []string{"x-podlike", "x-jobs"} {
				for i := 0; i < len(root.Content); i += 2 {
					if root.Content[i].Value == key {
						t.Errorf("top-level %s left in the output", key)
					}
				}
				if bytes.Contains(res.Output, []byte("\n    "+key+":")) {
					t.Errorf("service-level %s left in the output", key)
				}
			}
			stackcheck.Check(t, dir, res.Output, nil)
		})
	}
}
