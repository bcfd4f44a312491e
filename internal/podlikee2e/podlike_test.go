// Package podlikee2e deploys pods on the real Swarm with podlike's real
// controller, through the podtemplate CLI and with the product's defaults,
// and checks what the controller did by inspecting the containers it
// created. The controller image is rycus86/podlike:0.5.1, or
// $PODTEMPLATE_E2E_PODLIKE; where it is missing (nothing can be pulled
// here), or no Docker daemon answers, the suite says so and skips. The
// component images are built here from testdata/e2e/podimage.
package podlikee2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const (
	defaultController = "rycus86/podlike:0.5.1"
	componentImage    = "podtemplate-e2e-pod:latest"
)

var (
	bin        string // the podtemplate binary
	controller string // the controller image
	skipReason string
	repoRoot   string
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := func() int {
		root, err := filepath.Abs(filepath.Join("..", ".."))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		repoRoot = root
		tmp, err := os.MkdirTemp("", "podlikee2e")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(tmp)
		if skipReason = preflight(); skipReason == "" {
			if err := setup(tmp); err != nil {
				fmt.Fprintln(os.Stderr, "podlike e2e setup:", err)
				return 1
			}
		} else {
			fmt.Println("podlike e2e: SKIPPED:", skipReason)
		}
		return m.Run()
	}()
	os.Exit(code)
}

// preflight says why the suite cannot run here ("" if it can).
func preflight() string {
	if testing.Short() {
		return "-short"
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.Swarm.LocalNodeState}}").Output(); err != nil {
		return "no Docker daemon answers"
	} else if strings.TrimSpace(string(out)) != "active" {
		return "this Docker daemon is not in a Swarm (docker swarm init)"
	}
	controller = os.Getenv("PODTEMPLATE_E2E_PODLIKE")
	if controller == "" {
		controller = defaultController
	}
	if exec.Command("docker", "image", "inspect", controller).Run() != nil {
		return fmt.Sprintf("the podlike controller image %s is not here (nothing can be pulled; build it locally, or name another with PODTEMPLATE_E2E_PODLIKE)", controller)
	}
	// The default controller command turns IPC sharing off; a controller
	// built without the -ipc flag (podlike's 0.5.1 tag predates it) stops
	// at once with "flag provided but not defined: -ipc".
	out, _ := exec.Command("docker", "run", "--rm", controller, "-ipc=false", "-h").CombinedOutput()
	if bytes.Contains(out, []byte("flag provided but not defined: -ipc")) {
		return fmt.Sprintf("the controller image %s has no -ipc flag, so podtemplate's default controller command (-logs -ipc=false) cannot start it; "+
			"podlike added -ipc after 0.5.1 (commit ebec862); name a controller built with it in PODTEMPLATE_E2E_PODLIKE", controller)
	}
	return ""
}

// setup builds the podtemplate binary and the component image.
func setup(tmp string) error {
	bin = filepath.Join(tmp, "podtemplate")
	build := exec.Command("go", "build", "-o", bin, "./cmd/podtemplate")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	ctx := filepath.Join(tmp, "image")
	if err := os.MkdirAll(filepath.Join(ctx, "tmp"), 0o755); err != nil {
		return err
	}
	gb := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(ctx, "podimage"), ".")
	gb.Dir = filepath.Join(repoRoot, "testdata", "e2e", "podimage")
	gb.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := gb.CombinedOutput(); err != nil {
		return fmt.Errorf("building podimage: %v\n%s", err, out)
	}
	// An empty /tmp: pod.copy copies into an existing folder.
	dockerfile := "FROM scratch\nCOPY podimage /podimage\nCOPY tmp /tmp\nENTRYPOINT [\"/podimage\"]\n"
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return err
	}
	db := exec.Command("docker", "build", "-q", "-t", componentImage, ctx)
	db.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := db.CombinedOutput(); err != nil {
		return fmt.Errorf("docker build: %v\n%s", err, out)
	}
	return nil
}

