package transform_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/podtemplate/podtemplate/internal/linediff"
	"github.com/podtemplate/podtemplate/internal/stackcheck"
	"github.com/podtemplate/podtemplate/transform"
)

// renderFile renders one stack file of dir with env as its only
// environment.
func renderFile(t *testing.T, dir, name string, env map[string]string) []byte {
	t.Helper()
	res, err := transform.Render(context.Background(), transform.Options{Files: []string{name}, Cwd: dir, Env: env, Warn: func(string) {}})
	if err != nil {
		t.Fatalf("%s: render: %v", name, err)
	}
	return res.Output
}

// checkAll runs docker stack config on every output, a few at a time.
func checkAll(t *testing.T, dir string, outputs map[string][]byte, env []string) {
	if !stackcheck.Available() {
		t.Log("docker CLI with 'stack config' not found; outputs not checked with it")
		return
	}
	names := make([]string, 0, len(outputs))
	for n := range outputs {
		names = append(names, n)
	}
	sort.Strings(names)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, n := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func(n string) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := stackcheck.Run(dir, outputs[n], env); err != nil {
				mu.Lock()
				t.Errorf("%s: docker stack config rejects the output: %v", n, err)
				mu.Unlock()
			}
		}(n)
	}
	wg.Wait()
}

// TestFaithfulPassThrough renders stack files without extension fields or
// variables, written in many styles: each output is the input, byte for
// byte.
func TestFaithfulPassThrough(t *testing.T) {
	dir, _ := filepath.Abs(filepath.Join("..", "testdata", "faithful"))
	files, _ := filepath.Glob(filepath.Join(dir, "*.yml"))
	if len(files) < 60 {
		t.Fatalf("found %d files in %s, want at least 60", len(files), dir)
	}
	outputs := map[string][]byte{}
	for _, f := range files {
		name := filepath.Base(f)
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out := renderFile(t, dir, name, map[string]string{})
		if !bytes.Equal(out, in) {
			t.Errorf("%s: the output is not the input:\n%s", name, lineDiff(string(in), string(out)))
		}
		outputs[name] = out
	}
	checkAll(t, dir, outputs, nil)
}

// lineDiff shows the lines of a and b that differ, for messages.
func lineDiff(a, b string) string {
	al, bl := strings.SplitAfter(a, "\n"), strings.SplitAfter(b, "\n")
	var out strings.Builder
	for _, h := range linediff.Hunks(al, bl) {
		for _, l := range al[h.A0:h.A1] {
			out.WriteString("- " + strings.TrimRight(l, "\n") + "\n")
		}
		for _, l := range bl[h.B0:h.B1] {
			out.WriteString("+ " + strings.TrimRight(l, "\n") + "\n")
		}
		out.WriteString("--\n")
	}
	return out.String()
}

// varsEnv is the environment of testdata/faithful-vars.
var varsEnv = map[string]string{
	"NGINX_TAG": "1.27", "PORT": "8080", "REPLICAS": "3", "STACK_NAME": "shop", "NAME": "Ann Lee",
	"APP_TAG": "2.0", "MODE": "fast", "EMPTY": "", "PRICE": "$9",
}

