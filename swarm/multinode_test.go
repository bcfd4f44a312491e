package swarm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
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
	e2eOnce.Do(setupE2E)
	if e2eSkip != "" {
		t.Skip(e2eSkip)
	}
	if e2eFail != "" {
		t.Fatal(e2eFail)
	}
	return e2eClient, w
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
		sum, _, _, _ := follow(t, c, FollowOptions{Stack: stack, Before: snap, Logs: true}, 2*time.Minute)
		r := result(t, sum, "everywhere")
		if r.State != StateCompleted || r.Tasks.Completed != 2 {
			t.Errorf("want completed with 2 tasks (one per node), got %+v", r)
		}
	})
	t.Run("ReplicatedJob", func(t *testing.T) { testReplicatedJob(t, c, w) })
	t.Run("Prune", func(t *testing.T) { testPrune(t, c, w) })
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
