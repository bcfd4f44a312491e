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
var dryRunSteps = []dryRunStep{dryRunServices}

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
