package swarm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/podtemplate/podtemplate/internal/duration"
)

// ServiceChange is a service that a deploy created or updated.
type ServiceChange struct {
	// Name is the service name in the stack file.
	Name string
	// Service is the full service name (<stack>_<name>).
	Service string
	// ID is the service ID.
	ID string
	// Created is true for a service the deploy created.
	Created bool
	// Paused is true for a service the deploy did not change whose
	// earlier update Swarm paused: it has not converged either.
	Paused bool
	// Before is the service as it was before the deploy (nil if created
	// or Paused).
	Before *swarm.Service
}

// ServiceResult is how a changed service ended up.
type ServiceResult struct {
	ServiceChange
	// State is converged, paused, rolled back (by Swarm), failing, timed
	// out, or, after a rollback, rolled back or removed.
	State string
	// Err says why the service did not converge.
	Err string
	// Duration is how long it took to converge (or until it failed).
	Duration time.Duration
}

// Service states reported by the convergence wait.
const (
	ServiceConverged  = "converged"
	ServicePaused     = "paused"
	ServiceRolledBack = "rolled back"
	ServiceFailing    = "failing"
	ServiceTimedOut   = "timed out"
	ServiceRemoved    = "removed"
)

// stackSpecs lists the services of a stack by full name (none: empty).
func (c *Client) stackSpecs(ctx context.Context, stack string) (map[string]swarm.Service, error) {
	svcs, err := c.stackServices(ctx, stack)
	if err != nil {
		return nil, err
	}
	out := make(map[string]swarm.Service, len(svcs))
	for _, s := range svcs {
		out[s.Spec.Name] = s
	}
	return out, nil
}

// changedServices compares the named services of a stack before and after
// a deploy: those created, and those whose spec changed.
func changedServices(stack string, names []string, before, after map[string]swarm.Service) []ServiceChange {
	var out []ServiceChange
	for _, n := range names {
		full := stack + "_" + n
		a, ok := after[full]
		if !ok {
			continue
		}
		b, existed := before[full]
		if !existed || b.ID != a.ID {
			out = append(out, ServiceChange{Name: n, Service: full, ID: a.ID, Created: true})
			continue
		}
		if sameSpec(b.Spec, a.Spec) {
			// docker stack deploy updates it anyway, which clears its
			// update status: the status from before tells.
			if b.UpdateStatus != nil && b.UpdateStatus.State == swarm.UpdateStatePaused {
				out = append(out, ServiceChange{Name: n, Service: full, ID: a.ID, Paused: true})
			}
			continue
		}
		out = append(out, ServiceChange{Name: n, Service: full, ID: a.ID, Before: &b})
	}
	return out
}

func sameSpec(a, b swarm.ServiceSpec) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// convergeWait configures waitConverged.
type convergeWait struct {
	changes []ServiceChange
	// timeout bounds the whole wait (0: 5 minutes).
	timeout time.Duration
	// status receives one line per state change.
	status io.Writer
	// prefix starts every status line ("service", "rollback: service").
	prefix string
	// rollback is true while waiting for services this package rolled
	// back: Swarm's rollback_completed is then the goal, not a failure.
	rollback bool
}

// maxTaskFailures is how many failed tasks of a service's current spec
// prove that it will not converge, when Swarm does not pause the update
// (a created service has no update to pause).
const maxTaskFailures = 3

