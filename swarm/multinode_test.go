package swarm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// The multi-node tests run on a Swarm of two nodes: the local manager and
// a worker that scripts/swarm-worker.sh starts in a network namespace of
// its own (scripts/e2e.sh runs them as
// `scripts/swarm-worker.sh run -- go test ./swarm -run '^TestMultiNode'`).
// The harness passes the worker in PT_WORKER_* variables; without them the
// tests skip. They run one after the other, the fault that kills the
// worker's daemon last.

// worker is the second node, as the harness describes it.
type worker struct {
	name   string // node name (host name of its daemon)
	nodeID string
	host   string // its daemon, for docker -H
	pid    string // its dockerd's PID
}

func multiNode(t *testing.T) (*Client, worker) {
	t.Helper()
	w := worker{
		name:   os.Getenv("PT_WORKER_NODE"),
		nodeID: os.Getenv("PT_WORKER_NODE_ID"),
		host:   os.Getenv("PT_WORKER_HOST"),
		pid:    os.Getenv("PT_WORKER_PID"),
	}
	if w.nodeID == "" {
		t.Skip("no worker node: run under scripts/swarm-worker.sh run (as scripts/e2e.sh does)")
	}
	if testing.Short() {
		t.Skip("multi-node test skipped with -short")
	}
	return e2eSwarm(t), w
}

// setAvailability runs docker node update --availability on the worker.
func (w worker) setAvailability(t *testing.T, availability string) {
	t.Helper()
	out, err := exec.Command("docker", "node", "update", "--availability", availability, w.nodeID).CombinedOutput()
	if err != nil {
		t.Fatalf("docker node update --availability %s %s: %v\n%s", availability, w.name, err, out)
	}
}

// containers lists the containers of stack on the worker's own daemon.
func (w worker) containers(t *testing.T, stack string) []string {
	t.Helper()
	out, err := exec.Command("docker", "-H", w.host, "ps", "-a", "--format", "{{.Names}}",
		"--filter", "label=com.docker.stack.namespace="+stack).Output()
	if err != nil {
		t.Fatalf("docker -H %s ps: %v", w.host, err)
	}
	return strings.Fields(string(out))
}

// managerContainers lists the containers of stack on the manager's daemon.
func managerContainers(t *testing.T, stack string) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "--format", "{{.Names}}",
		"--filter", "label=com.docker.stack.namespace="+stack).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	return strings.Fields(string(out))
}

// nothingLeft waits up to a minute for stack to have no service and no
// container on either node (daemons remove containers asynchronously), nor
// a network if networks is set.
func nothingLeft(t *testing.T, c *Client, w worker, stack string, workerAlive, networks bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var left []string
		for _, l := range leftovers(t, c, stack) {
			if networks || !strings.HasPrefix(l, "network ") {
				left = append(left, l)
			}
		}
		for _, n := range managerContainers(t, stack) {
			left = append(left, "container "+n+" on the manager")
		}
		if workerAlive {
			for _, n := range w.containers(t, stack) {
				left = append(left, "container "+n+" on "+w.name)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("left behind by %s: %v", stack, left)
			return
		}
		time.Sleep(time.Second)
	}
}

// taskNodes maps the tasks of a service to the names of their nodes.
func taskNodes(t *testing.T, c *Client, service string) map[string]string {
	t.Helper()
	ctx := context.Background()
	tasks, err := c.api.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", service))})
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := c.api.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, n := range nodes {
		names[n.ID] = n.Description.Hostname
	}
	out := map[string]string{}
	for _, task := range tasks {
		out[task.ID] = names[task.NodeID]
	}
	return out
}

