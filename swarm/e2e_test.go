package swarm

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/podtemplate/podtemplate/joblabel"
)

// The end-to-end tests run against the Docker Engine and Swarm reachable
// like the docker CLI reaches them. They build the test image
// podtemplate-e2e:latest with scripts/e2e-image.sh, init a single-node
// swarm when the engine is not part of one, and skip when no engine
// answers (or with -short).

var (
	e2eOnce   sync.Once
	e2eSkip   string
	e2eFail   string
	e2eClient *Client
)

func e2e(t *testing.T) *Client {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test skipped with -short")
	}
	c := e2eSwarm(t)
	t.Parallel()
	return c
}

// e2eSwarm sets the real Swarm up once, or skips or fails the test.
func e2eSwarm(t *testing.T) *Client {
	t.Helper()
	e2eOnce.Do(setupE2E)
	if e2eSkip != "" {
		t.Skip(e2eSkip)
	}
	if e2eFail != "" {
		t.Fatal(e2eFail)
	}
	return e2eClient
}

func setupE2E() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if os.Getenv("PODTEMPLATE_E2E") == "0" {
		e2eSkip = "end-to-end tests disabled by PODTEMPLATE_E2E=0"
		return
	}
	if _, err := exec.LookPath("docker"); err != nil {
		e2eSkip = "no docker CLI in PATH: skipping end-to-end tests"
		return
	}
	c, err := Connect(ctx, ConnectOptions{})
	if err == ErrNotManager {
		state, _ := exec.CommandContext(ctx, "docker", "info", "--format", "{{.Swarm.LocalNodeState}}").Output()
		if strings.TrimSpace(string(state)) != "inactive" {
			e2eSkip = "the Docker engine is a swarm worker, not a manager: skipping end-to-end tests"
			return
		}
		if out, err := exec.CommandContext(ctx, "docker", "swarm", "init", "--advertise-addr", "127.0.0.1").CombinedOutput(); err != nil {
			e2eFail = fmt.Sprintf("docker swarm init: %v\n%s", err, out)
			return
		}
		c, err = Connect(ctx, ConnectOptions{})
	}
	if err != nil {
		e2eSkip = "no Docker daemon answers, skipping end-to-end tests: " + err.Error()
		return
	}
	script, _ := filepath.Abs("../scripts/e2e-image.sh")
	cmd := exec.CommandContext(ctx, "sh", script)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		e2eFail = fmt.Sprintf("building the test image: %v\n%s", err, out)
		return
	}
	c.poll = 300 * time.Millisecond
	e2eClient = c
}

func stackFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "e2e", "stacks", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// uniqueStack returns a fresh stack name and removes the stack when the
// test ends.
func uniqueStack(t *testing.T, c *Client, base string) string {
	t.Helper()
	suffix, err := randomHex(3)
	if err != nil {
		t.Fatal(err)
	}
	stack := "pt" + base + suffix
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.RemoveStack(ctx, stack); err != nil {
			t.Errorf("removing stack %s: %v", stack, err)
		}
	})
	return stack
}

