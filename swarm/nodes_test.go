package swarm

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// twoNodes is a Swarm of a manager "vm" (node1) and a worker "w2" (node2).
func twoNodes(workerState swarm.NodeState, workerAvailability swarm.NodeAvailability) nodeView {
	return newNodeView([]swarm.Node{
		{ID: "node1", Description: swarm.NodeDescription{Hostname: "vm"},
			Spec:   swarm.NodeSpec{Availability: swarm.NodeAvailabilityActive},
			Status: swarm.NodeStatus{State: swarm.NodeStateReady}},
		{ID: "node2", Meta: swarm.Meta{UpdatedAt: t0.Add(20 * time.Second)}, Description: swarm.NodeDescription{Hostname: "w2"},
			Spec:   swarm.NodeSpec{Availability: workerAvailability},
			Status: swarm.NodeStatus{State: workerState}},
	})
}

func on(t swarm.Task, node string) swarm.Task {
	t.NodeID = node
	return t
}

func TestNodeView(t *testing.T) {
	v := twoNodes(swarm.NodeStateDown, swarm.NodeAvailabilityActive)
	if !v.multi() || v.eligible != 1 || v.name("node2") != "w2" || v.name("0123456789abcdef") != "0123456789ab" {
		t.Errorf("view: %+v", v)
	}
	svc := jobService("s", "id1", "job", nil)
	running := on(task(svc, "a", 1, swarm.TaskStateRunning, 0, 1, 0, ""), "node2")
	if got := v.lostReason(running); got != "node w2 is down (task orphaned)" {
		t.Errorf("running on a down node: %q", got)
	}
	if got := v.lostReason(on(running, "node1")); got != "" {
		t.Errorf("running on a ready node: %q", got)
	}
	if got := v.lostReason(on(running, "gone")); got != "node gone left the Swarm (task orphaned)" {
		t.Errorf("running on a removed node: %q", got)
	}
	done := on(task(svc, "b", 2, swarm.TaskStateComplete, 0, 1, 0, ""), "node2")
	if got := v.lostReason(done); got != "" {
		t.Errorf("a finished task is not lost: %q", got)
	}
	unassigned := on(task(svc, "c", 3, swarm.TaskStatePending, 0, 1, 0, ""), "")
	if got := v.lostReason(unassigned); got != "" {
		t.Errorf("an unassigned task is not lost: %q", got)
	}
	if got := (nodeView{}).lostReason(running); got != "" {
		t.Errorf("without a node list nothing is lost: %q", got)
	}
	marked := v.markLost([]swarm.Task{running, done})
	if !isLost(marked[0]) || marked[0].Status.Err != "node w2 is down (task orphaned)" || !marked[0].Status.Timestamp.Equal(t0.Add(20*time.Second)) || isLost(marked[1]) {
		t.Errorf("markLost: %+v", marked)
	}
	nodes := v.perNode(marked)
	if got := nodesText(nodes); got != "w2 (down): 1 completed, 1 failed" {
		t.Errorf("nodesText: %q", got)
	}
}

