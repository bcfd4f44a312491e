// Package stackcheck runs `docker stack config`, the reference check that
// a rendered file is a valid stack file, for tests.
package stackcheck

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
)

var (
	once      sync.Once
	available bool
)

// Available reports whether a docker CLI with `stack config` is present.
func Available() bool {
	once.Do(func() {
		if _, err := exec.LookPath("docker"); err != nil {
			return
		}
		available = exec.Command("docker", "stack", "config", "--help").Run() == nil
	})
	return available
}

// Check runs `docker stack config -c file` in dir with env and fails t with
// docker's message when it rejects the file. It skips (with a message)
// where no docker CLI exists.
func Check(t testing.TB, dir string, data []byte, env []string) {
	t.Helper()
	if !Available() {
		t.Skip("docker CLI with 'stack config' not found; skipping the docker stack config check")
	}
	if err := Run(dir, data, env); err != nil {
		t.Fatalf("docker stack config rejects the output: %v", err)
	}
}

// Run is Check without testing: it returns docker's error. The file is
// given on standard input (-c -), so docker resolves relative paths from
// dir as it would for a file there, and nothing is written into dir (test
// data folders other tests read while this runs).
func Run(dir string, data []byte, env []string) error {
	cmd := exec.Command("docker", "stack", "config", "-c", "-")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &bytes.Buffer{}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}
