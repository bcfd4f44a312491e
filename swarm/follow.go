package swarm

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/podtemplate/podtemplate/internal/duration"
	"github.com/podtemplate/podtemplate/joblabel"
)

// Snapshot records the job services of a stack before a deploy, so that
// Follow can tell an unchanged job (same service, same hash) from a new or
// changed one.
type Snapshot struct {
	// Stack is the stack name.
	Stack string
	// Taken is when the snapshot was taken.
	Taken time.Time
	// Services holds the stack's job services by full service name.
	Services map[string]ServiceSnapshot
	// Skipped lists the unchanged job-mode services Deploy left out of
	// the deploy (DeployOptions.SkipUnchangedJobs), by name in the file.
	Skipped []string
}

// ServiceSnapshot is one job service in a Snapshot.
type ServiceSnapshot struct {
	// ID is the service ID.
	ID string
	// Version is the service's spec version index.
	Version uint64
	// Hash is the service's joblabel.Hash label.
	Hash string
	// JobIteration is the service's job iteration (job modes only).
	JobIteration uint64
}

// Snapshot records the current job services of stack. A stack that does
// not exist yet gives an empty snapshot.
func (c *Client) Snapshot(ctx context.Context, stack string) (Snapshot, error) {
	snap := Snapshot{Stack: stack, Taken: c.now(), Services: map[string]ServiceSnapshot{}}
	svcs, err := c.stackServices(ctx, stack)
	if err != nil {
		return snap, err
	}
	for _, s := range svcs {
		if s.Spec.Labels[joblabel.Job] != "true" {
			continue
		}
		ss := ServiceSnapshot{ID: s.ID, Version: s.Version.Index, Hash: s.Spec.Labels[joblabel.Hash]}
		if s.JobStatus != nil {
			ss.JobIteration = s.JobStatus.JobIteration.Index
		}
		snap.Services[s.Spec.Name] = ss
	}
	return snap, nil
}

// FollowOptions configures Follow and Wait.
type FollowOptions struct {
	// Stack is the deployed stack.
	Stack string
	// Jobs restricts following to these job names (empty: every job).
	Jobs []string
	// Before is the snapshot taken before the deploy (zero: every job's
	// current run is followed as a run of its own).
	Before Snapshot
	// Out receives the jobs' standard output, prefixed "job | ".
	Out io.Writer
	// Err receives the jobs' standard error, prefixed the same way
	// (default Out).
	Err io.Writer
	// Status receives state lines, the progress display and the summary
	// (default Out).
	Status io.Writer
	// TTY shows a live progress display on Status instead of state lines.
	TTY bool
	// DefaultTimeout applies to jobs without a timeout label (0: none).
	DefaultTimeout time.Duration
	// Logs streams the jobs' logs.
	Logs bool
	// NoSummary skips the final summary table.
	NoSummary bool
}

// JobRun is where a job's current run stands: what Follow reports when it
// ends and List reports at any time.
type JobRun struct {
	// Name is the job name.
	Name string
	// Service is the full service name.
	Service string
	// Mode is restart-none, replicated-job or global-job.
	Mode string
	// State is the run's state.
	State State
	// ExitCode is the exit code of the task that decided the outcome
	// (0 when completed; -1 when no container ran).
	ExitCode int
	// Err is Swarm's error for a failed or rejected task, or why the job
	// timed out.
	Err string
	// Started is when the run's first task was created.
	Started time.Time
	// Finished is when the run ended (zero if it did not).
	Finished time.Time
	// Tasks counts the run's tasks by state.
	Tasks TaskCounts
	// Nodes counts the run's tasks per node, in node name order.
	Nodes []NodeTasks `json:",omitempty"`
	// Notes tells what Swarm did with tasks of nodes that were drained or
	// went down ("task shut down on worker-2 (node drained), rescheduled
	// on vm").
	Notes []string `json:",omitempty"`
}

