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
	// Stalled is the last failed task when no task is active and the run
	// is not complete (nil otherwise).
	Stalled *swarm.Task
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
	// evaluate judges the current run; nodes is the number of nodes a
	// global job runs on (0: unknown, taken from the tasks).
	evaluate(svc swarm.Service, all []swarm.Task, nodes int) evaluation
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
func evaluate(job Job, svc swarm.Service, all []swarm.Task, nodes int) evaluation {
	return newEvaluator(job).evaluate(svc, all, nodes)
}

// restartNoneEvaluator judges a replicated service whose restart policy
// gives each slot a number of tries: done when `completions` tasks
// completed, failed when one slot used up its tries.
type restartNoneEvaluator struct{ job Job }

func (e restartNoneEvaluator) evaluate(svc swarm.Service, all []swarm.Task, _ int) evaluation {
	ev, g := tally(svc, all, func(t swarm.Task) string {
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
	return unfinished(ev)
}

// replicatedJobEvaluator judges a replicated-job service: Swarm replaces
// failed tasks until `completions` tasks completed. Its tasks carry no
// stable slot, so failures are counted over the whole run: more than
// (attempts-1)*completions failures prove some task ran out of tries.
type replicatedJobEvaluator struct{ job Job }

func (e replicatedJobEvaluator) evaluate(svc swarm.Service, all []swarm.Task, _ int) evaluation {
	ev, g := tally(svc, all, func(t swarm.Task) string {
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
	return unfinished(ev)
}

// globalJobEvaluator judges a global-job service: one task per eligible
// node, done when each node has a completed task.
type globalJobEvaluator struct{ job Job }

func (e globalJobEvaluator) evaluate(svc swarm.Service, all []swarm.Task, nodes int) evaluation {
	ev, g := tally(svc, all, func(t swarm.Task) string { return "node " + t.NodeID })
	if len(ev.Tasks) == 0 {
		return ev
	}
	if failed := g.exhausted(e.job.Attempts); failed != nil {
		ev.failWith(*failed)
		return ev
	}
	need := nodes
	if need <= 0 {
		need = len(g.order)
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
	if need > 0 && complete >= need {
		return finishCompleted(ev)
	}
	return unfinished(ev)
}

// taskGroups holds a run's tasks grouped into the tries of one slot or
// node, in the order the groups first appeared.
type taskGroups struct {
	tasks map[string][]swarm.Task
	order []string
}

// tally keeps the tasks of the service's current run, counts them by
// state and groups them with key.
func tally(svc swarm.Service, all []swarm.Task, key func(swarm.Task) string) (evaluation, taskGroups) {
	tasks := currentTasks(svc, all)
	ev := evaluation{State: StatePending, ExitCode: -1, Tasks: tasks}
	g := taskGroups{tasks: map[string][]swarm.Task{}}
	for _, t := range tasks {
		k := key(t)
		if _, ok := g.tasks[k]; !ok {
			g.order = append(g.order, k)
		}
		g.tasks[k] = append(g.tasks[k], t)
		switch st := t.Status.State; {
		case st == swarm.TaskStateComplete:
			ev.Counts.Completed++
		case st == swarm.TaskStateRunning || st == swarm.TaskStateStarting:
			ev.Counts.Running++
		case isFailState(st):
			ev.Counts.Failed++
		case st == swarm.TaskStateShutdown || st == swarm.TaskStateRemove:
			ev.Counts.Stopped++
		default:
			ev.Counts.Pending++
		}
		if ev.Started.IsZero() || t.CreatedAt.Before(ev.Started) {
			ev.Started = t.CreatedAt
		}
	}
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

// unfinished settles a run that neither failed nor completed: running,
// stalled after failures (the caller decides after the restart delay), or
// pending.
func unfinished(ev evaluation) evaluation {
	if ev.Counts.Running > 0 {
		ev.State = StateRunning
		return ev
	}
	if ev.Counts.Pending == 0 && ev.Counts.Failed > 0 {
		// Every task ended, some failed, and Swarm may or may not start
		// another try.
		ev.Stalled = lastFailed(ev.Tasks)
	}
	// Tasks of a restart-none service that stopped without completing
	// (shut down by an update, or failed with attempts left and not yet
	// replaced) leave the job pending.
	for _, t := range ev.Tasks {
		if isPendingState(t.Status.State) && t.Status.Err != "" {
			ev.Err = t.Status.Err
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

func lastFailed(tasks []swarm.Task) *swarm.Task {
	var last *swarm.Task
	for i := range tasks {
		if isFailState(tasks[i].Status.State) && (last == nil || tasks[i].Status.Timestamp.After(last.Status.Timestamp)) {
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
	if code, ok := taskExitCode(t); ok {
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
