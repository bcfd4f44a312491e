package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// diffStack is the stack the diff tests deploy: a plain service, a pod
// and a job. Replicas 0 and a job that only echoes keep the test light;
// the definitions are what diff compares.
const diffStack = `version: "3.8"
services:
  web:
    image: podtemplate-e2e:latest
    command: ["sleep", "3600"]
    environment:
      GREETING: hello
      LEVEL: info
    labels:
      tier: front
    ports:
      - "18080:8080"
    networks: [front, back]
    deploy:
      replicas: 0
      labels:
        owner: team-a
      resources:
        limits: {memory: 64M}
      update_config: {parallelism: 2, delay: 5s}
      restart_policy: {condition: on-failure, max_attempts: 3}
  api:
    image: podtemplate-e2e:latest
    command: ["serve"]
    networks: [back]
    x-podlike:
      templates:
        inline: |
          sidecar:
            image: podtemplate-e2e:latest
            command: ["sleep", "3600"]
    deploy:
      replicas: 0
  seed:
    image: podtemplate-e2e:latest
    command: ["echo", "seeded"]
    x-jobs:
      timeout: 1m
networks:
  front:
  back:
`

func writeStack(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	mustWrite(t, p, text)
	return p
}

// TestDiffOnSwarm deploys a stack on the real Swarm, then diffs it
// against itself (no change, exit 0) and against changed stack files.
func TestDiffOnSwarm(t *testing.T) {
	needSwarm(t)
	stack := testStack(t, "diff")
	pkgDir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	base := writeStack(t, dir, "stack.yml", diffStack)
	ctrl := []string{"--controller-image", "podtemplate-e2e:latest"}

	// Before the first deploy, every service is added.
	stdout, stderr, code := runCLI(t, "", append([]string{"diff", "-c", base, stack}, ctrl...)...)
	if code != 1 || !strings.Contains(stdout, "service web: added") || !strings.Contains(stdout, "+++ "+stack+"_web (stack file)") {
		t.Fatalf("diff before deploy: exit %d\n%s%s", code, stdout, stderr)
	}

	_, stderr, code = runCLI(t, "", append([]string{"deploy", "-q", "-c", base, stack}, ctrl...)...)
	if code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, stderr)
	}

	t.Run("unchanged", func(t *testing.T) {
		stdout, stderr, code := runCLI(t, "", append([]string{"diff", "-c", base, stack}, ctrl...)...)
		if code != 0 || stdout != "" {
			t.Errorf("diff of the deployed stack: exit %d, want 0 and no output\n%s%s", code, stdout, stderr)
		}
		if !strings.Contains(stderr, "0 added, 0 changed, 0 removed, 3 unchanged") {
			t.Errorf("summary: %s", stderr)
		}
	})

	cases := []struct {
		name    string
		edit    func(string) string
		service string
		change  string
		lines   []string // in the diff
	}{
		{"changed image", func(s string) string {
			return strings.Replace(s, "image: podtemplate-e2e:latest\n    command: [\"sleep\", \"3600\"]\n    environment", "image: podtemplate-e2e:v2\n    command: [\"sleep\", \"3600\"]\n    environment", 1)
		}, "web", "changed", []string{"+    Image: podtemplate-e2e:v2", "-  com.docker.stack.image: podtemplate-e2e:latest"}},
		{"changed env", func(s string) string { return strings.Replace(s, "LEVEL: info", "LEVEL: debug", 1) },
			"web", "changed", []string{"-      - LEVEL=info", "+      - LEVEL=debug"}},
		{"added service", func(s string) string {
			return strings.Replace(s, "networks:\n  front:", "  extra:\n    image: podtemplate-e2e:latest\n    deploy: {replicas: 0}\nnetworks:\n  front:", 1)
		}, "extra", "added", []string{"+++ " + "STACK_extra (stack file)", "+    Image: podtemplate-e2e:latest"}},
		{"removed service", func(s string) string {
			i, j := strings.Index(s, "  seed:"), strings.Index(s, "networks:\n  front:")
			return s[:i] + s[j:]
		}, "seed", "removed", []string{"+++ /dev/null (not in the stack file: deploy --prune removes it)", "-Name: STACK_seed"}},
		{"changed pod component", func(s string) string {
			return strings.Replace(s, "command: [\"sleep\", \"3600\"]\n    deploy:\n      replicas: 0", "command: [\"sleep\", \"60\"]\n    deploy:\n      replicas: 0", 1)
		}, "api", "changed", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := writeStack(t, dir, strings.ReplaceAll(tc.name, " ", "-")+".yml", tc.edit(diffStack))
			stdout, stderr, code := runCLI(t, "", append([]string{"diff", "-c", file, stack}, ctrl...)...)
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
			}
			header := "service " + tc.service + ": " + tc.change + "\n"
			if !strings.Contains(stdout, header) {
				t.Errorf("no %q:\n%s", header, stdout)
			}
			if strings.Count(stdout, "\nservice ")+1 != 1 {
				t.Errorf("more than service %s differs:\n%s", tc.service, stdout)
			}
			for _, l := range tc.lines {
				l = strings.ReplaceAll(l, "STACK", stack)
				if !strings.Contains(stdout, "\n"+l+"\n") {
					t.Errorf("diff lacks line %q:\n%s", l, stdout)
				}
			}

			// deploy --dry-run prints the same and deploys nothing.
			dry, dstderr, dcode := runCLI(t, "", append([]string{"deploy", "--dry-run", "-c", file, stack}, ctrl...)...)
			if dcode != 0 || dry != stdout || !strings.Contains(dstderr, "dry run: nothing was deployed") {
				t.Errorf("deploy --dry-run: exit %d\n%s\nwant the diff:\n%s\nstderr: %s", dcode, dry, stdout, dstderr)
			}
			if _, _, code := runCLI(t, "", append([]string{"diff", "-q", "-c", base, stack}, ctrl...)...); code != 0 {
				t.Errorf("after deploy --dry-run, the running stack changed (diff exit %d)", code)
			}
		})
	}

	t.Run("errors exit 2", func(t *testing.T) {
		bad := writeStack(t, dir, "bad.yml", "services: [")
		_, stderr, code := runCLI(t, "", "diff", "-c", bad, stack)
		if code != exitUsage || !strings.Contains(stderr, "error:") {
			t.Errorf("diff of a bad file: exit %d\n%s", code, stderr)
		}
		_, _, code = runCLI(t, "", "diff", stack)
		if code != exitUsage {
			t.Errorf("diff without -c: exit %d", code)
		}
	})

	t.Run("colour", func(t *testing.T) {
		// Not a terminal (a pipe): no colour; NO_COLOR is honoured.
		t.Chdir(pkgDir)
		bin := testBinary(t)
		file := writeStack(t, dir, "colour.yml", strings.Replace(diffStack, "LEVEL: info", "LEVEL: warn", 1))
		out, _ := exec.Command(bin, append([]string{"diff", "-c", file, stack}, ctrl...)...).Output()
		if strings.Contains(string(out), "\x1b[") || !strings.Contains(string(out), "+      - LEVEL=warn") {
			t.Errorf("diff to a pipe has colour codes or no diff:\n%q", out)
		}
		// On a terminal: colour, unless NO_COLOR.
		if _, err := exec.LookPath("script"); err != nil {
			t.Skip("no script(1) to run the binary on a terminal")
		}
		line := bin + " diff -c " + file + " --controller-image podtemplate-e2e:latest " + stack
		tty, _ := exec.Command("script", "-qec", line, "/dev/null").Output()
		if !strings.Contains(string(tty), "\x1b[32m+      - LEVEL=warn\x1b[0m") {
			t.Errorf("diff on a terminal is not coloured:\n%q", tty)
		}
		cmd := exec.Command("script", "-qec", line, "/dev/null")
		cmd.Env = append(os.Environ(), "NO_COLOR=1")
		plain, _ := cmd.Output()
		if strings.Contains(string(plain), "\x1b[") || !strings.Contains(string(plain), "+      - LEVEL=warn") {
			t.Errorf("NO_COLOR=1: the diff is coloured:\n%q", plain)
		}
	})
}