// waitConverged waits until every changed service has converged: its
// update completed (or it was created) and its desired tasks of the
// current spec run. An update that Swarm paused or rolled back, a service
// whose tasks keep failing, and the timeout end the wait for that service
// as a failure. It never waits longer than the timeout.
func (c *Client) waitConverged(ctx context.Context, w convergeWait) []ServiceResult {
	timeout := w.timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	start := c.now()
	deadline := start.Add(timeout)
	results := make([]ServiceResult, len(w.changes))
	last := make([]string, len(w.changes))
	done := make([]bool, len(w.changes))
	for i, ch := range w.changes {
		results[i] = ServiceResult{ServiceChange: ch}
	}
	tick := time.NewTicker(c.poll)
	defer tick.Stop()
	for {
		pending := 0
		for i := range w.changes {
			if done[i] {
				continue
			}
			r := &results[i]
			now := c.now()
			st, ok := c.convergence(ctx, r.ServiceChange, w.rollback)
			switch {
			case !ok && ctx.Err() != nil:
				st = convState{final: true, state: "interrupted", err: ctx.Err().Error()}
			case !st.final && now.After(deadline):
				st = convState{final: true, state: ServiceTimedOut, err: fmt.Sprintf("not converged after %s (%s)", timeout, st.progress)}
			}
			if st.final {
				done[i] = true
				r.State, r.Err, r.Duration = st.state, st.err, now.Sub(start)
				line := fmt.Sprintf("%s %s: %s", w.prefix, r.Name, st.state)
				if st.state == ServiceConverged || (w.rollback && st.state == ServiceRolledBack) {
					line += " in " + duration.Elapsed(r.Duration)
				}
				if st.err != "" {
					line += ": " + oneLine(st.err)
				}
				fmt.Fprintln(w.status, line)
				continue
			}
			pending++
			if st.progress != last[i] {
				last[i] = st.progress
				fmt.Fprintf(w.status, "%s %s: %s\n", w.prefix, r.Name, st.progress)
			}
		}
		if pending == 0 {
			return results
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

// convState is where one service's convergence stands.
type convState struct {
	final    bool
	state    string // final state
	err      string
	progress string // while not final
}

// convergence inspects one service; ok is false when the API failed.
func (c *Client) convergence(ctx context.Context, ch ServiceChange, rollback bool) (convState, bool) {
	svcs, err := c.api.ServiceList(ctx, swarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("id", ch.ID))})
	if err != nil {
		return convState{progress: "cannot list services: " + oneLine(err.Error())}, ctx.Err() == nil
	}
	var svc *swarm.Service
	for i := range svcs {
		if svcs[i].ID == ch.ID {
			svc = &svcs[i]
		}
	}
	if svc == nil {
		return convState{final: true, state: ServiceRemoved, err: "the service was removed"}, true
	}
	tasks, err := c.serviceTasks(ctx, svc.ID)
	if err != nil {
		return convState{progress: "cannot list tasks: " + oneLine(err.Error())}, ctx.Err() == nil
	}
	var before *swarm.UpdateStatus
	if ch.Before != nil {
		before = ch.Before.UpdateStatus
	}
	st := evalConvergence(*svc, before, tasks, c.globalNodes(ctx, asGlobalJob(*svc)), rollback, c.now())
	if ch.Paused && st.final && st.err != "" {
		st.err = "not changed by this deploy, whose update Swarm paused earlier: " + st.err
	}
	return st, true
}

// asGlobalJob lets globalNodes count the nodes of a global service.
func asGlobalJob(svc swarm.Service) swarm.Service {
	if svc.Spec.Mode.Global != nil {
		svc.Spec.Mode.GlobalJob = &swarm.GlobalJob{}
	}
	return svc
}

// evalConvergence decides whether a service has converged at time now.
// before is its update status before the deploy: an identical status is
// stale (a change that needs no task update leaves it in place). nodes is
// the number of nodes a global service runs on (0: unknown).
func evalConvergence(svc swarm.Service, before *swarm.UpdateStatus, tasks []swarm.Task, nodes int, rollback bool, now time.Time) convState {
	tl := countTasks(svc, tasks, nodes, now)
	us := svc.UpdateStatus
	if us != nil && before != nil && sameUpdateStatus(*us, *before) {
		us = nil
	}
	if us != nil {
		msg := strings.TrimSpace(us.Message)
		if tl.failed > 0 && tl.lastErr != "" {
			msg += " (last task error: " + tl.lastErr + ")"
		}
		switch us.State {
		case swarm.UpdateStatePaused:
			return convState{final: true, state: ServicePaused, err: "Swarm paused the update: " + msg}
		case swarm.UpdateStateRollbackPaused:
			return convState{final: true, state: ServicePaused, err: "Swarm paused the rollback: " + msg}
		case swarm.UpdateStateRollbackStarted, swarm.UpdateStateRollbackCompleted:
			if !rollback {
				return convState{final: true, state: ServiceRolledBack, err: "Swarm rolled the update back: " + msg}
			}
			if us.State == swarm.UpdateStateRollbackStarted {
				return convState{progress: "rolling back"}
			}
		case swarm.UpdateStateUpdating:
			return convState{progress: "updating (" + tl.String() + ")"}
		}
	}
	if tl.stable >= tl.want {
		state := ServiceConverged
		if rollback {
			state = ServiceRolledBack
		}
		return convState{final: true, state: state}
	}
	if tl.failed >= maxTaskFailures {
		return convState{final: true, state: ServiceFailing, err: fmt.Sprintf("%d tasks of the new definition failed, %d/%d running; last: %s", tl.failed, tl.stable, tl.want, tl.lastErr)}
	}
	return convState{progress: "starting (" + tl.String() + ")"}
}

func sameUpdateStatus(a, b swarm.UpdateStatus) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// taskTally counts the tasks of a service's current spec.
type taskTally struct {
	want    int    // tasks that should run
	running int    // tasks running
	stable  int    // tasks running for the monitor period at least
	failed  int    // tasks that failed
	lastErr string // the last failure
	monitor time.Duration
}

// String is the progress text: "1/2 tasks running, 1 failed".
func (tl taskTally) String() string {
	s := fmt.Sprintf("%d/%d tasks running", tl.stable, tl.want)
	if n := tl.running - tl.stable; n > 0 {
		s += fmt.Sprintf(", %d up for less than %s", n, tl.monitor)
	}
	if tl.failed > 0 {
		s += fmt.Sprintf(", %d failed", tl.failed)
	}
	return s
}

// monitorPeriod is how long a task must stay running to count, as Swarm's
// update_config.monitor (default 5s): a task that crashes at once is
// running for an instant too.
func monitorPeriod(svc swarm.Service) time.Duration {
	if uc := svc.Spec.UpdateConfig; uc != nil && uc.Monitor > 0 {
		return uc.Monitor
	}
	return 5 * time.Second
}

func countTasks(svc swarm.Service, tasks []swarm.Task, nodes int, now time.Time) taskTally {
	tl := taskTally{monitor: monitorPeriod(svc)}
	var current []swarm.Task
	for _, t := range tasks {
		if sameTaskSpec(t.Spec, svc.Spec.TaskTemplate) {
			current = append(current, t)
		}
	}
	sort.SliceStable(current, func(i, j int) bool { return current[i].Status.Timestamp.Before(current[j].Status.Timestamp) })
	desired := 0
	for _, t := range current {
		switch {
		case t.Status.State == swarm.TaskStateRunning && t.DesiredState == swarm.TaskStateRunning:
			tl.running++
			if !now.Before(t.Status.Timestamp.Add(tl.monitor)) {
				tl.stable++
			}
		case isFailState(t.Status.State):
			tl.failed++
			tl.lastErr = t.Status.Err
			if code, ok := taskExitCode(t); ok && code != 0 && !strings.Contains(tl.lastErr, "exit") {
				tl.lastErr = strings.TrimSpace(fmt.Sprintf("%s (exit %d)", tl.lastErr, code))
			}
		}
		if t.DesiredState == swarm.TaskStateRunning {
			desired++
		}
	}
	switch {
	case svc.Spec.Mode.Replicated != nil && svc.Spec.Mode.Replicated.Replicas != nil:
		tl.want = int(*svc.Spec.Mode.Replicated.Replicas)
	case svc.Spec.Mode.Global != nil:
		tl.want = nodes
		if tl.want <= 0 {
			tl.want = desired
		}
		if tl.want == 0 {
			tl.want = 1 // a global service runs somewhere; wait for its task
		}
	}
	return tl
}

// rollback returns every updated service to its spec from before the
// deploy and removes every created one, then waits for the rolled-back
// services to converge. Swarm's own rollback (to PreviousSpec) is used
// when PreviousSpec is the spec from before the deploy; otherwise that
// spec is applied again.
func (c *Client) rollback(ctx context.Context, changes []ServiceChange, timeout time.Duration, status io.Writer) []ServiceResult {
	var results []ServiceResult
	var wait []ServiceChange
	for _, ch := range changes {
		if ch.Paused {
			fmt.Fprintf(status, "rollback: service %s: not changed by this deploy, left as it is\n", ch.Name)
			continue
		}
		if ch.Created {
			fmt.Fprintf(status, "rollback: service %s: removing (created by this deploy)\n", ch.Name)
			r := ServiceResult{ServiceChange: ch, State: ServiceRemoved}
			if err := c.api.ServiceRemove(ctx, ch.ID); err != nil && !isNotFound(err) {
				r.State, r.Err = "not removed", c.apiErr("removing service "+ch.Service, err).Error()
				fmt.Fprintf(status, "rollback: service %s: %s\n", ch.Name, r.Err)
			} else {
				fmt.Fprintf(status, "rollback: service %s: removed\n", ch.Name)
			}
			results = append(results, r)
			continue
		}
		if err := c.rollbackOne(ctx, ch); err != nil {
			fmt.Fprintf(status, "rollback: service %s: %v\n", ch.Name, err)
			results = append(results, ServiceResult{ServiceChange: ch, State: "not rolled back", Err: err.Error()})
			continue
		}
		fmt.Fprintf(status, "rollback: service %s: rolling back to its previous definition (%s)\n", ch.Name, imageOf(*ch.Before))
		wait = append(wait, ch)
	}
	if len(wait) > 0 {
		results = append(results, c.waitConverged(ctx, convergeWait{changes: wait, timeout: timeout, status: status, prefix: "rollback: service", rollback: true})...)
	}
	return results
}

func (c *Client) rollbackOne(ctx context.Context, ch ServiceChange) error {
	svcs, err := c.api.ServiceList(ctx, swarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("id", ch.ID))})
	if err != nil {
		return c.apiErr("listing services", err)
	}
	for _, s := range svcs {
		if s.ID != ch.ID {
			continue
		}
		var uerr error
		if s.PreviousSpec != nil && sameSpec(*s.PreviousSpec, ch.Before.Spec) {
			_, uerr = c.api.ServiceUpdate(ctx, s.ID, s.Version, s.Spec, swarm.ServiceUpdateOptions{Rollback: "previous", RegistryAuthFrom: swarm.RegistryAuthFromPreviousSpec})
		} else {
			_, uerr = c.api.ServiceUpdate(ctx, s.ID, s.Version, ch.Before.Spec, swarm.ServiceUpdateOptions{})
		}
		if uerr != nil {
			return c.apiErr("rolling back service "+ch.Service, uerr)
		}
		return nil
	}
	return fmt.Errorf("service %s is gone", ch.Service)
}

// imageOf is a service's image without its digest.
func imageOf(s swarm.Service) string {
	if s.Spec.TaskTemplate.ContainerSpec == nil {
		return "no image"
	}
	img, _, _ := strings.Cut(s.Spec.TaskTemplate.ContainerSpec.Image, "@")
	return img
}