// jobStack is a stack file with one job service.
func jobStack(name, mode string, extraDeploy string, attempts, completions int, timeout string, command ...string) []byte {
	restart := "{condition: none}"
	if attempts > 1 {
		restart = fmt.Sprintf("{condition: on-failure, max_attempts: %d, delay: 1s}", attempts-1)
	}
	replicas := ""
	if mode != "global-job" {
		replicas = fmt.Sprintf("\n      replicas: %d", completions)
	}
	swarmMode := mode
	if mode == "restart-none" {
		swarmMode = "replicated"
	}
	return []byte(fmt.Sprintf(`version: "3.8"
services:
  %s:
    image: podtemplate-e2e:latest
    command: [%s]
    deploy:
      mode: %s%s
      restart_policy: %s%s
      labels:
        io.podtemplate.job: "true"
        io.podtemplate.job.name: %s
        io.podtemplate.job.mode: %s
        io.podtemplate.job.completions: "%d"
        io.podtemplate.job.attempts: "%d"
        io.podtemplate.job.timeout: %s
        io.podtemplate.job.hash: "%s"
`, name, quoteArgs(command), swarmMode, replicas, restart, extraDeploy, name, mode, completions, attempts, timeout, name))
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, ", ")
}

func TestMultiNode(t *testing.T) {
	c, w := multiNode(t)
	// The worker joined drained, so that other services stay off it; it
	// takes tasks only while these tests run.
	w.setAvailability(t, "active")
	t.Cleanup(func() { w.setAvailability(t, "drain") })
	t.Logf("worker %s (%s) active", w.name, w.nodeID)

	t.Run("GlobalJob", func(t *testing.T) {
		stack := uniqueStack(t, c, "mnglobal")
		snap := deploy(t, c, stack, jobStack("everywhere", "global-job", "", 1, 0, "2m",
			"echo", "hello from every node", "--", "sleep", "1s"))
		sum, out, other, _ := follow(t, c, FollowOptions{Stack: stack, Before: snap, Logs: true}, 2*time.Minute)
		r := result(t, sum, "everywhere")
		if r.State != StateCompleted || r.Tasks.Completed != 2 {
			t.Errorf("want completed with 2 tasks (one per node), got %+v", r)
		}
		// Counted and reported per node; logs prefixed with the node.
		if len(r.Nodes) != 2 {
			t.Errorf("want 2 nodes in the result, got %+v", r.Nodes)
		}
		for _, n := range r.Nodes {
			if n.Counts.Completed != 1 || n.Counts.Total() != 1 {
				t.Errorf("node %s: want 1 completed task, got %+v", n.Node, n.Counts)
			}
		}
		mustMatch(t, out, `(?m)^everywhere@`+regexp.QuoteMeta(w.name)+` +\| hello from every node$`)
		mustMatch(t, out, `(?m)^everywhere@`+regexp.QuoteMeta(managerName(t, c))+` +\| hello from every node$`)
		mustMatch(t, other, `(?m)^everywhere\s+completed\s+0\s+\S+\s+.*`+regexp.QuoteMeta(w.name)+`: 1 completed`)
	})
	t.Run("ReplicatedJob", func(t *testing.T) { testReplicatedJob(t, c, w) })
	t.Run("Prune", func(t *testing.T) { testPrune(t, c, w) })
	t.Run("RunCleanup", func(t *testing.T) { testRunCleanup(t, c, w) })
	t.Run("NoSuitableNode", func(t *testing.T) { testNoSuitableNode(t, c) })
	t.Run("Drain", func(t *testing.T) { testDrain(t, c, w) })
	// Last: the worker does not come back.
	t.Run("WorkerKilled", func(t *testing.T) { testWorkerKilled(t, c, w) })
}

func testReplicatedJob(t *testing.T, c *Client, w worker) {
	stack := uniqueStack(t, c, "mnshards")
	// At most 2 tasks per node: the 4 completions need both nodes.
	snap := deploy(t, c, stack, jobStack("shard", "replicated-job", `
      placement: {max_replicas_per_node: 2}`, 1, 4, "2m", "echo", "shard done", "--", "sleep", "2s"))
	sum, out, _, _ := follow(t, c, FollowOptions{Stack: stack, Before: snap, Logs: true}, 2*time.Minute)
	r := result(t, sum, "shard")
	if r.State != StateCompleted || r.Tasks.Completed != 4 {
		t.Errorf("want completed with 4 tasks, got %+v", r)
	}
	perNode := map[string]int{}
	for _, node := range taskNodes(t, c, stack+"_shard") {
		perNode[node]++
	}
	if perNode[w.name] != 2 || len(perNode) != 2 {
		t.Errorf("want 2 tasks on each node, got %v", perNode)
	}
	if n := strings.Count(out, "shard done"); n != 4 {
		t.Errorf("want the logs of 4 tasks, got %d lines:\n%s", n, out)
	}
}