func need(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

func uniqueName(t *testing.T, prefix string) string {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// podtemplate runs the CLI in testdata/e2e/pods with the controller image
// (only named when it is not the default) and returns stdout, stderr and
// the exit status.
func podtemplate(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	if controller != defaultController && (args[0] == "deploy" || args[0] == "run") {
		args = append(args, "--controller-image", controller)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = filepath.Join(repoRoot, "testdata", "e2e", "pods")
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("podtemplate %v: %v", args, err)
	}
	t.Logf("podtemplate %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errb.String())
	return out.String(), errb.String(), code
}

func removeStack(t *testing.T, stack string) {
	t.Cleanup(func() {
		exec.Command("docker", "stack", "rm", stack).Run()
		// The components are the controller's containers, not Swarm's:
		// give it time to stop them before the network goes.
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			out, _ := exec.Command("docker", "ps", "-aq", "--filter", "name="+stack+"_").Output()
			if len(bytes.TrimSpace(out)) == 0 {
				return
			}
			time.Sleep(time.Second)
		}
	})
}

// container is the part of docker inspect the checks read.
type container struct {
	ID     string
	Name   string
	Config struct {
		User        string
		Env         []string
		Healthcheck *struct{ Test []string }
		Entrypoint  []string
	}
	HostConfig struct {
		NetworkMode    string
		IpcMode        string
		PidMode        string
		ReadonlyRootfs bool
	}
	State struct {
		Status string
		Health *struct{ Status string }
	}
	Mounts []struct {
		Type        string
		Name        string
		Source      string
		Destination string
	}
}

// component waits for the running container the controller of the
// service's task created for component ("<task container>.podlike.<name>")
// and inspects it, with the controller's container.
func component(t *testing.T, service, name string, ready func(c container) bool) (comp, ctrl container) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	var last string
	for time.Now().Before(deadline) {
		out, _ := exec.Command("docker", "ps", "-q", "--filter", "name="+service+".").Output()
		for _, id := range strings.Fields(string(out)) {
			c := inspect(t, id)
			if strings.HasSuffix(c.Name, ".podlike."+name) && strings.HasPrefix(strings.TrimPrefix(c.Name, "/"), service+".") {
				comp = c
			}
		}
		if comp.ID != "" {
			ctrlName := strings.TrimSuffix(strings.TrimPrefix(comp.Name, "/"), ".podlike."+name)
			ctrl = inspect(t, ctrlName)
			if ready == nil || ready(comp) {
				return comp, ctrl
			}
			last = fmt.Sprintf("%+v", comp)
			comp = container{}
		}
		time.Sleep(time.Second)
	}
	logs, _ := exec.Command("docker", "service", "logs", "--raw", service).CombinedOutput()
	ps, _ := exec.Command("docker", "service", "ps", "--no-trunc", service).CombinedOutput()
	t.Fatalf("no ready component %s of %s (last seen: %s)\nservice ps:\n%s\ncontroller logs:\n%s", name, service, last, ps, logs)
	return
}

func inspect(t *testing.T, id string) container {
	t.Helper()
	out, err := exec.Command("docker", "inspect", id).Output()
	if err != nil {
		return container{}
	}
	var cs []container
	if err := json.Unmarshal(out, &cs); err != nil || len(cs) != 1 {
		t.Fatalf("docker inspect %s: %v", id, err)
	}
	return cs[0]
}

func containerLogs(t *testing.T, id string) string {
	out, _ := exec.Command("docker", "logs", id).CombinedOutput()
	return string(out)
}

// waitLogs waits for a container's logs to match re.
func waitLogs(t *testing.T, c container, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	var logs string
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		if logs = containerLogs(t, c.ID); rx.MatchString(logs) {
			return logs
		}
	}
	t.Errorf("%s: logs do not match %q:\n%s", c.Name, re, logs)
	return logs
}

func hasEnv(c container, kv string) bool {
	for _, e := range c.Config.Env {
		if e == kv {
			return true
		}
	}
	return false
}