// JobResult is how one job's run ended (or stands, if Follow was
// interrupted).
type JobResult struct {
	JobRun
	// Duration is how long the run took (or ran until Follow stopped).
	Duration time.Duration
	// Unchanged is true when the deploy did not change the job (same
	// service, same hash as in the snapshot).
	Unchanged bool
	// Rerun is true for an unchanged job that ran again anyway: Swarm
	// starts a new iteration of a replicated-job or global-job service on
	// every update, and docker stack deploy updates every service.
	Rerun bool
}

// Summary is the outcome of Follow.
type Summary struct {
	// Stack is the stack followed.
	Stack string
	// Jobs holds one result per job, in name order.
	Jobs []JobResult
	// MultiNode is true when the Swarm had more than one node: the table
	// then has a NODES column.
	MultiNode bool
}

// OK reports whether every job completed. A scheduled job that has not
// run yet, and an unchanged job whose tasks Swarm no longer lists, do not
// count against it.
func (s Summary) OK() bool {
	for _, j := range s.Jobs {
		switch {
		case j.State == StateCompleted, j.State == StateScheduled:
		case j.State == StateUnknown && j.Unchanged:
		default:
			return false
		}
	}
	return true
}

// Print writes the summary table: job, state, exit code, duration, the
// tasks per node on a Swarm of several nodes, error; then the notes of
// each job, one per line ("job: note").
func (s Summary) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if s.MultiNode {
		fmt.Fprintln(tw, "JOB\tSTATE\tEXIT\tDURATION\tNODES\tERROR")
	} else {
		fmt.Fprintln(tw, "JOB\tSTATE\tEXIT\tDURATION\tERROR")
	}
	for _, j := range s.Jobs {
		state := string(j.State)
		switch {
		case j.Rerun:
			state += " (unchanged, re-run by Swarm)"
		case j.Unchanged:
			state += " (unchanged)"
		}
		if s.MultiNode {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", j.Name, state, exitText(j.ExitCode), durationText(j), nodesText(j.Nodes), errText(j.Err, j.ExitCode))
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", j.Name, state, exitText(j.ExitCode), durationText(j), errText(j.Err, j.ExitCode))
		}
	}
	tw.Flush()
	for _, j := range s.Jobs {
		for _, n := range j.Notes {
			fmt.Fprintf(w, "%s: %s\n", j.Name, n)
		}
	}
}

func exitText(code int) string {
	if code < 0 {
		return "-"
	}
	return strconv.Itoa(code)
}

func durationText(j JobResult) string {
	if j.Duration <= 0 && j.Started.IsZero() {
		return "-"
	}
	return duration.Elapsed(j.Duration)
}

// errText is the error column: Swarm's "task: non-zero exit (N)" says
// nothing the exit code column does not.
func errText(err string, code int) string {
	if code > 0 && strings.Contains(err, "non-zero exit") {
		return ""
	}
	return oneLine(err)
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " ..."
	}
	return s
}

// tracker follows one job.
type tracker struct {
	job       Job
	unchanged bool
	rerun     bool // unchanged job-mode service that Swarm runs again
	deadline  time.Time
	timeout   time.Duration
	logs      *jobLogs
	last      State
	res       JobResult
	final     bool
	done      chan struct{} // closed when final and its logs are printed
	stalledAt time.Time
	// unplacedAt is when Swarm first found no node for the run.
	unplacedAt time.Time
	// noted holds the notes told so far, by task ID: a note keeps the
	// words it had when first seen.
	noted map[string]bool
	ev    evaluation
}