func deploy(t *testing.T, c *Client, stack string, file []byte) Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	snap, err := c.Deploy(ctx, DeployOptions{Stack: stack, Stdin: file, ResolveImage: "never", Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		t.Fatalf("deploy %s: %v", stack, err)
	}
	t.Logf("docker stack deploy %s:\n%s%s", stack, stdout.String(), stderr.String())
	return snap
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func follow(t *testing.T, c *Client, opts FollowOptions, limit time.Duration) (Summary, string, string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var out, errOut, status syncBuffer
	opts.Out, opts.Err, opts.Status = &out, &errOut, &status
	start := time.Now()
	sum, err := c.Follow(ctx, opts)
	took := time.Since(start)
	t.Logf("follow %s took %s\nstdout:\n%sstderr:\n%sstatus:\n%s", opts.Stack, took.Round(time.Millisecond), out.String(), errOut.String(), status.String())
	if err != nil {
		t.Fatalf("follow %s: %v", opts.Stack, err)
	}
	return sum, out.String(), errOut.String() + status.String(), took
}

func result(t *testing.T, sum Summary, name string) JobResult {
	t.Helper()
	for _, j := range sum.Jobs {
		if j.Name == name {
			return j
		}
	}
	t.Fatalf("job %s not in summary %+v", name, sum)
	return JobResult{}
}

func mustMatch(t *testing.T, text, pattern string) {
	t.Helper()
	if !regexp.MustCompile(pattern).MatchString(text) {
		t.Errorf("output does not match %q:\n%s", pattern, text)
	}
}

func TestE2ESuccessFailureAndRedeploy(t *testing.T) {
	c := e2e(t)
	stack := uniqueStack(t, c, "basic")
	file := stackFile(t, "basic.yml")
	snap := deploy(t, c, stack, file)
	sum, out, other, _ := follow(t, c, FollowOptions{Stack: stack, Before: snap, Logs: true}, 2*time.Minute)

	if sum.OK() {
		t.Errorf("OK() = true with a failing job")
	}
	if len(sum.Jobs) != 2 {
		t.Fatalf("want 2 jobs (web is not a job), got %+v", sum.Jobs)
	}
	ok, fail := result(t, sum, "ok"), result(t, sum, "fail")
	if ok.State != StateCompleted || ok.ExitCode != 0 || ok.Unchanged {
		t.Errorf("ok: %+v", ok)
	}
	if fail.State != StateFailed || fail.ExitCode != 3 {
		t.Errorf("fail: %+v", fail)
	}
	mustMatch(t, out, `(?m)^ok   \| hello from ok$`)
	mustMatch(t, out, `(?m)^ok   \| second line$`)
	mustMatch(t, out, `(?m)^fail \| hello from fail$`)
	mustMatch(t, out, `(?m)^fail \| exiting with 3$`)
	mustMatch(t, other, `(?m)^ok   \| a warning from ok$`)
	mustMatch(t, other, `(?m)^job ok: completed \(exit 0\) in `)
	mustMatch(t, other, `(?m)^job fail: failed \(exit 3\) in `)
	mustMatch(t, other, `(?m)^ok\s+completed\s+0\s+\S+s`)
	mustMatch(t, other, `(?m)^fail\s+failed\s+3\s+\S+s`)

	// Deploying the same file again runs nothing new.
	snap = deploy(t, c, stack, file)
	sum, out, other, took := follow(t, c, FollowOptions{Stack: stack, Before: snap, Logs: true}, time.Minute)
	ok, fail = result(t, sum, "ok"), result(t, sum, "fail")
	if !ok.Unchanged || ok.State != StateCompleted || !fail.Unchanged || fail.State != StateFailed || fail.ExitCode != 3 {
		t.Errorf("re-deploy: want both unchanged with their previous outcome, got %+v", sum.Jobs)
	}
	if strings.Contains(out, "hello from") {
		t.Errorf("re-deploy of unchanged jobs printed logs of the old run:\n%s", out)
	}
	mustMatch(t, other, `(?m)^job ok: unchanged, completed`)
	if took > 10*time.Second {
		t.Errorf("re-deploy of unchanged jobs took %s to report", took)
	}

	// Changing one job runs that job only.
	changed := strings.Replace(string(file), `"second line"`, `"second line v2"`, 1)
	changed = strings.Replace(changed, `${OK_HASH:-aaaa}`, "aaab", 1)
	snap = deploy(t, c, stack, []byte(changed))
	sum, out, _, _ = follow(t, c, FollowOptions{Stack: stack, Before: snap, Logs: true}, 2*time.Minute)
	ok, fail = result(t, sum, "ok"), result(t, sum, "fail")
	if ok.Unchanged || ok.State != StateCompleted || !fail.Unchanged {
		t.Errorf("changed deploy: %+v", sum.Jobs)
	}
	mustMatch(t, out, `(?m)^ok   \| second line v2$`)
	if strings.Contains(out, "hello from fail") {
		t.Errorf("the unchanged job's logs were printed again:\n%s", out)
	}

	// jobs ls / logs on the deployed stack.
	ctx := context.Background()
	list, err := c.List(ctx, stack)
	if err != nil {
		t.Fatal(err)
	}
	var tbl bytes.Buffer
	PrintList(&tbl, list)
	t.Logf("jobs ls:\n%s", tbl.String())
	mustMatch(t, tbl.String(), `(?m)^fail\s+restart-none\s+-\s+failed\s+3\s`)
	mustMatch(t, tbl.String(), `(?m)^ok\s+restart-none\s+-\s+completed\s+0\s`)
	var logs, logErrs bytes.Buffer
	if err := c.Logs(ctx, stack, []string{"ok"}, &logs, &logErrs); err != nil {
		t.Fatal(err)
	}
	mustMatch(t, logs.String(), `(?m)^ok \| second line v2$`)
	// jobs logs keeps the job's stderr on stderr, as run does.
	mustMatch(t, logErrs.String(), `(?m)^ok \| a warning from ok$`)
	if strings.Contains(logs.String(), "a warning from ok") {
		t.Errorf("stderr line on stdout:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "fail |") {
		t.Errorf("Logs for ok printed fail's logs:\n%s", logs.String())
	}
}

func TestE2EMissingImage(t *testing.T) {
	c := e2e(t)
	stack := uniqueStack(t, c, "missing")
	snap := deploy(t, c, stack, stackFile(t, "missing.yml"))
	sum, _, other, took := follow(t, c, FollowOptions{Stack: stack, Before: snap, Logs: true}, 90*time.Second)
	r := result(t, sum, "missing")
	if r.State != StateRejected || !strings.Contains(r.Err, "No such image") {
		t.Errorf("want rejected with No such image, got %+v", r)
	}
	if sum.OK() {
		t.Error("OK() = true")
	}
	mustMatch(t, other, `(?m)^job missing: rejected: .*No such image`)
	if took > 60*time.Second {
		t.Errorf("took %s to report a missing image", took)
	}
}

func TestE2ETimeout(t *testing.T) {
	c := e2e(t)
	stack := uniqueStack(t, c, "timeout")
	snap := deploy(t, c, stack, stackFile(t, "timeout.yml"))
	sum, out, other, took := follow(t, c, FollowOptions{Stack: stack, Before: snap, Logs: true}, 90*time.Second)
	r := result(t, sum, "slowpoke")
	if r.State != StateTimedOut || r.ExitCode != -1 {
		t.Errorf("want timed out, got %+v", r)
	}
	mustMatch(t, out, `(?m)^slowpoke \| started, sleeping$`)
	mustMatch(t, other, `(?m)^job slowpoke: timed out after 15s`)
	mustMatch(t, other, `(?m)^slowpoke\s+timed out\s+-\s`)
	// 15s leaves a loaded machine time to start the task and show its log.
	if took < 15*time.Second || took > 45*time.Second {
		t.Errorf("timeout of 15s reported after %s", took)
	}
}

func TestE2EJobModes(t *testing.T) {
	c := e2e(t)
	stack := uniqueStack(t, c, "modes")
	file := stackFile(t, "modes.yml")
	snap := deploy(t, c, stack, file)
	sum, out, _, _ := follow(t, c, FollowOptions{Stack: stack, Before: snap, Logs: true}, 2*time.Minute)
	if !sum.OK() {
		t.Errorf("want every job completed: %+v", sum.Jobs)
	}
	batch, every := result(t, sum, "batch"), result(t, sum, "everywhere")
	if batch.Mode != joblabel.ModeReplicatedJob || batch.Tasks.Completed != 2 {
		t.Errorf("batch: %+v", batch)
	}
	if every.Mode != joblabel.ModeGlobalJob || every.Tasks.Completed < 1 {
		t.Errorf("everywhere: %+v", every)
	}
	if n := strings.Count(out, "batch      | batch piece done"); n != 2 {
		t.Errorf("want 2 log lines from the 2 batch tasks, got %d:\n%s", n, out)
	}
	mustMatch(t, out, `(?m)^everywhere \| hello from every node$`)

	// Swarm re-runs job-mode services on every update, even unchanged:
	// the follower reports the run it actually does.
	snap = deploy(t, c, stack, file)
	sum, _, _, _ = follow(t, c, FollowOptions{Stack: stack, Before: snap, Jobs: []string{"batch"}}, 2*time.Minute)
	if len(sum.Jobs) != 1 || !sum.OK() || !sum.Jobs[0].Unchanged || !sum.Jobs[0].Rerun {
		t.Errorf("re-deploy of job modes: %+v", sum.Jobs)
	}
	// SkipUnchangedJobs leaves them out of the deploy: no new run.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	snap, err := c.Deploy(ctx, DeployOptions{Stack: stack, Stdin: file, ResolveImage: "never", SkipUnchangedJobs: true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(snap.Skipped, ",") != "batch,everywhere" {
		t.Errorf("skipped: %v", snap.Skipped)
	}
	sum, out, _, took := follow(t, c, FollowOptions{Stack: stack, Before: snap, Logs: true}, time.Minute)
	for _, r := range sum.Jobs {
		if !r.Unchanged || r.Rerun || r.State != StateCompleted {
			t.Errorf("skipped unchanged job: %+v", r)
		}
	}
	if out != "" || took > 5*time.Second {
		t.Errorf("skipped unchanged jobs ran again (%s):\n%s", took, out)
	}

	// Docker 20.10 keeps the exited task containers of job-mode services,
	// even after the service is removed (moby/moby#42789): removing the
	// stack takes them away.
	svcs, err := c.stackServices(ctx, stack)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveStack(ctx, stack); err != nil {
		t.Fatal(err)
	}
	for _, s := range svcs {
		list, err := c.api.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", serviceIDLabel+"="+s.ID))})
		if err != nil {
			t.Fatal(err)
		}
		for _, ct := range list {
			t.Errorf("container %s of the removed service %s is left (%s)", ct.Names, s.Spec.Name, ct.State)
		}
	}
}

func TestE2EPrune(t *testing.T) {
	c := e2e(t)
	stack := uniqueStack(t, c, "prune")
	deploy(t, c, stack, stackFile(t, "prune.yml"))
	ctx := context.Background()
	// Wait until done and broken are over and busy runs.
	deadline := time.Now().Add(90 * time.Second)
	for {
		list, err := c.List(ctx, stack)
		if err != nil {
			t.Fatal(err)
		}
		states := map[string]State{}
		for _, j := range list {
			states[j.Name] = j.State
		}
		if states["done"] == StateCompleted && states["broken"] == StateFailed && states["busy"] == StateRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs did not settle: %v", states)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// Follow does not wait for the scheduled job, and reports it when named.
	sum, _, _, _ := follow(t, c, FollowOptions{Stack: stack, Jobs: []string{"done", "nightly"}}, time.Minute)
	if r := result(t, sum, "nightly"); r.State != StateScheduled || !strings.Contains(r.Err, "scheduled") {
		t.Errorf("nightly: %+v", r)
	}
	removed, err := c.Prune(ctx, stack)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(removed, ",") != "broken,done" {
		t.Errorf("removed %v, want broken and done", removed)
	}
	svcs, err := c.stackServices(ctx, stack)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range svcs {
		names = append(names, s.Spec.Name)
	}
	if strings.Join(names, ",") != stack+"_busy,"+stack+"_nightly,"+stack+"_web" {
		t.Errorf("services left: %v", names)
	}
	// Nothing more to prune.
	if removed, err := c.Prune(ctx, stack); err != nil || len(removed) != 0 {
		t.Errorf("second prune: %v %v", removed, err)
	}
}

// leftovers lists services and networks of stacks whose name starts with
// prefix.
func leftovers(t *testing.T, c *Client, prefix string) []string {
	t.Helper()
	ctx := context.Background()
	var left []string
	svcs, err := c.api.ServiceList(ctx, swarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("label", StackNamespaceLabel))})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range svcs {
		if strings.HasPrefix(s.Spec.Labels[StackNamespaceLabel], prefix) {
			left = append(left, "service "+s.Spec.Name)
		}
	}
	nets, err := c.api.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("label", StackNamespaceLabel))})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nets {
		if strings.HasPrefix(n.Labels[StackNamespaceLabel], prefix) {
			left = append(left, "network "+n.Name)
		}
	}
	return left
}

