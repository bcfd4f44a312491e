package swarm

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/podtemplate/podtemplate/joblabel"
)

// evaluation is where a job run stands, computed from its tasks.
type evaluation struct {
	State    State
	ExitCode int // -1: none known
	Err      string
	Started  time.Time
	Finished time.Time
	Counts   TaskCounts
	Tasks    []swarm.Task // tasks of the current run, oldest first
	// Stalled is the last task that failed or was shut down when no task
	// is active and the run is not complete (nil otherwise). Swarm may
	// still start another try: the caller decides after a delay.
	Stalled *swarm.Task
	// Unplaceable is Swarm's reason ("no suitable node (...)") when no
	// task of the run is on a node and the scheduler finds none for them,
	// or, for a global job, when Swarm created no task because no node
	// qualifies. Swarm keeps trying: the caller decides after a delay.
	Unplaceable string
	// Nodes counts the run's tasks per node.
	Nodes []NodeTasks
	// Notes tells what Swarm did with tasks of drained or lost nodes.
	Notes []taskNote
	// Decisive is the task that decided a final outcome: the failed task
	// of a failed run, the last completed task of a completed one (nil
	// while the run goes on). A pod job's exit status is read from it.
	Decisive *swarm.Task
}

// evaluator computes where one job's run stands from its service and the
// service's tasks. There is one per job mode, as docker/cli's service
// progress has one updater per service mode: the modes differ in how tasks
// are grouped into tries and in what "done" means.
type evaluator interface {
	// evaluate judges the current run; nodes is the Swarm's nodes as
	// last seen (tasks on a node that is down are lost).
	evaluate(svc swarm.Service, all []swarm.Task, nodes nodeView) evaluation
}

// newEvaluator picks the evaluator for a job's mode.
func newEvaluator(job Job) evaluator {
	switch job.Mode {
	case joblabel.ModeReplicatedJob:
		return replicatedJobEvaluator{job: job}
	case joblabel.ModeGlobalJob:
		return globalJobEvaluator{job: job}
	}
	return restartNoneEvaluator{job: job}
}

// evaluate computes the state of a job's current run with the evaluator of
// its mode.
func evaluate(job Job, svc swarm.Service, all []swarm.Task, nodes nodeView) evaluation {
	return newEvaluator(job).evaluate(svc, all, nodes)
}

// restartNoneEvaluator judges a replicated service whose restart policy
// gives each slot a number of tries: done when `completions` tasks
// completed, failed when one slot used up its tries.
type restartNoneEvaluator struct{ job Job }

func (e restartNoneEvaluator) evaluate(svc swarm.Service, all []swarm.Task, nodes nodeView) evaluation {
	ev, g := tally(svc, all, nodes, func(t swarm.Task) string {
		if svc.Spec.Mode.Global != nil || t.Slot == 0 {
			return "node " + t.NodeID
		}
		return "slot " + strconv.Itoa(t.Slot)
	})
	if len(ev.Tasks) == 0 {
		return ev
	}
	if failed := g.exhausted(e.job.Attempts); failed != nil {
		ev.failWith(*failed)
		return ev
	}
	if need := e.job.Completions; need > 0 && ev.Counts.Completed >= need {
		return finishCompleted(ev)
	}
	return unfinished(ev, nodes)
}

// replicatedJobEvaluator judges a replicated-job service: Swarm replaces
// failed tasks until `completions` tasks completed. Its tasks carry no
// stable slot, so failures are counted over the whole run: more than
// (attempts-1)*completions failures prove some task ran out of tries.
type replicatedJobEvaluator struct{ job Job }

func (e replicatedJobEvaluator) evaluate(svc swarm.Service, all []swarm.Task, nodes nodeView) evaluation {
	ev, g := tally(svc, all, nodes, func(t swarm.Task) string {
		if t.Slot == 0 {
			return "node " + t.NodeID
		}
		return "slot " + strconv.Itoa(t.Slot)
	})
	if len(ev.Tasks) == 0 {
		return ev
	}
	limit := e.job.Attempts
	if e.job.Attempts > 0 && e.job.Completions > 1 {
		limit = (e.job.Attempts-1)*e.job.Completions + 1
	}
	if failed := g.exhausted(limit); failed != nil {
		ev.failWith(*failed)
		return ev
	}
	if need := e.job.Completions; need > 0 && ev.Counts.Completed >= need {
		return finishCompleted(ev)
	}
	return unfinished(ev, nodes)
}

