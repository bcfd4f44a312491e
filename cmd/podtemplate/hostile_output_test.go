package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const plainStack = "version: \"3.8\"\nservices:\n  web:\n    image: nginx\n"

// renderTo runs `render stack.yml -o out` in dir, in process.
func renderTo(t *testing.T, dir, out string) (int, string) {
	t.Helper()
	t.Chdir(dir)
	var stdout, stderr bytes.Buffer
	code := run([]string{"podtemplate", "render", "stack.yml", "-o", out}, &app{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr})
	if stdout.Len() > 0 {
		t.Errorf("stdout: %q", stdout.String())
	}
	return code, stderr.String()
}

// leftovers lists the files of dir other than the given ones.
func leftovers(t *testing.T, dir string, known ...string) []string {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		found := false
		for _, k := range known {
			found = found || e.Name() == k
		}
		if !found {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestOutputKeepsAnExistingFilesMode(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "stack.yml"), []byte(plainStack), 0o644)
	out := filepath.Join(dir, "out.yml")
	if err := os.WriteFile(out, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, stderr := renderTo(t, dir, out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	st, err := os.Stat(out)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", st.Mode(), err)
	}
	if data, _ := os.ReadFile(out); string(data) != plainStack {
		t.Errorf("content %q", data)
	}
	os.Remove(out)
	if code, stderr := renderTo(t, dir, out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o644 {
		t.Errorf("a new file has mode %v; want 0644", st.Mode())
	}
	if left := leftovers(t, dir, "stack.yml", "out.yml"); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

func TestOutputNeverReplacesASymlinkOrItsTarget(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "stack.yml"), []byte(plainStack), 0o644)
	target := filepath.Join(dir, "target.yml")
	os.WriteFile(target, []byte("keep"), 0o644)
	link := filepath.Join(dir, "link.yml")
	if err := os.Symlink("target.yml", link); err != nil {
		t.Fatal(err)
	}
	code, stderr := renderTo(t, dir, link)
	if code != 1 || !strings.Contains(stderr, "is a symbolic link") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	if data, _ := os.ReadFile(target); string(data) != "keep" {
		t.Errorf("target changed: %q", data)
	}
	if l, err := os.Readlink(link); err != nil || l != "target.yml" {
		t.Errorf("link changed: %q, %v", l, err)
	}
	if left := leftovers(t, dir, "stack.yml", "target.yml", "link.yml"); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

func TestOutputToDevices(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "stack.yml"), []byte(plainStack), 0o644)
	if code, stderr := renderTo(t, dir, "/dev/null"); code != 0 {
		t.Errorf("/dev/null: exit %d: %s", code, stderr)
	}
	if st, err := os.Stat("/dev/null"); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is no longer a device: %v %v", st.Mode(), err)
	}
	if _, err := os.Stat("/dev/full"); err == nil {
		code, stderr := renderTo(t, dir, "/dev/full")
		if code != 1 || stderr != "error: cannot write /dev/full: no space left on device\n" {
			t.Errorf("/dev/full: exit %d: %q", code, stderr)
		}
	}
}

// TestLyingContentLengthPrintsNothing serves a template whose body is
// longer than its Content-Length, with an HTTP response of the server's
// choosing after it: Go's HTTP client logs such bytes (text the server
// controls) unless its logger is silenced.
func TestLyingContentLengthPrintsNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				body := "c: {image: busybox}\n"
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%sHTTP/1.1 200 OK\r\nX-Evil: SERVER-CONTROLLED LINE\r\n\r\n", len(body), body)
				r.ReadString('\n')
			}()
		}
	}()
	dir := t.TempDir()
	stack := plainStack + "    x-podlike:\n      templates:\n        - http: http://" + ln.Addr().String() + "/t.yml\n"
	os.WriteFile(filepath.Join(dir, "stack.yml"), []byte(stack), 0o644)
	r := runGuarded(t, dir, []string{"render", "stack.yml", "--cache-dir", filepath.Join(dir, "cache")}, nil, nil, nil, 0)
	checkGuarded(t, r, true)
	if r.code != 0 || r.stderr != "" {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if strings.Contains(r.stderr+r.stdout, "SERVER-CONTROLLED") || strings.Contains(r.stderr, "Unsolicited") {
		t.Errorf("the server's bytes were printed:\n%s", r.stderr)
	}
}
