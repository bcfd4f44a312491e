package transform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/podtemplate/podtemplate/internal/stackcheck"
	"github.com/podtemplate/podtemplate/templates"
	"github.com/podtemplate/podtemplate/transform"
	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/retrieve"
	"gopkg.in/yaml.v3"
)

// TestDockerDifferential runs `docker stack config` and podtemplate on the
// stack files of testdata/docker (a case is one .yml file, or a folder of
// files merged in name order) and compares them:
//
//   - where docker accepts the input, podtemplate must accept it too, and
//     `docker stack config` of our output must mean the same as of the input
//     (canonical JSON, so key order and quoting do not matter);
//   - where docker rejects it, podtemplate must reject it with a first
//     problem on a line the case marks with a "#!" comment (docker's own
//     message has no line); a case docker accepts must mark none.
//
// A case's environment is in "# env: A=1 B=" lines (a folder's in its
// file "env"); the docker CLI and podtemplate see the same variables.
func TestDockerDifferential(t *testing.T) {
	if !stackcheck.Available() {
		t.Skip("docker CLI with 'stack config' not found; skipping the differential test against docker stack config")
	}
	root, err := filepath.Abs("../testdata/docker")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 150 {
		t.Fatalf("the corpus has %d cases; it should keep at least 150", len(entries))
	}
	home := t.TempDir()
	sem := make(chan struct{}, 2*runtime.GOMAXPROCS(0))
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".yml")
		c := diffCase{name: name, dir: root}
		if e.IsDir() {
			c.dir = filepath.Join(root, e.Name())
			files, _ := filepath.Glob(filepath.Join(c.dir, "*.yml"))
			sort.Strings(files)
			for _, f := range files {
				c.files = append(c.files, filepath.Base(f))
			}
			if len(c.files) == 0 {
				continue // a folder of files the cases use
			}
		} else if strings.HasSuffix(e.Name(), ".yml") {
			c.files = []string{e.Name()}
		} else {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sem <- struct{}{}
			defer func() { <-sem }()
			c.run(t, home)
		})
	}
}

type diffCase struct {
	name  string
	dir   string
	files []string
}

var envLine = regexp.MustCompile(`(?m)^# env:(.*)$`)

// env reads the case's variables.
func (c diffCase) env(t *testing.T) map[string]string {
	env := map[string]string{}
	var text string
	if data, err := os.ReadFile(filepath.Join(c.dir, "env")); err == nil && len(c.files) > 1 {
		text = string(data)
	} else {
		for _, f := range c.files {
			data, err := os.ReadFile(filepath.Join(c.dir, f))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range envLine.FindAllStringSubmatch(string(data), -1) {
				text += m[1] + "\n"
			}
		}
	}
	for _, kv := range strings.Fields(text) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// marks returns the lines of each file marked with "#!".
func (c diffCase) marks(t *testing.T) map[string]map[int]bool {
	out := map[string]map[int]bool{}
	for _, f := range c.files {
		data, err := os.ReadFile(filepath.Join(c.dir, f))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, "#!") {
				if out[f] == nil {
					out[f] = map[int]bool{}
				}
				out[f][i+1] = true
			}
		}
	}
	return out
}

func (c diffCase) run(t *testing.T, home string) {
	env := c.env(t)
	env["HOME"], env["PATH"] = home, os.Getenv("PATH")
	for _, k := range []string{"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY"} {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v // where the docker CLI finds its daemon (both sides see it)
		}
	}
	// Pods and jobs change meaning by design: docker reads their input
	// without the extension fields podtemplate consumes, and only the
	// verdicts are compared.
	extended := strings.HasPrefix(c.name, "pod-") || strings.HasPrefix(c.name, "job-")
	var want string
	var dockerErr error
	if strings.HasPrefix(c.name, "deploy-") {
		// Checks only `docker stack deploy` makes (image references):
		// it must refuse the file before creating anything.
		dockerErr = dockerDeployRefuses(t, c.dir, c.files[0], env)
	} else if extended {
		want, dockerErr = dockerConfigStripped(t, c.dir, c.files[0], env)
	} else {
		want, dockerErr = dockerConfig(c.dir, c.files, env, nil)
	}
	marks := c.marks(t)

	out := t.TempDir()
	opts := transform.Options{Files: c.files, Env: env, Cwd: c.dir, OutDir: out, Warn: func(string) {}, Loaders: retrieve.Loaders{Builtin: templates.Get}}
	res, err := transform.Render(context.Background(), opts)
	if dockerErr != nil {
		if len(marks) == 0 {
			t.Fatalf("docker rejects the input (%v) but the case marks no line with #!", dockerErr)
		}
		if err == nil {
			t.Fatalf("docker rejects the input (%v); podtemplate accepts it", dockerErr)
		}
		first := err
		var list diag.List
		if errors.As(err, &list) {
			first = list[0]
		}
		var d *diag.Error
		if !errors.As(first, &d) || !marks[d.File][d.Line] {
			t.Fatalf("docker rejects the input (%v); podtemplate's first problem is not on a marked line %v:\n%v", dockerErr, marks, err)
		}
		return
	}
	if len(marks) > 0 {
		t.Fatalf("docker accepts the input, but the case marks lines %v as rejected", marks)
	}
	if err != nil {
		t.Fatalf("docker accepts the input; podtemplate rejects it:\n%v", err)
	}
	if err := os.WriteFile(filepath.Join(out, "out.yml"), res.Output, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := dockerConfig(out, []string{"out.yml"}, env, nil)
	if err != nil {
		t.Fatalf("docker rejects our output: %v\n%s", err, res.Output)
	}
	if extended {
		return
	}
	if got != want {
		t.Fatalf("docker stack config means something else after podtemplate:\n--- input\n%s\n--- output\n%s\n--- our output file\n%s", want, got, res.Output)
	}
}