// globalJobEvaluator judges a global-job service: one task per eligible
// node, done when each node Swarm gave a task has a completed one, and
// every ready, active node has one (without placement constraints).
type globalJobEvaluator struct{ job Job }

func (e globalJobEvaluator) evaluate(svc swarm.Service, all []swarm.Task, nodes nodeView) evaluation {
	ev, g := tally(svc, all, nodes, func(t swarm.Task) string { return "node " + t.NodeID })
	constraints := constraintsOf(svc)
	if len(ev.Tasks) == 0 {
		// Swarm creates the tasks of a global job only on the nodes that
		// qualify, and none when none does.
		switch {
		case len(constraints) > 0:
			ev.Unplaceable = "no suitable node: no node satisfies the placement constraints (" + strings.Join(constraints, ", ") + ")"
		case nodes.byID != nil && nodes.eligible == 0:
			ev.Unplaceable = "no suitable node: no node is ready and active"
		}
		return ev
	}
	if failed := g.exhausted(e.job.Attempts); failed != nil {
		ev.failWith(*failed)
		return ev
	}
	need := len(g.order)
	if len(constraints) == 0 && nodes.eligible > need {
		need = nodes.eligible
	}
	complete := 0
	for _, key := range g.order {
		for _, t := range g.tasks[key] {
			if t.Status.State == swarm.TaskStateComplete {
				complete++
				break
			}
		}
	}
	if complete >= need {
		return finishCompleted(ev)
	}
	return unfinished(ev, nodes)
}

// constraintsOf returns a service's placement constraints.
func constraintsOf(svc swarm.Service) []string {
	if p := svc.Spec.TaskTemplate.Placement; p != nil {
		return p.Constraints
	}
	return nil
}

// taskGroups holds a run's tasks grouped into the tries of one slot or
// node, in the order the groups first appeared.
type taskGroups struct {
	tasks map[string][]swarm.Task
	order []string
}

// tally keeps the tasks of the service's current run (tasks lost with
// their node marked orphaned), counts them by state and per node, groups
// them with key and notes which were rescheduled.
func tally(svc swarm.Service, all []swarm.Task, nodes nodeView, key func(swarm.Task) string) (evaluation, taskGroups) {
	tasks := nodes.markLost(currentTasks(svc, all))
	ev := evaluation{State: StatePending, ExitCode: -1, Tasks: tasks}
	g := taskGroups{tasks: map[string][]swarm.Task{}}
	for _, t := range tasks {
		k := key(t)
		if _, ok := g.tasks[k]; !ok {
			g.order = append(g.order, k)
		}
		g.tasks[k] = append(g.tasks[k], t)
		ev.Counts.add(t.Status.State)
		if ev.Started.IsZero() || t.CreatedAt.Before(ev.Started) {
			ev.Started = t.CreatedAt
		}
	}
	ev.Nodes = nodes.perNode(tasks)
	ev.Notes = nodes.rescheduled(tasks, key)
	return ev, g
}

// exhausted returns the latest task of a group whose failures used up
// limit tries (0: unlimited), or a task Swarm could not start for a reason
// retries will not fix; nil if there is none.
func (g taskGroups) exhausted(limit int) *swarm.Task {
	var failed *swarm.Task
	for _, key := range g.order {
		tries := g.tasks[key]
		fails := 0
		for i := range tries {
			t := tries[i]
			if isFailState(t.Status.State) {
				fails++
				permanent := t.Status.State == swarm.TaskStateRejected && noSuchImage(t.Status.Err)
				if permanent || (limit > 0 && fails >= limit) {
					if failed == nil || t.Status.Timestamp.After(failed.Status.Timestamp) {
						failed = &tries[i]
					}
				}
			}
			// A task stuck before starting on an image error.
			if isPendingState(t.Status.State) && noSuchImage(t.Status.Err) && failed == nil {
				failed = &tries[i]
			}
		}
	}
	return failed
}

