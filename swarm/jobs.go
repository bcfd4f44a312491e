package swarm

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/podtemplate/podtemplate/joblabel"
)

// StackNamespaceLabel is the label docker stack deploy puts on every object
// of a stack; its value is the stack name.
const StackNamespaceLabel = "com.docker.stack.namespace"

// State is where a job's current run stands.
type State string

// Job states. All but Pending and Running are final.
const (
	// StatePending: no task of the current run has started yet.
	StatePending State = "pending"
	// StateRunning: at least one task of the current run is running or
	// starting.
	StateRunning State = "running"
	// StateCompleted: every task the run needs finished with exit 0.
	StateCompleted State = "completed"
	// StateFailed: a task failed and has no attempts left.
	StateFailed State = "failed"
	// StateRejected: Swarm could not start a task (image not found,
	// invalid mount, ...) and has no attempts left.
	StateRejected State = "rejected"
	// StateTimedOut: the job's timeout passed before it finished.
	StateTimedOut State = "timed out"
	// StateRemoved: the job's service disappeared while it was followed.
	StateRemoved State = "removed"
	// StateScheduled: a scheduled job (swarm-cronjob) that has not run
	// since its last deploy.
	StateScheduled State = "scheduled"
	// StateUnknown: an unchanged job with no task of its current
	// definition left (Swarm pruned its task history).
	StateUnknown State = "unknown"
)

// Final reports whether s no longer changes without a new deploy.
func (s State) Final() bool {
	switch s {
	case StatePending, StateRunning:
		return false
	}
	return true
}

// Job is a job service of a deployed stack, as read from its labels.
type Job struct {
	// Name is the job name (joblabel.Name, else the service name without
	// the stack prefix).
	Name string
	// Service is the full service name (<stack>_<name>).
	Service string
	// ServiceID is the Swarm service ID.
	ServiceID string
	// Mode is restart-none, replicated-job or global-job.
	Mode string
	// Completions is how many tasks must complete (global-job: 0, one per
	// eligible node).
	Completions int
	// Attempts is how many tries each task gets.
	Attempts int
	// Timeout is the job's timeout (0: none).
	Timeout time.Duration
	// Hash is the hash of the job's rendered definition.
	Hash string
	// Schedule is the cron schedule of a scheduled job, if any.
	Schedule string
	// PodMain is the main component of a job that is a pod ("": not a
	// pod); its exit status is the job's.
	PodMain string
	// Stage is pre-deploy, post-deploy or "" (deployed with the rest).
	Stage string
}

