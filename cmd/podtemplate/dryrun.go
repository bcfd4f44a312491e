package main

import (
	"context"
	"fmt"

	"github.com/podtemplate/podtemplate/swarm"
	"github.com/podtemplate/podtemplate/transform"
)

// runDryRun is deploy --dry-run: it shows what the deploy would change,
// as podtemplate diff does, and deploys nothing. It exits 0 whether or not
// something would change (diff's exit status tells that).
//
// The plan is printed in steps; each step is one function of
// dryRunSteps, so that a deploy with more phases (staged jobs) shows each
// phase by adding a step.
func runDryRun(ctx context.Context, a *app, client *swarm.Client, opts *deployOptions, res *transform.Result) error {
	for _, step := range dryRunSteps {
		if err := step(ctx, a, client, opts, res); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.stderr, "dry run: nothing was deployed to stack %s\n", opts.stack)
	return nil
}

// dryRunStep is one part of the dry-run plan.
type dryRunStep func(ctx context.Context, a *app, client *swarm.Client, opts *deployOptions, res *transform.Result) error

// dryRunSteps are printed in order.
var dryRunSteps = []dryRunStep{dryRunServices, dryRunPhases}

// dryRunServices prints the per-service diff of the whole stack.
func dryRunServices(ctx context.Context, a *app, client *swarm.Client, opts *deployOptions, res *transform.Result) error {
	result, err := compareStack(ctx, client, opts.stack, res)
	if err != nil {
		return err
	}
	if !opts.quiet {
		printDiff(a, result)
	}
	return nil
}

// dryRunPhases prints the phases of an ordered deploy (a stack with
// pre-deploy or post-deploy jobs, or --rollback-on-failure): which jobs
// and services each phase would deploy, and which staged jobs would run.
func dryRunPhases(ctx context.Context, a *app, client *swarm.Client, opts *deployOptions, res *transform.Result) error {
	staged, err := swarm.ReadStages(res.Output)
	if err != nil {
		return err
	}
	if !staged.Staged() && !opts.rollback {
		return nil
	}
	snap, err := client.Snapshot(ctx, opts.stack)
	if err != nil {
		return err
	}
	if opts.quiet {
		return nil
	}
	fmt.Fprintf(a.stdout, "ordered deploy of stack %s, in 3 phases:\n", opts.stack)
	for _, p := range staged.Phases(snap, opts.rerun) {
		fmt.Fprintf(a.stdout, "  %s\n", p)
	}
	if opts.rollback {
		fmt.Fprintln(a.stdout, "  on failure (phase 2 or 3): the services phase 2 updated are rolled back, those it created removed (--rollback-on-failure)")
	} else {
		fmt.Fprintln(a.stdout, "  on failure (phase 2 or 3): the services stay as deployed (no --rollback-on-failure)")
	}
	return nil
}