// unfinished settles a run that neither failed nor completed: running;
// stalled after failures or tasks shut down (a drained node) that Swarm
// may or may not replace (the caller decides after the restart delay);
// unplaceable; or pending.
func unfinished(ev evaluation, nodes nodeView) evaluation {
	if ev.Counts.Running > 0 {
		ev.State = StateRunning
		return ev
	}
	if ev.Counts.Pending == 0 && (ev.Counts.Failed > 0 || ev.Counts.Stopped > 0) {
		// Every task ended, some failed or were shut down, and Swarm may
		// or may not start another try.
		if last := lastEnded(ev.Tasks); last != nil {
			t := *last
			if t.Status.State == swarm.TaskStateShutdown && t.Status.Err == "" {
				t.Status.Err = "task shut down on " + nodes.name(t.NodeID)
				if nodes.drained(t.NodeID) {
					t.Status.Err += " (node drained)"
				}
				t.Status.Err += " and not rescheduled"
			}
			ev.Stalled = &t
		}
	}
	held := false
	for _, t := range ev.Tasks {
		if heldByNode(t.Status.State) {
			held = true
		}
	}
	// Tasks of a restart-none service that stopped without completing
	// (failed with attempts left and not yet replaced) leave the job
	// pending, and so do tasks the scheduler cannot place yet.
	for _, t := range ev.Tasks {
		if isPendingState(t.Status.State) && t.Status.Err != "" {
			ev.Err = t.Status.Err
			if !held && strings.Contains(t.Status.Err, "no suitable node") {
				ev.Unplaceable = t.Status.Err
			}
		}
	}
	return ev
}

func finishCompleted(ev evaluation) evaluation {
	ev.State = StateCompleted
	ev.ExitCode = 0
	for i, t := range ev.Tasks {
		if t.Status.State == swarm.TaskStateComplete && (ev.Decisive == nil || !t.Status.Timestamp.Before(ev.Finished)) {
			ev.Finished = t.Status.Timestamp
			ev.Decisive = &ev.Tasks[i]
		}
	}
	return ev
}

// lastEnded is the latest task that failed or was shut down.
func lastEnded(tasks []swarm.Task) *swarm.Task {
	var last *swarm.Task
	for i := range tasks {
		st := tasks[i].Status.State
		if (isFailState(st) || st == swarm.TaskStateShutdown) && (last == nil || tasks[i].Status.Timestamp.After(last.Status.Timestamp)) {
			last = &tasks[i]
		}
	}
	return last
}

// failWith marks the run failed because of task t.
func (ev *evaluation) failWith(t swarm.Task) {
	ev.State = StateFailed
	if t.Status.State == swarm.TaskStateRejected || isPendingState(t.Status.State) {
		ev.State = StateRejected
	}
	ev.Err = t.Status.Err
	// A task lost with its node or shut down by Swarm has no exit code of
	// its own (the container's, if any, is from being stopped).
	if code, ok := taskExitCode(t); ok && !isLost(t) && t.Status.State != swarm.TaskStateShutdown {
		ev.ExitCode = code
	}
	if ev.Err == "" && ev.ExitCode > 0 {
		ev.Err = fmt.Sprintf("task exited with code %d", ev.ExitCode)
	}
	ev.Finished = t.Status.Timestamp
	ev.Decisive = &t
}

func isPendingState(s swarm.TaskState) bool {
	switch s {
	case swarm.TaskStateNew, swarm.TaskStateAllocated, swarm.TaskStatePending, swarm.TaskStateAssigned,
		swarm.TaskStateAccepted, swarm.TaskStatePreparing, swarm.TaskStateReady:
		return true
	}
	return false
}

func isFailState(s swarm.TaskState) bool {
	return s == swarm.TaskStateFailed || s == swarm.TaskStateRejected || s == swarm.TaskStateOrphaned
}

// noSuchImage recognises errors that retries will not fix.
func noSuchImage(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "no such image") || strings.Contains(m, "pull access denied") ||
		strings.Contains(m, "manifest unknown") || strings.Contains(m, "repository does not exist") ||
		strings.Contains(m, "invalid reference format")
}

func taskExitCode(t swarm.Task) (int, bool) {
	if t.Status.ContainerStatus != nil && t.Status.ContainerStatus.ContainerID != "" {
		return t.Status.ContainerStatus.ExitCode, true
	}
	if t.Status.State == swarm.TaskStateComplete {
		return 0, true
	}
	return -1, false
}