// TestDefaultPod: a sidecar reaches the app over localhost; pod.copy;
// unquoted numbers in the environment; env_file; a relative bind mount; a
// service with healthcheck, user and read_only.
func TestDefaultPod(t *testing.T) {
	need(t)
	stack := uniqueName(t, "i17pods")
	removeStack(t, stack)
	if _, _, code := podtemplate(t, nil, "deploy", "-c", "basics.yml", stack); code != 0 {
		t.Fatalf("deploy: exit %d", code)
	}
	svc := stack + "_web"
	app, ctrl := component(t, svc, "app", func(c container) bool { return c.State.Health != nil && c.State.Health.Status == "healthy" })
	side, _ := component(t, svc, "sidecar", nil)

	// Components join the controller's network and PID namespaces; IPC
	// stays private (the default -ipc=false).
	for _, c := range []container{app, side} {
		if c.HostConfig.NetworkMode != "container:"+ctrl.ID || c.HostConfig.PidMode != "container:"+ctrl.ID {
			t.Errorf("%s: network %q, pid %q; want the controller's (%s)", c.Name, c.HostConfig.NetworkMode, c.HostConfig.PidMode, ctrl.ID)
		}
		if strings.HasPrefix(c.HostConfig.IpcMode, "container:") {
			t.Errorf("%s: IPC mode %q; the default controller does not share IPC", c.Name, c.HostConfig.IpcMode)
		}
	}
	waitLogs(t, side, `reached http://127.0.0.1:8080/: hello from web`)
	// pod.copy: the file the controller has (from its bind mount) in the sidecar.
	waitLogs(t, side, `/tmp/message.txt: hello from the conf folder`)

	// Environment: unquoted numbers, and the env file's variables.
	for _, kv := range []string{"PORT=8080", "RATIO=0.5", "NAME=web", "FROM_FILE=from the env file", "GREETING=hi"} {
		if !hasEnv(app, kv) {
			t.Errorf("app environment lacks %s: %v", kv, app.Config.Env)
		}
	}
	// The relative bind mount: an absolute host path in the app.
	wantConf := filepath.Join(repoRoot, "testdata", "e2e", "pods", "conf")
	found := false
	for _, m := range app.Mounts {
		if m.Destination == "/conf" && m.Type == "bind" && m.Source == wantConf {
			found = true
		}
	}
	if !found {
		t.Errorf("app mounts: %+v; want %s bound at /conf", app.Mounts, wantConf)
	}
	waitLogs(t, app, `/conf/message.txt: hello from the conf folder`)

	// healthcheck, user, read_only: on the app, not on the controller.
	if app.Config.User != "1000" || !app.HostConfig.ReadonlyRootfs {
		t.Errorf("app: user %q, read-only %v; want 1000, true", app.Config.User, app.HostConfig.ReadonlyRootfs)
	}
	if app.Config.Healthcheck == nil || strings.Join(app.Config.Healthcheck.Test, " ") != "CMD /podimage check http://127.0.0.1:8080/" {
		t.Errorf("app health check: %+v", app.Config.Healthcheck)
	}
	if ctrl.Config.User != "" || ctrl.HostConfig.ReadonlyRootfs || strings.Join(ctrl.Config.Entrypoint, " ") != "/podlike" {
		t.Errorf("controller: user %q, read-only %v, entrypoint %v; want its image's", ctrl.Config.User, ctrl.HostConfig.ReadonlyRootfs, ctrl.Config.Entrypoint)
	}
	if ctrl.Config.Healthcheck == nil || !strings.Contains(strings.Join(ctrl.Config.Healthcheck.Test, " "), "/podlike healthcheck") {
		t.Errorf("controller health check: %+v; want the image's own", ctrl.Config.Healthcheck)
	}
	// One task: the controller did not restart.
	out, _ := exec.Command("docker", "service", "ps", "-q", svc).Output()
	if n := len(strings.Fields(string(out))); n != 1 {
		ps, _ := exec.Command("docker", "service", "ps", "--no-trunc", "--format", "{{.Name}} {{.CurrentState}} {{.Error}}", svc).CombinedOutput()
		logs, _ := exec.Command("docker", "service", "logs", "--raw", svc).CombinedOutput()
		t.Errorf("%d tasks of %s; the controller restarted:\n%s\n%s", n, svc, ps, logs)
	}
}

