package swarm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/podtemplate/podtemplate/internal/duration"
	"github.com/podtemplate/podtemplate/joblabel"
)

// JobStatus is where a job of a deployed stack stands (its current run).
type JobStatus struct {
	JobRun
	// Schedule is the cron schedule of a scheduled job.
	Schedule string
	// Stage is pre-deploy, post-deploy or "" (deployed with the rest).
	Stage string
	// Timeout is the job's timeout label (0: none).
	Timeout time.Duration
}

// List reports the jobs of a deployed stack.
func (c *Client) List(ctx context.Context, stack string) ([]JobStatus, error) {
	jobs, byID, err := c.stackJobs(ctx, stack, nil)
	if err != nil {
		return nil, err
	}
	nodes := c.nodeView(ctx)
	var out []JobStatus
	for _, j := range jobs {
		svc := byID[j.ServiceID]
		tasks, err := c.serviceTasks(ctx, svc.ID)
		if err != nil {
			return nil, err
		}
		ev := c.judge(ctx, j, svc, tasks, nodes)
		if ev.Stalled != nil {
			ev.failWith(*ev.Stalled)
		}
		if len(ev.Tasks) == 0 && j.Schedule != "" {
			ev.State = StateScheduled
			ev.Err = "scheduled (" + j.Schedule + "), not run yet"
		}
		out = append(out, JobStatus{
			JobRun: JobRun{Name: j.Name, Service: j.Service, Mode: j.Mode, State: ev.State, ExitCode: ev.ExitCode,
				Err: ev.Err, Started: ev.Started, Finished: ev.Finished, Tasks: ev.Counts},
			Schedule: j.Schedule, Stage: j.Stage, Timeout: j.Timeout,
		})
	}
	return out, nil
}

// PrintList writes jobs as a table: job, mode, stage, state, exit code,
// started, finished (relative to now), duration, tasks.
func PrintList(w io.Writer, jobs []JobStatus) {
	printList(w, jobs, time.Now())
}

func printList(w io.Writer, jobs []JobStatus, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tMODE\tSTAGE\tSTATE\tEXIT\tSTARTED\tFINISHED\tDURATION\tTASKS\tERROR")
	for _, j := range jobs {
		dur := "-"
		if !j.Started.IsZero() {
			end := j.Finished
			if end.IsZero() {
				end = now
			}
			dur = duration.Elapsed(end.Sub(j.Started))
		}
		stage := j.Stage
		if stage == "" {
			stage = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.Name, j.Mode, stage, j.State, exitText(j.ExitCode),
			ago(j.Started, now), ago(j.Finished, now), dur, taskText(j.Tasks), errText(j.Err, j.ExitCode))
	}
	tw.Flush()
}

func ago(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return duration.Elapsed(now.Sub(t).Truncate(time.Second)) + " ago"
}