// Follow waits for the jobs of a deployed stack to finish, streaming their
// logs and their progress, and prints a summary table. It returns when
// every job is final, or when ctx ends (with ctx's error and the results
// so far).
func (c *Client) Follow(ctx context.Context, opts FollowOptions) (Summary, error) {
	sum := Summary{Stack: opts.Stack}
	jobs, _, err := c.stackJobs(ctx, opts.Stack, opts.Jobs)
	if err != nil {
		return sum, err
	}
	out := newOutput(opts.Out, opts.Err, opts.Status, opts.TTY)
	start := c.now()
	var trackers []*tracker
	disp := newDisplay(out, &trackers, c.now)
	nodes := c.nodeView(ctx)
	multi := nodes.multi()
	for _, j := range jobs {
		if j.Schedule != "" && len(opts.Jobs) == 0 {
			// The scheduler, not the deploy, starts scheduled jobs.
			disp.note("job %s: scheduled (%s), not waited for", j.Name, j.Schedule)
			continue
		}
		if w := len(j.Name); w > out.width {
			out.width = w
		}
		if w := len(j.Name) + 1 + nodes.maxNameLen(); multi && w > out.width {
			out.width = w // "job@node"
		}
		t := &tracker{job: j, done: make(chan struct{}), noted: map[string]bool{}}
		t.timeout = j.Timeout
		if t.timeout <= 0 {
			t.timeout = opts.DefaultTimeout
		}
		if t.timeout > 0 {
			t.deadline = start.Add(t.timeout)
		}
		if b, ok := opts.Before.Services[j.Service]; ok && b.ID == j.ServiceID && b.Hash != "" && b.Hash == j.Hash {
			t.unchanged = true
		}
		t.res = JobResult{JobRun: JobRun{Name: j.Name, Service: j.Service, Mode: j.Mode, ExitCode: -1}, Unchanged: t.unchanged}
		trackers = append(trackers, t)
	}
	if len(trackers) == 0 {
		if len(jobs) == 0 {
			disp.note("stack %s has no jobs", opts.Stack)
		}
		return sum, nil
	}

	var wg sync.WaitGroup
	logCtx, cancelLogs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelLogs()
	finish := func(t *tracker) {
		t.final = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(t.done)
			if t.logs != nil {
				fctx, cancel := context.WithTimeout(logCtx, 30*time.Second)
				if ctx.Err() != nil {
					t.logs.stop()
				} else {
					t.logs.finish(fctx, t.ev.Tasks, time.Second)
				}
				cancel()
			}
			disp.finished(t)
		}()
	}

	tick := time.NewTicker(c.poll)
	defer tick.Stop()
	for {
		svcs, err := c.stackServices(ctx, opts.Stack)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return c.collect(sum, trackers, &wg), err
		}
		byID := map[string]swarm.Service{}
		for _, s := range svcs {
			byID[s.ID] = s
		}
		if v := c.nodeView(ctx); v.byID != nil {
			nodes = v
		}
		now := c.now()
		pending := 0
		for _, t := range trackers {
			if t.final {
				continue
			}
			svc, ok := byID[t.job.ServiceID]
			if !ok {
				out.mu.Lock()
				t.res.State = StateRemoved
				t.res.Err = "the service was removed"
				t.res.Finished = now
				out.mu.Unlock()
				finish(t)
				continue
			}
			if t.unchanged && svc.JobStatus != nil {
				if b := opts.Before.Services[t.job.Service]; svc.JobStatus.JobIteration.Index != b.JobIteration {
					t.rerun = true
				}
			}
			tasks, err := c.serviceTasks(ctx, svc.ID)
			if err != nil {
				if ctx.Err() != nil {
					break
				}
				return c.collect(sum, trackers, &wg), err
			}
			ev := c.judge(ctx, t.job, svc, tasks, nodes)
			if ev.Stalled != nil {
				if t.stalledAt.IsZero() {
					t.stalledAt = now
				}
				if now.Sub(t.stalledAt) > restartDelay(svc)+10*time.Second {
					ev.failWith(*ev.Stalled)
				}
			} else {
				t.stalledAt = time.Time{}
			}
			if ev.Unplaceable != "" && !ev.State.Final() {
				// Swarm keeps looking for a node; after a while, nobody
				// is helped by waiting on.
				if t.unplacedAt.IsZero() {
					t.unplacedAt = now
				}
				if now.Sub(t.unplacedAt) > placementGrace {
					ev.State = StateRejected
					ev.Err = ev.Unplaceable
					ev.Finished = now
				}
			} else {
				t.unplacedAt = time.Time{}
			}
			if t.job.Schedule != "" && len(ev.Tasks) == 0 && zeroReplicas(svc) {
				ev.State = StateScheduled
				ev.Err = "scheduled (" + t.job.Schedule + "), not run yet"
			}
			if t.unchanged && !t.rerun && len(ev.Tasks) == 0 {
				ev.State = StateUnknown
				ev.Err = "no task of the current definition is left"
			}
			if !ev.State.Final() && !t.deadline.IsZero() && now.After(t.deadline) {
				ev.State = StateTimedOut
				ev.Err = "timed out after " + duration.Setting(t.timeout)
				ev.Finished = now
			}
			out.mu.Lock() // the progress display reads t.res
			t.ev = ev
			t.update(ev, start, now)
			var news []string
			for _, n := range ev.Notes {
				if !t.noted[n.task] {
					t.noted[n.task] = true
					t.res.Notes = append(t.res.Notes, n.text)
					news = append(news, n.text)
				}
			}
			out.mu.Unlock()
			for _, n := range news {
				disp.note("job %s: %s", t.job.Name, n)
			}
			if opts.Logs && (!t.unchanged || t.rerun) {
				if t.logs == nil {
					t.logs = newJobLogs(logCtx, c.api, newLogSink(out, t.job.Name))
				}
				if multi {
					t.logs.sink.nodeNames(ev.Tasks, nodes)
				}
				t.logs.sync(ev.Tasks)
			}
			if t.res.State != t.last && !ev.State.Final() {
				disp.changed(t)
			}
			t.last = t.res.State
			if ev.State.Final() {
				finish(t)
				continue
			}
			pending++
		}
		disp.refresh()
		if pending == 0 {
			break
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		if ctx.Err() != nil {
			break
		}
	}
	sum = c.collect(sum, trackers, &wg)
	sum.MultiNode = multi || nodes.multi()
	if !opts.NoSummary {
		var b strings.Builder
		b.WriteString("\n")
		sum.Print(&b)
		disp.end(b.String())
	} else {
		disp.end("")
	}
	return sum, ctx.Err()
}

