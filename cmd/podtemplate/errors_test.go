package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var updateErrors = flag.Bool("update", false, "rewrite expected.err of the error corpus")

// TestErrorCorpus renders every case of testdata/errors: a bad input
// (stack.yml, or the files named in `args`) and the exact message it must
// produce in expected.err. Each must exit 1 (or the status in `exit`: 2
// for a command-line mistake), print nothing on stdout, never
// a stack trace, and leave no -o file behind.
func TestErrorCorpus(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "errors"))
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			t.Chdir(dir)
			args := []string{"podtemplate", "render"}
			if data, err := os.ReadFile("args"); err == nil {
				args = append(args, strings.Fields(string(data))...)
			} else {
				args = append(args, "stack.yml")
			}
			out := filepath.Join(t.TempDir(), "out.yml")
			args = append(args, "-o", out)
			env := map[string]string{}
			if data, err := os.ReadFile("env"); err == nil {
				for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
					if k, v, ok := strings.Cut(line, "="); ok {
						env[k] = v
					}
				}
			}
			for k, v := range env {
				t.Setenv(k, v)
			}
			var stdout, stderr bytes.Buffer
			code := run(args, &app{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr})
			wantCode := exitError
			if data, err := os.ReadFile("exit"); err == nil {
				wantCode, _ = strconv.Atoi(strings.TrimSpace(string(data)))
			}
			if code != wantCode {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, wantCode, stderr.String())
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout is not empty:\n%s", stdout.String())
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("-o file was written")
			}
			got := stderr.String()
			if strings.Contains(got, "goroutine ") || strings.Contains(got, "panic") {
				t.Errorf("stack trace in stderr:\n%s", got)
			}
			if *updateErrors {
				if err := os.WriteFile("expected.err", []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile("expected.err")
			if err != nil {
				t.Fatalf("%v (go test ./cmd/podtemplate -update creates it)", err)
			}
			if got != string(want) {
				t.Errorf("stderr differs from expected.err:\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}

func TestTerminalSafe(t *testing.T) {
	for in, want := range map[string]string{
		"plain: ünïcode\n\tand tabs": "plain: ünïcode\n\tand tabs",
		"\x1b[31mred\x1b[0m":         `\u001b[31mred\u001b[0m`,
		"bell\a nul\x00 c1\u009b":    `bell\u0007 nul\u0000 c1\u009b`,
	} {
		if got := terminalSafe(in); got != want {
			t.Errorf("terminalSafe(%q) = %q, want %q", in, got, want)
		}
	}
}