// jobFromService reads a job from its service; ok is false for services
// that are not jobs.
func jobFromService(stack string, svc swarm.Service) (Job, bool) {
	labels := svc.Spec.Labels
	if labels[joblabel.Job] != "true" {
		return Job{}, false
	}
	j := Job{
		Name:      labels[joblabel.Name],
		Service:   svc.Spec.Name,
		ServiceID: svc.ID,
		Mode:      labels[joblabel.Mode],
		Hash:      labels[joblabel.Hash],
		Schedule:  labels[joblabel.Schedule],
		PodMain:   labels[joblabel.PodMain],
		Stage:     labels[joblabel.Stage],
	}
	if j.Name == "" {
		j.Name = strings.TrimPrefix(svc.Spec.Name, stack+"_")
	}
	if j.Schedule == "" && labels[joblabel.CronEnable] == "true" {
		j.Schedule = labels["swarm.cronjob.schedule"]
		if j.Schedule == "" {
			j.Schedule = "swarm-cronjob"
		}
	}
	switch {
	case svc.Spec.Mode.ReplicatedJob != nil:
		j.Mode = joblabel.ModeReplicatedJob
	case svc.Spec.Mode.GlobalJob != nil:
		j.Mode = joblabel.ModeGlobalJob
	case j.Mode == "" || j.Mode == joblabel.ModeReplicatedJob || j.Mode == joblabel.ModeGlobalJob:
		j.Mode = joblabel.ModeRestartNone
	}
	j.Completions = atoiDefault(labels[joblabel.Completions], 0)
	if j.Completions <= 0 {
		switch {
		case svc.Spec.Mode.ReplicatedJob != nil && svc.Spec.Mode.ReplicatedJob.TotalCompletions != nil:
			j.Completions = int(*svc.Spec.Mode.ReplicatedJob.TotalCompletions)
		case svc.Spec.Mode.Replicated != nil && svc.Spec.Mode.Replicated.Replicas != nil:
			j.Completions = int(*svc.Spec.Mode.Replicated.Replicas)
		case j.Mode != joblabel.ModeGlobalJob:
			j.Completions = 1
		}
	}
	if j.Mode == joblabel.ModeGlobalJob {
		j.Completions = 0
	}
	j.Attempts = atoiDefault(labels[joblabel.Attempts], 0)
	if j.Attempts <= 0 {
		j.Attempts = 1
		if rp := svc.Spec.TaskTemplate.RestartPolicy; rp != nil && rp.Condition != swarm.RestartPolicyConditionNone {
			j.Attempts = 0 // unlimited: Swarm retries until it succeeds
			if rp.MaxAttempts != nil && *rp.MaxAttempts > 0 {
				j.Attempts = int(*rp.MaxAttempts) + 1
			}
		}
	}
	if t := labels[joblabel.Timeout]; t != "" {
		if d, err := time.ParseDuration(t); err == nil && d > 0 {
			j.Timeout = d
		}
	}
	return j, true
}

func atoiDefault(s string, def int) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return def
	}
	return n
}

// stackServices lists the services of a stack; an empty stack is an error.
func (c *Client) stackServices(ctx context.Context, stack string) ([]swarm.Service, error) {
	svcs, err := c.api.ServiceList(ctx, swarm.ServiceListOptions{
		Filters: filters.NewArgs(filters.Arg("label", StackNamespaceLabel+"="+stack)),
		Status:  true,
	})
	if err != nil {
		return nil, c.apiErr("listing services of stack "+stack, err)
	}
	// The label filter matches the exact value; keep the check anyway
	// for fakes.
	out := svcs[:0]
	for _, s := range svcs {
		if s.Spec.Labels[StackNamespaceLabel] == stack {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Spec.Name < out[j].Spec.Name })
	return out, nil
}

// StackNotFoundError is returned when a stack has no services.
type StackNotFoundError struct {
	// Stack is the stack name.
	Stack string
}

// Error returns the one-line message.
func (e *StackNotFoundError) Error() string {
	return fmt.Sprintf("stack %s not found (no services with label %s=%s)", e.Stack, StackNamespaceLabel, e.Stack)
}

// stackJobs returns the job services of a stack, filtered by job names
// (empty: all). A stack without services and a name that is not a job are
// errors.
func (c *Client) stackJobs(ctx context.Context, stack string, names []string) ([]Job, map[string]swarm.Service, error) {
	svcs, err := c.stackServices(ctx, stack)
	if err != nil {
		return nil, nil, err
	}
	if len(svcs) == 0 {
		return nil, nil, &StackNotFoundError{Stack: stack}
	}
	var jobs []Job
	byID := map[string]swarm.Service{}
	for _, s := range svcs {
		if j, ok := jobFromService(stack, s); ok {
			jobs = append(jobs, j)
			byID[s.ID] = s
		}
	}
	if len(names) == 0 {
		return jobs, byID, nil
	}
	var picked []Job
	for _, n := range names {
		found := false
		for _, j := range jobs {
			if j.Name == n || j.Service == n {
				picked = append(picked, j)
				found = true
				break
			}
		}
		if !found {
			var known []string
			for _, j := range jobs {
				known = append(known, j.Name)
			}
			if len(known) == 0 {
				return nil, nil, fmt.Errorf("job %s not found: stack %s has no jobs", n, stack)
			}
			return nil, nil, fmt.Errorf("job %s not found in stack %s (jobs: %s)", n, stack, strings.Join(known, ", "))
		}
	}
	return picked, byID, nil
}