// testPrune: jobs prune removes a finished job that ran on both nodes,
// and its containers go from both daemons. (A restart-none job: Docker
// Engines before 23.0 keep the tasks, and so the stopped containers, of
// removed replicated-job and global-job services: moby/moby#44312.)
func testPrune(t *testing.T, c *Client, w worker) {
	stack := uniqueStack(t, c, "mnprune")
	snap := deploy(t, c, stack, jobStack("pair", "restart-none", `
      placement: {max_replicas_per_node: 1}`, 1, 2, "2m", "echo", "one of a pair", "--", "sleep", "1s"))
	sum, _, _, _ := follow(t, c, FollowOptions{Stack: stack, Before: snap, Logs: true}, 2*time.Minute)
	if r := result(t, sum, "pair"); r.State != StateCompleted || r.Tasks.Completed != 2 {
		t.Errorf("want completed with 2 tasks, got %+v", r)
	}
	if len(w.containers(t, stack)) == 0 || len(managerContainers(t, stack)) == 0 {
		t.Errorf("want a container on each node: worker %v, manager %v", w.containers(t, stack), managerContainers(t, stack))
	}
	removed, err := c.Prune(context.Background(), stack)
	if err != nil || strings.Join(removed, ",") != "pair" {
		t.Errorf("prune: %v %v", removed, err)
	}
	nothingLeft(t, c, w, stack, true, false)
}

// managerName is the host name of the node the client talks to.
func managerName(t *testing.T, c *Client) string {
	t.Helper()
	info, err := c.api.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.Name
}

// testNoSuitableNode: placement constraints that no node satisfies end
// the job as rejected with Swarm's "no suitable node", well within its
// timeout; for a global-job Swarm creates no task at all.
func testNoSuitableNode(t *testing.T, c *Client) {
	stack := uniqueStack(t, c, "mnnowhere")
	constraint := `
      placement: {constraints: ["node.labels.pt-nosuch == yes"]}`
	file := string(jobStack("nowhere", "restart-none", constraint, 1, 1, "3m", "echo", "never runs"))
	global := string(jobStack("nowhereglobal", "global-job", constraint, 1, 0, "3m", "echo", "never runs"))
	file += global[strings.Index(global, "  nowhereglobal:"):]
	snap := deploy(t, c, stack, []byte(file))
	sum, _, other, took := follow(t, c, FollowOptions{Stack: stack, Before: snap, Logs: true}, 3*time.Minute)
	for _, name := range []string{"nowhere", "nowhereglobal"} {
		r := result(t, sum, name)
		if r.State != StateRejected || !strings.Contains(r.Err, "no suitable node") {
			t.Errorf("%s: want rejected with no suitable node, got %+v", name, r)
		}
	}
	mustMatch(t, other, `(?m)^job nowhere: rejected: no suitable node`)
	if took > time.Minute {
		t.Errorf("took %s to report jobs that cannot be placed (timeout 3m)", took)
	}
}