// TestInitAndVolumes: init components in order on a shared named volume;
// a volume with an explicit name that only a component mounts.
func TestInitAndVolumes(t *testing.T) {
	need(t)
	stack := uniqueName(t, "i17podv")
	explicit := stack + "-explicit"
	removeStack(t, stack)
	t.Cleanup(func() {
		time.Sleep(2 * time.Second)
		exec.Command("docker", "volume", "rm", explicit, stack+"_shared").Run()
	})
	if _, _, code := podtemplate(t, []string{"EXPLICIT_NAME=" + explicit}, "deploy", "-c", "volumes.yml", stack); code != 0 {
		t.Fatalf("deploy: exit %d", code)
	}
	svc := stack + "_store"
	app, _ := component(t, svc, "app", nil)
	// Both init components ran, one after the other, before the app.
	waitLogs(t, app, `/shared/order: first\nsecond`)
	for _, m := range app.Mounts {
		if m.Destination == "/shared" && m.Name != stack+"_shared" {
			t.Errorf("app /shared is volume %q, want the stack's %s_shared", m.Name, stack)
		}
	}
	writer, _ := component(t, svc, "writer", nil)
	waitLogs(t, writer, `appended to /explicit/written`)
	got := ""
	for _, m := range writer.Mounts {
		if m.Destination == "/explicit" {
			got = m.Name
		}
	}
	if got != explicit {
		t.Errorf("writer's /explicit is volume %q; want the stack's %s (explicit name)", got, explicit)
	}
	// The file is in that volume.
	out, err := exec.Command("docker", "run", "--rm", "-v", explicit+":/v", componentImage, "cat", "/v/written").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "by the writer") {
		t.Errorf("volume %s: %v\n%s", explicit, err, out)
	}
}

// TestPodJobExitStatus: a pod job whose main component exits 3 fails with
// 3 in deploy's summary and makes run exit 3; run --env reaches the main
// component.
func TestPodJobExitStatus(t *testing.T) {
	need(t)
	stack := uniqueName(t, "i17podj")
	removeStack(t, stack)
	_, errOut, code := podtemplate(t, nil, "deploy", "-c", "job.yml", stack)
	if code != 1 {
		t.Errorf("deploy of a failing pod job: exit %d, want 1", code)
	}
	if !regexp.MustCompile(`(?m)^migrate\s+failed\s+3\b`).MatchString(errOut) {
		t.Errorf("deploy's summary does not show migrate failed with 3:\n%s", errOut)
	}
	out, _, _ := podtemplate(t, nil, "jobs", "ls", stack)
	if !regexp.MustCompile(`(?m)^migrate\s.*\bfailed\s+3\b`).MatchString(out) {
		t.Errorf("jobs ls does not show migrate failed with 3:\n%s", out)
	}
	_, errOut, code = podtemplate(t, nil, "jobs", "wait", stack)
	if code != 1 || !regexp.MustCompile(`(?m)^migrate\s+failed\s+3\b`).MatchString(errOut) {
		t.Errorf("jobs wait: exit %d, want 1 with migrate failed 3:\n%s", code, errOut)
	}

	out, errOut, code = podtemplate(t, nil, "run", "-c", "job.yml", "--env", "LEVEL=2", "migrate")
	if code != 3 {
		t.Errorf("run: exit %d, want 3 (the main component's)", code)
	}
	if !strings.Contains(out+errOut, "LEVEL=2") {
		t.Errorf("run --env LEVEL=2 did not reach the main component:\n%s\n%s", out, errOut)
	}
}