// collect waits for the trackers' log output and gathers their results.
func (c *Client) collect(sum Summary, trackers []*tracker, wg *sync.WaitGroup) Summary {
	for _, t := range trackers {
		if !t.final && t.logs != nil {
			t.logs.stop()
		}
	}
	wg.Wait()
	sum.Jobs = nil
	for _, t := range trackers {
		sum.Jobs = append(sum.Jobs, t.res)
	}
	return sum
}

func zeroReplicas(svc swarm.Service) bool {
	r := svc.Spec.Mode.Replicated
	return r != nil && r.Replicas != nil && *r.Replicas == 0
}

// placementGrace is how long a run may find no node before it is
// reported rejected: Swarm's scheduler retries, and a node may join or be
// activated meanwhile.
const placementGrace = 15 * time.Second

func restartDelay(svc swarm.Service) time.Duration {
	if rp := svc.Spec.TaskTemplate.RestartPolicy; rp != nil && rp.Delay != nil {
		return *rp.Delay
	}
	return 5 * time.Second
}

// update copies an evaluation into the tracker's result.
func (t *tracker) update(ev evaluation, start, now time.Time) {
	r := &t.res
	r.Rerun = t.rerun
	r.State = ev.State
	r.ExitCode = ev.ExitCode
	r.Err = ev.Err
	r.Tasks = ev.Counts
	r.Nodes = ev.Nodes
	r.Started = ev.Started
	r.Finished = ev.Finished
	from := ev.Started
	if from.IsZero() {
		from = start
	}
	switch {
	case !ev.Finished.IsZero():
		r.Duration = ev.Finished.Sub(from)
	default:
		r.Duration = now.Sub(from)
	}
	if ev.State == StateTimedOut {
		r.Duration = now.Sub(from)
	} else if ev.Started.IsZero() && ev.State.Final() {
		r.Duration = 0 // never ran
	}
}

// Wait follows the current run of each job of a deployed stack (Follow
// without a deploy: opts.Before is ignored).
func (c *Client) Wait(ctx context.Context, opts FollowOptions) (Summary, error) {
	opts.Before = Snapshot{}
	return c.Follow(ctx, opts)
}