// waitTaskOn waits until a task of service runs on node.
func waitTaskOn(t *testing.T, c *Client, service, node string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		ctx := context.Background()
		tasks, err := c.api.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", service))})
		if err == nil {
			names := taskNodes(t, c, service)
			for _, task := range tasks {
				if task.Status.State == swarm.TaskStateRunning && names[task.ID] == node {
					return
				}
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("no task of %s runs on %s", service, node)
}

// followAsync follows a stack in the background; wait returns its result.
func followAsync(t *testing.T, c *Client, opts FollowOptions, limit time.Duration) (wait func() (Summary, string, string, time.Duration)) {
	type res struct {
		sum        Summary
		out, other string
		took       time.Duration
	}
	ch := make(chan res, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		defer cancel()
		var out, errOut, status syncBuffer
		opts.Out, opts.Err, opts.Status = &out, &errOut, &status
		start := time.Now()
		sum, err := c.Follow(ctx, opts)
		if err != nil {
			t.Errorf("follow %s: %v", opts.Stack, err)
		}
		ch <- res{sum, out.String(), errOut.String() + status.String(), time.Since(start)}
	}()
	return func() (Summary, string, string, time.Duration) {
		r := <-ch
		t.Logf("follow %s took %s\nstdout:\n%sstatus:\n%s", opts.Stack, r.took.Round(time.Millisecond), r.out, r.other)
		return r.sum, r.out, r.other, r.took
	}
}

// testDrain drains the worker while jobs run there. Swarm shuts down the
// task of a replicated service and starts another where attempts are
// left; a job with one attempt cannot finish; job-mode tasks are left to
// complete on the drained node.
func testDrain(t *testing.T, c *Client, w worker) {
	stack := uniqueStack(t, c, "mndrain")
	spread := `
      placement: {max_replicas_per_node: 1}`
	file := string(jobStack("retried", "restart-none", "", 2, 2, "3m", "echo", "working", "--", "sleep", "12s", "--", "exit", "0"))
	for _, part := range [][]byte{
		jobStack("once", "restart-none", spread, 1, 2, "3m", "echo", "working", "--", "sleep", "12s", "--", "exit", "0"),
		jobStack("batch", "replicated-job", spread, 1, 2, "3m", "echo", "working", "--", "sleep", "12s", "--", "exit", "0"),
	} {
		file += string(part[strings.Index(string(part), "services:\n")+len("services:\n"):])
	}
	snap := deploy(t, c, stack, []byte(file))
	wait := followAsync(t, c, FollowOptions{Stack: stack, Before: snap, Logs: true}, 3*time.Minute)
	for _, job := range []string{"retried", "once", "batch"} {
		waitTaskOn(t, c, stack+"_"+job, w.name)
	}
	w.setAvailability(t, "drain")
	defer w.setAvailability(t, "active")
	sum, _, other, _ := wait()

	retried := result(t, sum, "retried")
	if retried.State != StateCompleted || retried.ExitCode != 0 || retried.Tasks.Completed != 2 || retried.Tasks.Stopped != 1 {
		t.Errorf("retried: want completed after one task was shut down and replaced, got %+v", retried)
	}
	mustMatch(t, other, `(?m)^retried: task shut down on `+regexp.QuoteMeta(w.name)+` \(node drained\), rescheduled on `+regexp.QuoteMeta(managerName(t, c)))
	once := result(t, sum, "once")
	if once.State != StateFailed || !strings.Contains(once.Err, "drained") || !strings.Contains(once.Err, "not rescheduled") {
		t.Errorf("once: want failed, its task shut down by the drain and not rescheduled, got %+v", once)
	}
	batch := result(t, sum, "batch")
	if batch.State != StateCompleted || batch.Tasks.Completed != 2 {
		t.Errorf("batch: want completed (Swarm lets job tasks finish on a drained node), got %+v", batch)
	}
}

// testWorkerKilled kills the worker's daemon while jobs run on it, some
// followed after a deploy and one started by Run: each is reported failed
// with the reason within its timeout (a job with a second attempt
// completes on the manager), and Run still removes its stack.
func testWorkerKilled(t *testing.T, c *Client, w worker) {
	stack := uniqueStack(t, c, "mnkill")
	spread := `
      placement: {max_replicas_per_node: 1}`
	sleep := []string{"echo", "working", "--", "sleep", "25s", "--", "exit", "0"}
	file := string(jobStack("lost", "restart-none", spread, 1, 2, "3m", sleep...))
	for _, part := range [][]byte{
		jobStack("retried", "restart-none", "", 2, 2, "3m", sleep...),
		jobStack("everywhere", "global-job", "", 1, 0, "3m", sleep...),
	} {
		file += string(part[strings.Index(string(part), "services:\n")+len("services:\n"):])
	}
	snap := deploy(t, c, stack, []byte(file))
	wait := followAsync(t, c, FollowOptions{Stack: stack, Before: snap, Logs: true}, 3*time.Minute)

	prefix := "ptmnkillrun" + strings.ToLower(fmt.Sprint(time.Now().UnixNano()%100000))
	type runRes struct {
		code  int
		err   error
		ended time.Time
	}
	runDone := make(chan runRes, 1)
	var runStatus syncBuffer
	go func() {
		code, _, _, err := runJob(t, c, context.Background(), RunOptions{StackPrefix: prefix, Status: &runStatus,
			StackFile: jobStack("runjob", "restart-none", spread, 1, 2, "3m", sleep...), Job: "runjob", Summary: true})
		runDone <- runRes{code, err, time.Now()}
	}()
	for _, job := range []string{"lost", "retried", "everywhere"} {
		waitTaskOn(t, c, stack+"_"+job, w.name)
	}
	for i := 0; i < 300 && !strings.Contains(runStatus.String(), "job runjob: running"); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // both of runjob's tasks start
	killed := time.Now()
	if out, err := exec.Command("kill", "-KILL", w.pid).CombinedOutput(); err != nil {
		t.Fatalf("kill -KILL %s: %v %s", w.pid, err, out)
	}
	t.Logf("killed the worker's dockerd (PID %s)", w.pid)

	sum, _, other, _ := wait()
	t.Logf("follow ended %s after the kill", time.Since(killed).Round(time.Millisecond))
	for _, name := range []string{"lost", "everywhere"} {
		r := result(t, sum, name)
		if r.State != StateFailed || !strings.Contains(r.Err, "node "+w.name+" is down") {
			t.Errorf("%s: want failed because node %s is down, got %+v", name, w.name, r)
		}
	}
	mustMatch(t, other, `(?m)^job lost: failed in \S+: node `+regexp.QuoteMeta(w.name)+` is down`)
	retried := result(t, sum, "retried")
	if retried.State != StateCompleted || retried.Tasks.Completed != 2 {
		t.Errorf("retried: want completed on the manager after the worker died, got %+v", retried)
	}
	mustMatch(t, other, `(?m)^retried: task lost on `+regexp.QuoteMeta(w.name)+` \(node down\), rescheduled on `+regexp.QuoteMeta(managerName(t, c)))

	r := <-runDone
	t.Logf("run ended %s after the kill (its stack removed), code %d, err %v\nstatus:\n%s", r.ended.Sub(killed).Round(time.Millisecond), r.code, r.err, runStatus.String())
	if re, ok := r.err.(*RunError); !ok || re.Code != 125 || r.code != 125 || !strings.Contains(re.Msg, "node "+w.name+" is down") {
		t.Errorf("run: want exit 125 with node %s is down, got %d, %v", w.name, r.code, r.err)
	}
	if m := regexp.MustCompile(`running job runjob as stack (\S+)`).FindStringSubmatch(runStatus.String()); m != nil {
		nothingLeft(t, c, w, m[1], false, true) // containers by the exact stack name
	} else {
		t.Errorf("no stack name in run's status:\n%s", runStatus.String())
	}
	nothingLeft(t, c, w, prefix, false, true)
}

// testRunCleanup: run of a job with a task on each node removes its stack,
// and both daemons remove the task containers.
func testRunCleanup(t *testing.T, c *Client, w worker) {
	prefix := "ptmnrun" + strings.ToLower(fmt.Sprint(time.Now().UnixNano()%100000))
	code, out, status, err := runJob(t, c, context.Background(), RunOptions{StackPrefix: prefix, Job: "pair",
		StackFile: jobStack("pair", "restart-none", `
      placement: {max_replicas_per_node: 1}`, 1, 2, "2m", "echo", "one of a pair", "--", "sleep", "1s")})
	if code != 0 || err != nil {
		t.Errorf("run: %d %v", code, err)
	}
	mustMatch(t, out, `(?m)^pair@`+regexp.QuoteMeta(w.name)+` +\| one of a pair$`)
	mustMatch(t, out, `(?m)^pair@`+regexp.QuoteMeta(managerName(t, c))+` +\| one of a pair$`)
	m := regexp.MustCompile(`running job pair as stack (\S+)`).FindStringSubmatch(status)
	if m == nil {
		t.Fatalf("no stack name in the status:\n%s", status)
	}
	// The containers are looked up by the exact stack name.
	nothingLeft(t, c, w, m[1], true, true)
	nothingLeft(t, c, w, prefix, true, true)
}
