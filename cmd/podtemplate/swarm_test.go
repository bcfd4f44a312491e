package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	swarmOnce sync.Once
	swarmSkip string
	swarmFail string
)

// needSwarm skips t unless a Docker daemon answers (with -short or
// PODTEMPLATE_E2E=0 it always skips). It initialises a single-node Swarm
// when the engine is in none, and builds the local test image
// podtemplate-e2e:latest (FROM scratch, nothing pulled) once.
func needSwarm(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the tests on a real Swarm")
	}
	swarmOnce.Do(func() {
		if os.Getenv("PODTEMPLATE_E2E") == "0" {
			swarmSkip = "tests on a real Swarm disabled by PODTEMPLATE_E2E=0"
			return
		}
		if _, err := exec.LookPath("docker"); err != nil {
			swarmSkip = "no docker CLI in PATH: skipping the tests on a real Swarm"
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		state, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.Swarm.LocalNodeState}}").Output()
		if err != nil {
			swarmSkip = "no Docker daemon answers: skipping the tests on a real Swarm"
			return
		}
		if strings.TrimSpace(string(state)) == "inactive" {
			if out, err := exec.CommandContext(ctx, "docker", "swarm", "init", "--advertise-addr", "127.0.0.1").CombinedOutput(); err != nil {
				swarmFail = "docker swarm init: " + err.Error() + "\n" + string(out)
				return
			}
		}
		root, _ := filepath.Abs("../..")
		cmd := exec.CommandContext(ctx, "sh", filepath.Join(root, "scripts", "e2e-image.sh"))
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			swarmFail = "building the test image: " + err.Error() + "\n" + string(out)
		}
	})
	if swarmSkip != "" {
		t.Skip(swarmSkip)
	}
	if swarmFail != "" {
		t.Fatal(swarmFail)
	}
}

// testStack returns a fresh stack name, removed when the test ends.
func testStack(t *testing.T, base string) string {
	t.Helper()
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	stack := "ptcli" + base + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "docker", "stack", "rm", stack).CombinedOutput(); err != nil {
			t.Logf("docker stack rm %s: %v\n%s", stack, err, out)
		}
		// Wait until the services are gone, so the next test's networks
		// do not collide with ones being removed.
		for ctx.Err() == nil {
			out, _ := exec.CommandContext(ctx, "docker", "service", "ls", "-q", "--filter", "label=com.docker.stack.namespace="+stack).Output()
			if strings.TrimSpace(string(out)) == "" {
				return
			}
			time.Sleep(300 * time.Millisecond)
		}
	})
	return stack
}
