package swarm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// StagedOptions configures DeployStaged.
type StagedOptions struct {
	// Deploy holds docker stack deploy's options; Stdin is the whole
	// rendered stack. SkipUnchangedJobs is set by DeployStaged from
	// RerunUnchanged.
	Deploy DeployOptions
	// Follow holds the output and timeout options for following jobs;
	// Stack, Jobs, Before and NoSummary are set per phase.
	Follow FollowOptions
	// UpdateTimeout bounds the wait for the services of phase 2 to
	// converge, and for a rollback to (0: 5 minutes).
	UpdateTimeout time.Duration
	// RollbackOnFailure rolls back the services updated in phase 2, and
	// removes those it created, when phase 2 or a post-deploy job fails.
	RollbackOnFailure bool
	// RerunUnchanged runs unchanged staged jobs again.
	RerunUnchanged bool
}

// Phase names.
const (
	PhasePreDeploy  = "pre-deploy"
	PhaseDeploy     = "deploy"
	PhasePostDeploy = "post-deploy"
	PhaseRollback   = "rollback"
)

// PhaseResult is how one phase of an ordered deploy ended.
type PhaseResult struct {
	// Name is pre-deploy, deploy, post-deploy or rollback.
	Name string
	// State is ok, failed, or skipped (with the reason in Detail).
	State string
	// Detail says what the phase did or why it failed.
	Detail string
}

// StagedResult is the outcome of DeployStaged.
type StagedResult struct {
	// Phases holds one result per phase, in order.
	Phases []PhaseResult
	// Jobs are the results of every job followed, phase by phase.
	Jobs Summary
	// Services are the services of phase 2 that were created or updated,
	// and how they converged.
	Services []ServiceResult
	// RolledBack are the rollback's results (empty without one).
	RolledBack []ServiceResult
}

// OK reports whether every phase succeeded.
func (r StagedResult) OK() bool {
	for _, p := range r.Phases {
		if p.State == "failed" {
			return false
		}
	}
	return true
}

