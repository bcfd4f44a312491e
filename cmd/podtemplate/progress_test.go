package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	binOnce sync.Once
	binPath string
	binErr  string
)

// testBinary builds the command once for the tests that run it as a
// process (on a terminal, through bash).
func testBinary(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the binary")
	}
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "podtemplate-test-bin")
		if err != nil {
			binErr = err.Error()
			return
		}
		binPath = filepath.Join(dir, "podtemplate")
		if out, err := exec.Command(goBin, "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = "go build: " + err.Error() + "\n" + string(out)
		}
	})
	if binErr != "" {
		t.Fatal(binErr)
	}
	return binPath
}

func TestIsTerminal(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if isTerminal(null) {
		t.Error("/dev/null is taken for a terminal")
	}
	if isTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is taken for a terminal")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if isTerminal(w) {
		t.Error("a pipe is taken for a terminal")
	}
	// On a pseudo-terminal (script(1)), it is one.
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("no script(1) for a terminal")
	}
	bin := testBinary(t)
	out, err := exec.Command("script", "-qec", bin+" render --set x --no-such-flag", "/dev/null").Output()
	if err != nil && len(out) == 0 {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "\x1b[31merror:\x1b[0m") {
		t.Errorf("on a terminal, errors are not coloured:\n%q", out)
	}
	cmd := exec.Command(bin, "render", "--no-such-flag")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	_ = cmd.Run()
	if strings.Contains(stderr.String(), "\x1b[") {
		t.Errorf("to a pipe, errors are coloured:\n%q", stderr.String())
	}
}

func TestProgressFlags(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	a := &app{stderr: null}
	for _, tc := range []struct {
		p     progressFlags
		quiet bool
		tty   bool
	}{
		{progressFlags{progress: "auto"}, false, false}, // /dev/null: not a terminal
		{progressFlags{progress: "tty"}, false, true},
		{progressFlags{progress: "plain"}, false, false},
		{progressFlags{progress: "quiet"}, true, false},
		{progressFlags{progress: "auto", quiet: true}, true, false},
	} {
		if err := tc.p.check(); err != nil {
			t.Errorf("%+v: %v", tc.p, err)
		}
		w, tty := tc.p.status(a)
		if (w == io.Discard) != tc.quiet || tty != tc.tty {
			t.Errorf("%+v: discard=%v tty=%v, want %v %v", tc.p, w == io.Discard, tty, tc.quiet, tc.tty)
		}
	}
	for _, args := range [][]string{
		{"deploy", "-c", "x.yml", "--progress", "fancy", "s"},
		{"run", "-c", "x.yml", "--progress", "", "j"},
		{"jobs", "wait", "--progress", "loud", "s"},
	} {
		_, stderr, code := runCLI(t, "", args...)
		if code != exitUsage || !strings.Contains(stderr, "--progress") {
			t.Errorf("%q: exit %d\n%s", args, code, stderr)
		}
	}
}