func taskText(c TaskCounts) string {
	var parts []string
	for _, p := range []struct {
		n    int
		name string
	}{{c.Completed, "completed"}, {c.Running, "running"}, {c.Pending, "pending"}, {c.Failed, "failed"}, {c.Stopped, "stopped"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.name))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// Logs writes the logs of the current run of the named jobs (empty: all
// jobs) of a deployed stack, each line prefixed with its job name: what
// the jobs wrote to stdout to stdout, and to stderr to stderr (as run does).
func (c *Client) Logs(ctx context.Context, stack string, jobs []string, stdout, stderr io.Writer) error {
	list, byID, err := c.stackJobs(ctx, stack, jobs)
	if err != nil {
		return err
	}
	out := newOutput(stdout, stderr, stderr, false)
	for _, j := range list {
		if len(j.Name) > out.width {
			out.width = len(j.Name)
		}
	}
	for _, j := range list {
		svc := byID[j.ServiceID]
		tasks, err := c.serviceTasks(ctx, svc.ID)
		if err != nil {
			return err
		}
		sink := newLogSink(out, j.Name)
		for _, t := range currentTasks(svc, tasks) {
			if taskStarted(t) {
				readTaskLogs(ctx, c.api, sink, t.ID)
			}
		}
	}
	return ctx.Err()
}

// Prune removes the job services of a stack whose current run is over
// (completed, failed or rejected) and which have no task running or about
// to run. Running jobs, scheduled jobs and services that are not jobs are
// never touched. It returns the names of the removed jobs.
func (c *Client) Prune(ctx context.Context, stack string) ([]string, error) {
	jobs, byID, err := c.stackJobs(ctx, stack, nil)
	if err != nil {
		return nil, err
	}
	nodes := c.nodeView(ctx)
	var removed []string
	for _, j := range jobs {
		if j.Schedule != "" || byID[j.ServiceID].Spec.Labels[joblabel.CronEnable] == "true" {
			continue
		}
		svc := byID[j.ServiceID]
		tasks, err := c.serviceTasks(ctx, svc.ID)
		if err != nil {
			return removed, err
		}
		// A task still "running" on a node that is down runs no more.
		if activeTasks(nodes.markLost(tasks)) {
			continue
		}
		ev := c.judge(ctx, j, svc, tasks, nodes)
		if ev.Stalled != nil {
			ev.failWith(*ev.Stalled)
		}
		switch ev.State {
		case StateCompleted, StateFailed, StateRejected:
		default:
			continue
		}
		if err := c.api.ServiceRemove(ctx, svc.ID); err != nil {
			return removed, c.apiErr("removing job "+j.Name, err)
		}
		removed = append(removed, j.Name)
		if err := c.removeJobContainers(ctx, []swarm.Service{svc}); err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// activeTasks reports whether a task is running or meant to run.
func activeTasks(tasks []swarm.Task) bool {
	for _, t := range tasks {
		st := t.Status.State
		if st == swarm.TaskStateRunning || st == swarm.TaskStateStarting {
			return true
		}
		if isPendingState(st) && t.DesiredState != swarm.TaskStateShutdown && t.DesiredState != swarm.TaskStateRemove {
			return true
		}
	}
	return false
}

// RemoveStack removes everything of a stack through the API, like docker
// stack rm: its services, then its networks (retrying while their tasks
// detach), secrets and configs. A stack with nothing left is not an error.
func (c *Client) RemoveStack(ctx context.Context, stack string) error {
	f := filters.NewArgs(filters.Arg("label", StackNamespaceLabel+"="+stack))
	svcs, err := c.api.ServiceList(ctx, swarm.ServiceListOptions{Filters: f})
	if err != nil {
		return c.apiErr("listing services of stack "+stack, err)
	}
	var errs []string
	sort.Slice(svcs, func(i, j int) bool { return svcs[i].Spec.Name < svcs[j].Spec.Name })
	for _, s := range svcs {
		if err := c.api.ServiceRemove(ctx, s.ID); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Sprintf("service %s: %v", s.Spec.Name, err))
		}
	}
	if err := c.removeJobContainers(ctx, svcs); err != nil {
		errs = append(errs, err.Error())
	}
	secrets, err := c.api.SecretList(ctx, swarm.SecretListOptions{Filters: f})
	if err == nil {
		for _, s := range secrets {
			if err := c.api.SecretRemove(ctx, s.ID); err != nil && !isNotFound(err) {
				errs = append(errs, fmt.Sprintf("secret %s: %v", s.Spec.Name, err))
			}
		}
	}
	configs, err := c.api.ConfigList(ctx, swarm.ConfigListOptions{Filters: f})
	if err == nil {
		for _, s := range configs {
			if err := c.api.ConfigRemove(ctx, s.ID); err != nil && !isNotFound(err) {
				errs = append(errs, fmt.Sprintf("config %s: %v", s.Spec.Name, err))
			}
		}
	}
	// Networks stay in use until the tasks' containers are gone, and a
	// removed overlay network stays listed on a node until its last local
	// container detaches: wait for them to disappear.
	for {
		nets, err := c.api.NetworkList(ctx, network.ListOptions{Filters: f})
		if err != nil {
			errs = append(errs, c.apiErr("listing networks", err).Error())
			break
		}
		var busy []string
		for _, n := range nets {
			if n.Labels[StackNamespaceLabel] != stack {
				continue
			}
			if err := c.api.NetworkRemove(ctx, n.ID); err != nil && !isNotFound(err) {
				busy = append(busy, fmt.Sprintf("network %s: %v", n.Name, err))
			} else {
				busy = append(busy, fmt.Sprintf("network %s: still attached to a container", n.Name))
			}
		}
		if len(busy) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			errs = append(errs, busy...)
		case <-time.After(500 * time.Millisecond):
			continue
		}
		break
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func isNotFound(err error) bool {
	return err != nil && (cerrdefs.IsNotFound(err) || strings.Contains(err.Error(), "not found") || strings.Contains(err.Error(), "No such"))
}