// Err is nil when every phase succeeded, else one line naming the phase
// that failed and what was rolled back.
func (r StagedResult) Err() error {
	var failed []string
	for _, p := range r.Phases {
		if p.State == "failed" {
			failed = append(failed, p.Name+": "+p.Detail)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return errors.New("ordered deploy failed: " + strings.Join(failed, "; "))
}

// Print writes the summary: the jobs table, the services of phase 2, the
// rollback, and the phases.
func (r StagedResult) Print(w io.Writer) {
	if len(r.Jobs.Jobs) > 0 {
		r.Jobs.Print(w)
		fmt.Fprintln(w)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(r.Services)+len(r.RolledBack) > 0 {
		fmt.Fprintln(tw, "SERVICE\tCHANGE\tSTATE\tERROR")
		for _, s := range r.Services {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, changeText(s.ServiceChange), s.State, oneLine(s.Err))
		}
		for _, s := range r.RolledBack {
			state := s.State
			if state == ServiceRolledBack && s.Before != nil {
				state += " to " + imageOf(*s.Before)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, "rollback", state, oneLine(s.Err))
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	fmt.Fprintln(tw, "PHASE\tRESULT\tDETAIL")
	for _, p := range r.Phases {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, p.State, p.Detail)
	}
	tw.Flush()
}

func changeText(ch ServiceChange) string {
	switch {
	case ch.Created:
		return "created"
	case ch.Paused:
		return "unchanged"
	}
	return "updated"
}

// DeployStaged deploys a stack that has pre-deploy or post-deploy jobs, in
// three phases:
//
//  1. the pre-deploy jobs, with only the networks, volumes, secrets and
//     configs they use, are deployed into the stack and followed; if one
//     does not complete, nothing else is deployed;
//  2. the rest of the stack (not the staged jobs) is deployed; the
//     services it created or updated are waited for until they converge,
//     and its other jobs are followed;
//  3. the post-deploy jobs are deployed and followed.
//
// A failure in phase 2 or 3 fails the deploy and, with RollbackOnFailure,
// returns the services updated in phase 2 to their previous definition
// and removes those it created. Unchanged staged jobs are not run again
// unless RerunUnchanged. With Deploy.Prune, the services no longer in the
// stack file are removed after phase 2 (docker's --prune would remove the
// staged jobs that a phase leaves out).
func (c *Client) DeployStaged(ctx context.Context, stack *StagedStack, opts StagedOptions) (StagedResult, error) {
	var res StagedResult
	name := opts.Deploy.Stack
	status := opts.Follow.Status
	if status == nil {
		status = opts.Follow.Out
	}
	if status == nil {
		status = io.Discard
	}
	opts.Follow.Status = status
	opts.Follow.Stack = name
	opts.Follow.NoSummary = true
	res.Jobs.Stack = name
	prune := opts.Deploy.Prune
	opts.Deploy.Prune = false
	opts.Deploy.SkipUnchangedJobs = !opts.RerunUnchanged

	// Phase 1.
	fmt.Fprintf(status, "phase 1/3: pre-deploy jobs (%s)\n", listOrNone(stack.Pre))
	if len(stack.Pre) == 0 {
		res.Phases = append(res.Phases, PhaseResult{Name: PhasePreDeploy, State: "skipped", Detail: "no pre-deploy jobs"})
	} else {
		ok, detail, err := c.stageJobs(ctx, stack, stack.Pre, opts, &res)
		if err != nil {
			return res, err
		}
		if !ok {
			res.Phases = append(res.Phases,
				PhaseResult{Name: PhasePreDeploy, State: "failed", Detail: detail},
				PhaseResult{Name: PhaseDeploy, State: "skipped", Detail: "a pre-deploy job failed: nothing else was created or updated"},
				PhaseResult{Name: PhasePostDeploy, State: "skipped", Detail: "a pre-deploy job failed"})
			return res, nil
		}
		res.Phases = append(res.Phases, PhaseResult{Name: PhasePreDeploy, State: "ok", Detail: detail})
	}

	// Phase 2.
	rest := stack.Rest()
	fmt.Fprintf(status, "phase 2/3: the rest of the stack (%s)\n", listOrNone(rest))
	before, err := c.stackSpecs(ctx, name)
	if err != nil {
		return res, err
	}
	p2 := PhaseResult{Name: PhaseDeploy, State: "ok"}
	if len(rest) > 0 {
		file, err := stack.File(rest)
		if err != nil {
			return res, err
		}
		d := opts.Deploy
		d.Stdin = file
		snap, err := c.Deploy(ctx, d)
		if err != nil {
			return res, err
		}
		after, err := c.stackSpecs(ctx, name)
		if err != nil {
			return res, err
		}
		changes := changedServices(name, stack.Services, before, after)
		if len(changes) > 0 {
			res.Services = c.waitConverged(ctx, convergeWait{changes: changes, timeout: opts.UpdateTimeout, status: status, prefix: "service"})
		} else {
			fmt.Fprintln(status, "no service was created or updated")
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		var bad []string
		for _, s := range res.Services {
			if s.State != ServiceConverged {
				bad = append(bad, s.Name+" "+s.State)
			}
		}
		jobsOK := true
		if len(stack.Jobs) > 0 {
			f := opts.Follow
			f.Jobs, f.Before = stack.Jobs, snap
			sum, err := c.Follow(ctx, f)
			res.Jobs.Jobs = append(res.Jobs.Jobs, sum.Jobs...)
			if err != nil {
				return res, err
			}
			if !sum.OK() {
				jobsOK = false
				bad = append(bad, failedJobs(sum)...)
			}
		}
		p2.Detail = servicesDetail(res.Services)
		if len(bad) > 0 || !jobsOK {
			p2.State, p2.Detail = "failed", strings.Join(bad, ", ")
		}
	} else {
		p2.Detail = "nothing but staged jobs in the stack"
	}
	if prune {
		removed, err := c.pruneServices(ctx, name, stack.all())
		if err != nil {
			return res, err
		}
		if len(removed) > 0 {
			fmt.Fprintf(status, "pruned services no longer in the stack: %s\n", strings.Join(removed, ", "))
		}
	}
	res.Phases = append(res.Phases, p2)

	// Phase 3.
	if p2.State == "failed" {
		why := "a job of phase 2 failed"
		for _, s := range res.Services {
			if s.State != ServiceConverged {
				why = "the rest of the stack did not converge"
			}
		}
		res.Phases = append(res.Phases, PhaseResult{Name: PhasePostDeploy, State: "skipped", Detail: why})
	} else {
		fmt.Fprintf(status, "phase 3/3: post-deploy jobs (%s)\n", listOrNone(stack.Post))
		if len(stack.Post) == 0 {
			res.Phases = append(res.Phases, PhaseResult{Name: PhasePostDeploy, State: "skipped", Detail: "no post-deploy jobs"})
		} else {
			ok, detail, err := c.stageJobs(ctx, stack, stack.Post, opts, &res)
			if err != nil {
				return res, err
			}
			state := "ok"
			if !ok {
				state = "failed"
			}
			res.Phases = append(res.Phases, PhaseResult{Name: PhasePostDeploy, State: state, Detail: detail})
		}
	}

	if res.OK() {
		return res, nil
	}
	var changed []ServiceChange
	for _, s := range res.Services {
		if !s.Paused {
			changed = append(changed, s.ServiceChange)
		}
	}
	switch {
	case !opts.RollbackOnFailure:
		detail := "not requested (--rollback-on-failure): the services stay as deployed"
		if len(changed) == 0 {
			detail = "not requested; no service was created or updated"
		}
		res.Phases = append(res.Phases, PhaseResult{Name: PhaseRollback, State: "skipped", Detail: detail})
	case len(changed) == 0:
		res.Phases = append(res.Phases, PhaseResult{Name: PhaseRollback, State: "skipped", Detail: "no service was created or updated"})
	default:
		fmt.Fprintf(status, "rolling back %d service(s) of phase 2\n", len(changed))
		res.RolledBack = c.rollback(context.WithoutCancel(ctx), changed, opts.UpdateTimeout, status)
		var done, bad []string
		for _, r := range res.RolledBack {
			switch {
			case r.State == ServiceRolledBack:
				done = append(done, r.Name+" rolled back to "+imageOf(*r.Before))
			case r.State == ServiceRemoved && r.Created:
				done = append(done, r.Name+" removed")
			default:
				bad = append(bad, r.Name+" "+r.State)
			}
		}
		p := PhaseResult{Name: PhaseRollback, State: "ok", Detail: strings.Join(done, ", ")}
		if len(bad) > 0 {
			p.State = "failed"
			p.Detail = strings.Join(append(bad, done...), ", ")
		}
		res.Phases = append(res.Phases, p)
	}
	return res, nil
}

// stageJobs deploys the named jobs (and the resources they use) into the
// stack and follows them. ok is false when one did not complete.
func (c *Client) stageJobs(ctx context.Context, stack *StagedStack, jobs []string, opts StagedOptions, res *StagedResult) (ok bool, detail string, err error) {
	file, err := stack.File(jobs)
	if err != nil {
		return false, "", err
	}
	d := opts.Deploy
	d.Stdin = file
	snap, err := c.Deploy(ctx, d)
	if err != nil {
		return false, "", err
	}
	if opts.RerunUnchanged {
		if err := c.forceRerun(ctx, opts.Deploy.Stack, jobs, stack, &snap); err != nil {
			return false, "", err
		}
	}
	f := opts.Follow
	f.Jobs, f.Before = jobs, snap
	sum, err := c.Follow(ctx, f)
	res.Jobs.Jobs = append(res.Jobs.Jobs, sum.Jobs...)
	if err != nil {
		return false, "", err
	}
	if !sum.OK() {
		return false, strings.Join(failedJobs(sum), ", "), nil
	}
	var parts []string
	for _, j := range sum.Jobs {
		s := j.Name + " " + string(j.State)
		if j.Unchanged && !j.Rerun {
			s += " (unchanged, not run again)"
		}
		parts = append(parts, s)
	}
	return true, strings.Join(parts, ", "), nil
}

// forceRerun starts a new run of the unchanged restart-none jobs among
// names (job-mode services already run again when deployed): Swarm
// replaces a service's tasks when its ForceUpdate counter changes. They are
// dropped from the snapshot, so Follow follows them as new runs.
func (c *Client) forceRerun(ctx context.Context, stackName string, names []string, stack *StagedStack, snap *Snapshot) error {
	specs, err := c.stackSpecs(ctx, stackName)
	if err != nil {
		return err
	}
	for _, n := range names {
		full := stackName + "_" + n
		b, ok := snap.Services[full]
		svc, now := specs[full]
		if !ok || !now || b.ID != svc.ID || b.Hash != stack.Hash[n] || svc.Spec.Mode.Replicated == nil {
			continue
		}
		spec := svc.Spec
		spec.TaskTemplate.ForceUpdate++
		if _, err := c.api.ServiceUpdate(ctx, svc.ID, svc.Version, spec, swarm.ServiceUpdateOptions{}); err != nil {
			return c.apiErr("running job "+n+" again", err)
		}
		delete(snap.Services, full)
	}
	return nil
}

// pruneServices removes the services of a stack whose names (in the
// stack file) are not in keep, as docker stack deploy --prune does.
func (c *Client) pruneServices(ctx context.Context, stack string, keep []string) ([]string, error) {
	want := map[string]bool{}
	for _, n := range keep {
		want[stack+"_"+n] = true
	}
	svcs, err := c.stackServices(ctx, stack)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, s := range svcs {
		if want[s.Spec.Name] {
			continue
		}
		if err := c.api.ServiceRemove(ctx, s.ID); err != nil && !isNotFound(err) {
			return removed, c.apiErr("removing service "+s.Spec.Name, err)
		}
		removed = append(removed, s.Spec.Name)
	}
	return removed, nil
}

func failedJobs(s Summary) []string {
	var bad []string
	for _, j := range s.Jobs {
		if !(Summary{Jobs: []JobResult{j}}).OK() {
			bad = append(bad, "job "+j.Name+" "+string(j.State))
		}
	}
	return bad
}

func servicesDetail(rs []ServiceResult) string {
	created, updated := 0, 0
	for _, r := range rs {
		switch {
		case r.Created:
			created++
		case !r.Paused:
			updated++
		}
	}
	if created+updated == 0 {
		return "no service created or updated"
	}
	return fmt.Sprintf("%d created, %d updated, all converged", created, updated)
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