func runJob(t *testing.T, c *Client, ctx context.Context, opts RunOptions) (int, string, string, error) {
	t.Helper()
	var out, errOut syncBuffer
	opts.Out, opts.Err = &out, &errOut
	if opts.StackFile == nil {
		opts.StackFile = stackFile(t, "run.yml")
	}
	if opts.Job == "" {
		opts.Job = "migrate"
	}
	code, err := c.Run(ctx, opts)
	t.Logf("run %s: code %d, err %v\nstdout:\n%sstderr:\n%s", opts.StackPrefix, code, err, out.String(), errOut.String())
	return code, out.String(), errOut.String(), err
}

func TestE2ERun(t *testing.T) {
	c := e2e(t)
	prefix := "ptrun" + strings.ToLower(fmt.Sprint(time.Now().UnixNano()%100000))
	ctx := context.Background()

	code, out, _, err := runJob(t, c, ctx, RunOptions{StackPrefix: prefix, Env: []string{"EXTRA=yes"}})
	if code != 0 || err != nil {
		t.Errorf("run exit 0: got %d, %v", code, err)
	}
	mustMatch(t, out, `(?m)^migrate \| migrating$`)

	code, out, _, err = runJob(t, c, ctx, RunOptions{StackPrefix: prefix, Env: []string{"JOBIMAGE_ARGS=env DB_HOST EXTRA -- exit 3", "EXTRA=overridden"}})
	if code != 3 || err != nil {
		t.Errorf("run exit 3: got %d, %v", code, err)
	}
	mustMatch(t, out, `(?m)^migrate \| DB_HOST=db$`)
	mustMatch(t, out, `(?m)^migrate \| EXTRA=overridden$`)

	if left := leftovers(t, c, prefix); len(left) > 0 {
		t.Errorf("run left behind: %v", left)
	}
}