func TestEvaluateMultiNode(t *testing.T) {
	down := twoNodes(swarm.NodeStateDown, swarm.NodeAvailabilityActive)
	drained := twoNodes(swarm.NodeStateReady, swarm.NodeAvailabilityDrain)

	// restart-none, 2 tasks, one attempt: the task lost with its node
	// fails the job, without an exit code.
	pair := jobService("s", "id1", "pair", map[string]string{"io.podtemplate.job.completions": "2"})
	pair.Spec.Mode.Replicated.Replicas = u64(2)
	job, _ := jobFromService("s", pair)
	lost := on(task(pair, "a", 1, swarm.TaskStateRunning, 0, 1, 0, ""), "node2")
	other := task(pair, "b", 2, swarm.TaskStateRunning, 0, 1, 0, "")
	ev := evaluate(job, pair, []swarm.Task{lost, other}, down)
	if ev.State != StateFailed || ev.ExitCode != -1 || ev.Err != "node w2 is down (task orphaned)" {
		t.Errorf("lost task, one attempt: %s exit %d %q", ev.State, ev.ExitCode, ev.Err)
	}
	if got := nodesText(ev.Nodes); got != "vm: 1 running; w2 (down): 1 failed" {
		t.Errorf("nodes: %q", got)
	}

	// Two attempts: Swarm's replacement in the same slot decides, and the
	// note says what happened.
	retried := jobService("s", "id2", "retried", map[string]string{"io.podtemplate.job.completions": "2", "io.podtemplate.job.attempts": "2"})
	retried.Spec.Mode.Replicated.Replicas = u64(2)
	rjob, _ := jobFromService("s", retried)
	lost = on(task(retried, "a", 1, swarm.TaskStateRunning, 0, 1, 0, ""), "node2")
	other = task(retried, "b", 2, swarm.TaskStateComplete, 0, 10, 0, "")
	again := task(retried, "c", 1, swarm.TaskStateRunning, 21, 22, 0, "")
	ev = evaluate(rjob, retried, []swarm.Task{lost, other, again}, down)
	if ev.State != StateRunning || len(ev.Notes) != 1 || ev.Notes[0].text != "task lost on w2 (node down), rescheduled on vm" {
		t.Errorf("lost task replaced: %s %+v", ev.State, ev.Notes)
	}
	again.Status.State = swarm.TaskStateComplete
	if ev = evaluate(rjob, retried, []swarm.Task{lost, other, again}, down); ev.State != StateCompleted || ev.ExitCode != 0 {
		t.Errorf("replacement completed: %s %d", ev.State, ev.ExitCode)
	}

	// Drained: the shut-down task is replaced (a note), or, with one
	// attempt, the run stalls with the reason.
	shut := on(task(retried, "a", 1, swarm.TaskStateShutdown, 0, 3, 143, ""), "node2")
	ev = evaluate(rjob, retried, []swarm.Task{shut, other, again}, drained)
	if ev.State != StateCompleted || len(ev.Notes) != 1 || ev.Notes[0].text != "task shut down on w2 (node drained), rescheduled on vm" {
		t.Errorf("drained task replaced: %s %+v", ev.State, ev.Notes)
	}
	shut = on(task(pair, "a", 1, swarm.TaskStateShutdown, 0, 3, 143, ""), "node2")
	done := task(pair, "b", 2, swarm.TaskStateComplete, 0, 10, 0, "")
	ev = evaluate(job, pair, []swarm.Task{shut, done}, drained)
	if ev.State != StatePending || ev.Stalled == nil || ev.Stalled.Status.Err != "task shut down on w2 (node drained) and not rescheduled" {
		t.Fatalf("drained task not replaced: %s %+v", ev.State, ev.Stalled)
	}
	ev.failWith(*ev.Stalled)
	if ev.State != StateFailed || ev.ExitCode != -1 {
		t.Errorf("stalled after a drain: %s exit %d (the container's 143 is not the job's)", ev.State, ev.ExitCode)
	}

	// Global job: the task lost on the down node fails it, though the
	// only eligible node left has completed.
	gj := jobService("s", "id3", "everywhere", nil)
	gj.Spec.Mode = swarm.ServiceMode{GlobalJob: &swarm.GlobalJob{}}
	gjob, _ := jobFromService("s", gj)
	g1 := task(gj, "g1", 0, swarm.TaskStateComplete, 0, 5, 0, "")
	g2 := on(task(gj, "g2", 0, swarm.TaskStateRunning, 0, 1, 0, ""), "node2")
	if ev = evaluate(gjob, gj, []swarm.Task{g1, g2}, down); ev.State != StateFailed || !strings.Contains(ev.Err, "node w2 is down") {
		t.Errorf("global job with a lost task: %s %q", ev.State, ev.Err)
	}
	// A node that is drained after the tasks were created: the tasks
	// Swarm created still count.
	if ev = evaluate(gjob, gj, []swarm.Task{g1, g2}, drained); ev.State != StateRunning {
		t.Errorf("global job on a node drained meanwhile: %s", ev.State)
	}

	// Nowhere to go: the scheduler's reason for a restart-none job; no
	// task at all for a global job with constraints.
	unplaced := task(pair, "u", 1, swarm.TaskStatePending, 0, 1, 0, "no suitable node (scheduling constraints not satisfied on 2 nodes)")
	unplaced.NodeID = ""
	if ev = evaluate(job, pair, []swarm.Task{unplaced}, drained); ev.Unplaceable != unplaced.Status.Err {
		t.Errorf("unplaceable: %+v", ev)
	}
	gj.Spec.TaskTemplate.Placement = &swarm.Placement{Constraints: []string{"node.labels.x == y"}}
	if ev = evaluate(gjob, gj, nil, drained); ev.Unplaceable != "no suitable node: no node satisfies the placement constraints (node.labels.x == y)" {
		t.Errorf("global job with no task: %q", ev.Unplaceable)
	}
}

func TestSummaryMultiNode(t *testing.T) {
	sum := Summary{MultiNode: true, Jobs: []JobResult{{JobRun: JobRun{Name: "retried", State: StateCompleted, ExitCode: 0,
		Nodes: []NodeTasks{{Node: "vm", Counts: TaskCounts{Completed: 2}}, {Node: "w2", Drained: true, Counts: TaskCounts{Stopped: 1}}},
		Notes: []string{"task shut down on w2 (node drained), rescheduled on vm"}}, Duration: time.Second}}}
	var b bytes.Buffer
	sum.Print(&b)
	want := "JOB      STATE      EXIT  DURATION  NODES                                     ERROR\n" +
		"retried  completed  0     1.0s      vm: 2 completed; w2 (drained): 1 stopped  \n" +
		"retried: task shut down on w2 (node drained), rescheduled on vm\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestListPruneLostFake: jobs ls reports a job whose task was lost with
// its node as failed, and prune removes it (its task runs no more).
func TestListPruneLostFake(t *testing.T) {
	lost := jobService("shop", "s1", "lost", nil)
	busy := jobService("shop", "s2", "busy", nil)
	v := twoNodes(swarm.NodeStateDown, swarm.NodeAvailabilityActive)
	var nodes []swarm.Node
	for _, n := range v.byID {
		nodes = append(nodes, n)
	}
	f := &fakeAPI{
		services: []swarm.Service{lost, busy},
		tasks: map[string][]swarm.Task{
			"s1": {on(task(lost, "a", 1, swarm.TaskStateRunning, 0, 1, 0, ""), "node2")},
			"s2": {task(busy, "b", 1, swarm.TaskStateRunning, 0, 1, 0, "")},
		},
		nodes: nodes,
	}
	c := NewClient(f, "fake")
	list, err := c.List(context.Background(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, j := range list {
		states[j.Name] = string(j.State) + " " + j.Err
	}
	if states["lost"] != "failed node w2 is down (task orphaned)" || states["busy"] != "running " {
		t.Errorf("jobs ls: %q", states)
	}
	removed, err := c.Prune(context.Background(), "shop")
	if err != nil || strings.Join(removed, ",") != "lost" {
		t.Errorf("prune: %v %v", removed, err)
	}
}