// TestFaithfulVariables renders stack files with variables in many
// styles: only the lines holding a variable change, and the output means
// what docker stack config makes of the input in the same environment.
func TestFaithfulVariables(t *testing.T) {
	dir, _ := filepath.Abs(filepath.Join("..", "testdata", "faithful-vars"))
	files, _ := filepath.Glob(filepath.Join(dir, "*.yml"))
	if len(files) < 20 {
		t.Fatalf("found %d files in %s, want at least 20", len(files), dir)
	}
	var env []string
	for k, v := range varsEnv {
		env = append(env, k+"="+v)
	}
	for _, f := range files {
		name := filepath.Base(f)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out := renderFile(t, dir, name, varsEnv)
		sameAsTree(t, transform.Options{Files: []string{name}, Cwd: dir, Env: varsEnv, Warn: func(string) {}}, out)
		in, got := strings.SplitAfter(string(data), "\n"), strings.SplitAfter(string(out), "\n")
		hunks := linediff.Hunks(in, got)
		if len(hunks) == 0 {
			t.Errorf("%s: nothing changed", name)
		}
		for _, h := range hunks {
			for _, l := range in[h.A0:h.A1] {
				if !strings.Contains(l, "$") {
					t.Errorf("%s: a line without a variable changed: %q\n%s", name, l, lineDiff(string(data), string(out)))
				}
			}
			if h.A1-h.A0 != h.B1-h.B0 {
				t.Errorf("%s: %d lines became %d:\n%s", name, h.A1-h.A0, h.B1-h.B0, lineDiff(string(data), string(out)))
			}
		}
		if !stackcheck.Available() {
			continue
		}
		want, err := stackConfig(dir, data, env)
		if err != nil {
			t.Fatalf("%s: docker stack config rejects the input: %v", name, err)
		}
		have, err := stackConfig(dir, out, nil)
		if err != nil {
			t.Fatalf("%s: docker stack config rejects the output: %v", name, err)
		}
		if have != want {
			t.Errorf("%s: the output does not mean what the input means to docker:\n%s", name, lineDiff(want, have))
		}
	}
}

// stackConfig is what `docker stack config` prints for data, in dir, with
// env added to the environment.
func stackConfig(dir string, data []byte, env []string) (string, error) {
	f, err := os.CreateTemp(dir, ".stackconfig-*.yml")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		return "", err
	}
	f.Close()
	cmd := exec.Command("docker", "stack", "config", "-c", filepath.Base(f.Name()))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.String(), nil
}

// TestFaithfulMerge renders two files: the output is the first file's
// text where the merge left it, its changed values replaced in place, and
// the added service written in its layout.
func TestFaithfulMerge(t *testing.T) {
	dir, _ := filepath.Abs(filepath.Join("..", "testdata", "faithful-merge"))
	res, err := transform.Render(context.Background(), transform.Options{Files: []string{"base.yml", "prod.yml"}, Cwd: dir, Env: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile(filepath.Join(dir, "base.yml"))
	if err != nil {
		t.Fatal(err)
	}
	in, out := strings.SplitAfter(string(base), "\n"), strings.SplitAfter(string(res.Output), "\n")
	var changed, added []string
	for _, h := range linediff.Hunks(in, out) {
		changed = append(changed, in[h.A0:h.A1]...)
		added = append(added, out[h.B0:h.B1]...)
	}
	wantChanged := []string{
		"        image: nginx:1.25   # the tag changes in prod\n",
		"            replicas: 1\n",
		"            LOG_LEVEL: info\n",
	}
	wantAdded := []string{
		"        image: nginx:1.27   # the tag changes in prod\n",
		"            replicas: 3\n",
		"            LOG_LEVEL: warn\n",
		"    cache:\n",
		"        image: redis:7\n",
		"        command: [\"redis-server\", \"--appendonly\", \"yes\"]\n",
	}
	if strings.Join(changed, "") != strings.Join(wantChanged, "") || strings.Join(added, "") != strings.Join(wantAdded, "") {
		t.Errorf("the merge changed more than it must:\n%s", lineDiff(string(base), string(res.Output)))
	}
	if !stackcheck.Available() {
		return
	}
	cmd := exec.Command("docker", "stack", "config", "-c", "base.yml", "-c", "prod.yml")
	cmd.Dir = dir
	want, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker stack config on the inputs: %v", err)
	}
	have, err := stackConfig(dir, res.Output, nil)
	if err != nil {
		t.Fatal(err)
	}
	if have != string(want) {
		t.Errorf("the output does not mean what the files mean to docker:\n%s", lineDiff(string(want), have))
	}
}