func TestE2ERunTimeoutAndCancel(t *testing.T) {
	c := e2e(t)
	prefix := "ptrunstop" + strings.ToLower(fmt.Sprint(time.Now().UnixNano()%100000))

	start := time.Now()
	code, out, _, err := runJob(t, c, context.Background(), RunOptions{StackPrefix: prefix, Timeout: 8 * time.Second,
		Env: []string{"JOBIMAGE_ARGS=echo waiting -- sleep 5m"}})
	if re, ok := err.(*RunError); !ok || re.Code != 124 || code != 124 {
		t.Errorf("run past its timeout: got %d, %v", code, err)
	}
	mustMatch(t, out, `(?m)^migrate \| waiting$`)
	t.Logf("timed-out run took %s", time.Since(start))

	ctx, cancel := context.WithCancel(context.Background())
	var st syncBuffer
	go func() {
		// Cancel (like Ctrl-C) once the job runs.
		for i := 0; i < 600 && !strings.Contains(st.String(), "job migrate: running"); i++ {
			time.Sleep(100 * time.Millisecond)
		}
		cancel()
	}()
	code, _, _, err = runJob(t, c, ctx, RunOptions{StackPrefix: prefix, Status: &st,
		Env: []string{"JOBIMAGE_ARGS=echo waiting -- sleep 5m"}})
	if re, ok := err.(*RunError); !ok || re.Code != 130 || code != 130 {
		t.Errorf("cancelled run: got %d, %v", code, err)
	}
	if left := leftovers(t, c, prefix); len(left) > 0 {
		t.Errorf("run left behind: %v", left)
	}
}