// serviceTasks lists every task of a service, whatever its desired state.
func (c *Client) serviceTasks(ctx context.Context, serviceID string) ([]swarm.Task, error) {
	tasks, err := c.api.TaskList(ctx, swarm.TaskListOptions{
		Filters: filters.NewArgs(filters.Arg("service", serviceID)),
	})
	if err != nil {
		return nil, c.apiErr("listing tasks", err)
	}
	out := tasks[:0]
	for _, t := range tasks {
		if t.ServiceID == serviceID {
			out = append(out, t)
		}
	}
	return out, nil
}

// currentTasks keeps the tasks of the service's current definition: for
// job modes the tasks of its current job iteration, otherwise the tasks
// whose spec is the service's task template (older tasks belong to a
// previous deploy).
func currentTasks(svc swarm.Service, tasks []swarm.Task) []swarm.Task {
	var out []swarm.Task
	isJob := svc.Spec.Mode.ReplicatedJob != nil || svc.Spec.Mode.GlobalJob != nil
	for _, t := range tasks {
		if isJob {
			var want, got uint64
			if svc.JobStatus != nil {
				want = svc.JobStatus.JobIteration.Index
			}
			if t.JobIteration != nil {
				got = t.JobIteration.Index
			}
			if got == want {
				out = append(out, t)
			}
			continue
		}
		if sameTaskSpec(t.Spec, svc.Spec.TaskTemplate) {
			out = append(out, t)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out
}

// sameTaskSpec compares a task's spec with a service's task template. The
// daemon fills in Runtime ("container") on services but not on tasks.
func sameTaskSpec(a, b swarm.TaskSpec) bool {
	if a.Runtime == swarm.RuntimeContainer {
		a.Runtime = ""
	}
	if b.Runtime == swarm.RuntimeContainer {
		b.Runtime = ""
	}
	if reflect.DeepEqual(a, b) {
		return true
	}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// TaskCounts counts the tasks of a job's current run by state.
type TaskCounts struct {
	// Pending: new, allocated, pending, assigned, accepted, preparing,
	// ready (not started yet).
	Pending int
	// Running: starting or running.
	Running int
	// Completed: finished with exit 0.
	Completed int
	// Failed: failed, rejected or orphaned.
	Failed int
	// Stopped: shut down or removed before finishing.
	Stopped int
}

// Total is the number of tasks counted.
func (c TaskCounts) Total() int { return c.Pending + c.Running + c.Completed + c.Failed + c.Stopped }

// add counts one task in state s.
func (c *TaskCounts) add(s swarm.TaskState) {
	switch {
	case s == swarm.TaskStateComplete:
		c.Completed++
	case s == swarm.TaskStateRunning || s == swarm.TaskStateStarting:
		c.Running++
	case isFailState(s):
		c.Failed++
	case s == swarm.TaskStateShutdown || s == swarm.TaskStateRemove:
		c.Stopped++
	default:
		c.Pending++
	}
}

// globalNodes counts the nodes a global job should run on: ready, active
// nodes (placement constraints are not evaluated; when the service has
// constraints, the tasks Swarm created are the reference).
func (c *Client) globalNodes(ctx context.Context, svc swarm.Service) int {
	if svc.Spec.Mode.GlobalJob == nil {
		return 0
	}
	if p := svc.Spec.TaskTemplate.Placement; p != nil && len(p.Constraints) > 0 {
		return 0
	}
	nodes, err := c.api.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return 0
	}
	n := 0
	for _, node := range nodes {
		if node.Status.State == swarm.NodeStateReady && node.Spec.Availability == swarm.NodeAvailabilityActive {
			n++
		}
	}
	return n
}
