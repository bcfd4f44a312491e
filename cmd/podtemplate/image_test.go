package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const imageUnderTest = "podtemplate:latest"

// TestImage builds the image with scripts/image.sh and uses it the way the
// Dockerfile documents: a stack folder mounted at /work.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the image build")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI in PATH; skipping the image test")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command in PATH to build the image's binary; skipping")
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("docker info failed, no daemon to build the image: %v: %s", err, strings.TrimSpace(string(out)))
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	env := os.Environ()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	build := exec.CommandContext(ctx, "sh", filepath.Join(root, "scripts", "image.sh"))
	build.Dir = root
	out, err := build.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/image.sh: %v\n%s", err, out)
	}
	t.Logf("scripts/image.sh (%s):\n%s", time.Since(start).Round(time.Millisecond), out)

	t.Run("render a mounted folder", func(t *testing.T) {
		// Read-only: rendering to stdout writes nothing, and the image's
		// unprivileged user reads the checkout's world-readable files.
		stdout, stderr, code := runDockerCLI(t, root, env, nil, "run", "--rm",
			"-v", filepath.Join(root, "examples")+":/work:ro", "-w", "/work/caching-proxy",
			imageUnderTest, "render", "stack.yml")
		if code != 0 {
			t.Fatalf("docker run %s render stack.yml: exit %d\n%s", imageUnderTest, code, stderr)
		}
		if comps := renderedPodComponents(t, []byte(stdout)); len(comps["shop"]) == 0 {
			t.Errorf("service shop has no pod.component. labels: %v", comps)
		}
	})

	t.Run("version", func(t *testing.T) {
		stdout, stderr, code := runDockerCLI(t, root, env, nil, "run", "--rm", imageUnderTest, "version")
		if code != 0 || !regexp.MustCompile(`^podtemplate \S+ \(commit \S+, go[0-9.]+`).MatchString(stdout) {
			t.Fatalf("docker run %s version: exit %d\nstdout: %s\nstderr: %s", imageUnderTest, code, stdout, stderr)
		}
		inGit := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Run() == nil
		if inGit && strings.Contains(stdout, "commit unknown") {
			t.Errorf("the image's binary has no commit stamped: %s", stdout)
		}
	})

	t.Run("stdin", func(t *testing.T) {
		stack := "version: \"3.8\"\nservices:\n  web:\n    image: example/web:1.2\n" +
			"    x-podlike:\n      templates: [builtin:healthcheck]\n      args: {AppPort: 8080}\n"
		stdout, stderr, code := runDockerCLI(t, root, env, []byte(stack), "run", "--rm", "-i", imageUnderTest, "render", "-")
		if code != 0 {
			t.Fatalf("docker run -i %s render -: exit %d\n%s", imageUnderTest, code, stderr)
		}
		if comps := renderedPodComponents(t, []byte(stdout)); len(comps["web"]) != 2 {
			t.Errorf("web: got components %v, want app and healthcheck", comps["web"])
		}
	})

	t.Run("render -o as the calling user", func(t *testing.T) {
		outDir := t.TempDir()
		user := strconv.Itoa(os.Getuid()) + ":" + strconv.Itoa(os.Getgid())
		_, stderr, code := runDockerCLI(t, root, env, nil, "run", "--rm", "-u", user,
			"-v", filepath.Join(root, "examples")+":/work:ro", "-v", outDir+":/out",
			"-w", "/work/caching-proxy", imageUnderTest, "render", "stack.yml", "-o", "/out/stack.yml")
		if code != 0 {
			t.Fatalf("render -o /out/stack.yml as %s: exit %d\n%s", user, code, stderr)
		}
		data, err := os.ReadFile(filepath.Join(outDir, "stack.yml"))
		if err != nil {
			t.Fatal(err)
		}
		renderedPodComponents(t, data)
	})

	t.Run("invalid stack fails", func(t *testing.T) {
		stack := "services:\n  a:\n    image: x\n    x-jobs:\n      bogus: 1\n"
		_, stderr, code := runDockerCLI(t, root, env, []byte(stack), "run", "--rm", "-i", imageUnderTest, "validate", "-")
		if code != exitError || !strings.Contains(stderr, "bogus") {
			t.Errorf("validate of an invalid stack: exit %d, want %d\n%s", code, exitError, stderr)
		}
	})

	t.Run("wrapper script", func(t *testing.T) {
		stack, err := os.ReadFile(filepath.Join(root, "examples", "caching-proxy", "stack.yml"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sh", filepath.Join(root, "scripts", "podtemplate.sh"), "render", "-")
		cmd.Dir = filepath.Join(root, "examples", "caching-proxy")
		cmd.Env = append(os.Environ(), "PODTEMPLATE_IMAGE="+imageUnderTest, "PWD="+cmd.Dir)
		cmd.Stdin = strings.NewReader(string(stack))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("scripts/podtemplate.sh render - < stack.yml: %v\n%s", err, stderr.String())
		}
		if comps := renderedPodComponents(t, out); len(comps["shop"]) == 0 {
			t.Errorf("service shop has no pod.component. labels: %v", comps)
		}
	})
}

// TestDockerfileSourceBuild builds the repository's Dockerfile (from
// source, in a Go image) and runs the image. The Go image must be
// available: set PODTEMPLATE_TEST_GO_IMAGE to one (golang:1.26 where a
// registry can be reached, or a local image with Go 1.26 and /bin/sh).
// Without it the test skips: there is no registry here.
func TestDockerfileSourceBuild(t *testing.T) {
	goImage := os.Getenv("PODTEMPLATE_TEST_GO_IMAGE")
	if goImage == "" {
		t.Skip("PODTEMPLATE_TEST_GO_IMAGE is not set: skipping the source build of the Dockerfile")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI in PATH")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	tag := "podtemplate-srcbuild-test:latest"
	build := exec.CommandContext(ctx, "docker", "build", "--build-arg", "GO_IMAGE="+goImage,
		"--build-arg", "VERSION=v0.0.0-srcbuild", "-t", tag, ".")
	build.Dir = root
	build.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	defer exec.Command("docker", "rmi", tag).Run()
	out, err := exec.CommandContext(ctx, "docker", "run", "--rm", tag, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "podtemplate v0.0.0-srcbuild ") {
		t.Errorf("docker run %s version: %q %v", tag, out, err)
	}
}