func TestE2EKeepAndRejectedRun(t *testing.T) {
	c := e2e(t)
	prefix := "ptrunkeep" + strings.ToLower(fmt.Sprint(time.Now().UnixNano()%100000))
	file := strings.Replace(string(stackFile(t, "run.yml")), "image: podtemplate-e2e:latest", "image: podtemplate-missing:latest", 1)
	code, _, _, err := runJob(t, c, context.Background(), RunOptions{StackPrefix: prefix, StackFile: []byte(file), Keep: true})
	if re, ok := err.(*RunError); !ok || re.Code != 125 || code != 125 || !strings.Contains(err.Error(), "No such image") {
		t.Errorf("run of a missing image: got %d, %v", code, err)
	}
	left := leftovers(t, c, prefix)
	if len(left) == 0 {
		t.Fatalf("Keep removed the stack")
	}
	// Clean up what Keep kept.
	svcs, _ := c.api.ServiceList(context.Background(), swarm.ServiceListOptions{})
	for _, s := range svcs {
		if ns := s.Spec.Labels[StackNamespaceLabel]; strings.HasPrefix(ns, prefix) {
			if err := c.RemoveStack(context.Background(), ns); err != nil {
				t.Error(err)
			}
		}
	}
	if left := leftovers(t, c, prefix); len(left) > 0 {
		t.Errorf("RemoveStack left: %v", left)
	}
}

func TestE2EStackNotFound(t *testing.T) {
	c := e2e(t)
	_, err := c.List(context.Background(), "ptnosuchstack")
	want := "stack ptnosuchstack not found (no services with label com.docker.stack.namespace=ptnosuchstack)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	_, err = c.Wait(context.Background(), FollowOptions{Stack: "ptnosuchstack"})
	if err == nil || err.Error() != want {
		t.Errorf("Wait: got %v", err)
	}
}