// dockerConfig runs docker stack config on files in dir with exactly env
// and returns its output as canonical JSON.
func dockerConfig(dir string, files []string, env map[string]string, stdin []byte) (string, error) {
	args := []string{"stack", "config"}
	for _, f := range files {
		args = append(args, "-c", f)
	}
	cmd := exec.Command("docker", args...)
	cmd.Dir = dir
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		return "", errors.New(strings.TrimSpace(stderr.String()) + " (" + err.Error() + ")")
	}
	var v any
	if err := yaml.Unmarshal(stdout.Bytes(), &v); err != nil {
		return "", err
	}
	// docker has read each env_file into environment; the path it prints
	// is the text given, which -o rebases.
	if m, ok := v.(map[string]any); ok {
		if services, ok := m["services"].(map[string]any); ok {
			for _, s := range services {
				if svc, ok := s.(map[string]any); ok {
					delete(svc, "env_file")
				}
			}
		}
	}
	data, err := json.MarshalIndent(canonical(v), "", " ")
	return string(data), err
}

// canonical makes v marshal the same whatever the YAML's key types.
func canonical(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = canonical(x)
		}
	case map[any]any:
		m := map[string]any{}
		for k, x := range t {
			m[strconv.Quote(toString(k))] = canonical(x)
		}
		return m
	case []any:
		for i, x := range t {
			t[i] = canonical(x)
		}
	}
	return v
}

func toString(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}

// dockerConfigStripped runs docker stack config on file less the x-podlike
// and x-jobs fields (top level and in services), read from stdin in dir.
func dockerConfigStripped(t *testing.T, dir, file string, env map[string]string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return dockerConfig(dir, []string{"-"}, env, data)
	}
	strip := func(m *yaml.Node) {
		if m == nil || m.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(m.Content); {
			if k := m.Content[i].Value; k == "x-podlike" || k == "x-jobs" {
				m.Content = append(m.Content[:i], m.Content[i+2:]...)
				continue
			}
			i += 2
		}
	}
	root := doc.Content[0]
	strip(root)
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "services" && root.Content[i+1].Kind == yaml.MappingNode {
			for j := 1; j < len(root.Content[i+1].Content); j += 2 {
				strip(root.Content[i+1].Content[j])
			}
		}
	}
	stripped, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return dockerConfig(dir, []string{"-"}, env, stripped)
}

// dockerDeployRefuses runs docker stack deploy on file, which must fail
// before it creates anything; it returns docker's message. Where it
// succeeds (a wrong case), the stack is removed and the test fails.
func dockerDeployRefuses(t *testing.T, dir, file string, env map[string]string) error {
	if out, err := exec.Command("docker", "info", "--format", "{{.Swarm.ControlAvailable}}").Output(); err != nil || strings.TrimSpace(string(out)) != "true" {
		t.Skip("no Swarm manager here; skipping a check only docker stack deploy makes")
	}
	stack := "i10-diff-" + strings.ReplaceAll(strings.TrimSuffix(file, ".yml"), "_", "-")
	cmd := exec.Command("docker", "stack", "deploy", "--detach=true", "-c", file, stack)
	cmd.Dir = dir
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err == nil {
		_ = exec.Command("docker", "stack", "rm", stack).Run()
		t.Fatalf("docker stack deploy accepts %s:\n%s", file, out)
	}
	return errors.New(strings.TrimSpace(string(out)))
}
