package main

import (
	"context"
	"fmt"
	"time"

	"github.com/podtemplate/podtemplate/swarm"
	"github.com/spf13/cobra"
)

// deployOptions are the options of podtemplate deploy.
type deployOptions struct {
	stackFlags
	progressFlags
	reportFlags
	stack   string
	prune   bool
	detach  bool
	timeout time.Duration
	rerun   bool
	// rollback and updateTimeout are for ordered deploys (x-jobs stage).
	rollback      bool
	updateTimeout time.Duration
	dryRun        bool
}

func newDeployCommand(a *app) *cobra.Command {
	var opts deployOptions
	cmd := &cobra.Command{
		Use:   "deploy [OPTIONS] STACK",
		Short: "Render, then docker stack deploy, and follow the stack's jobs",
		Long: `Renders the stack (nothing is deployed unless the whole render succeeds),
pipes it into 'docker stack deploy -c - STACK', then follows the stack's jobs:
their logs, prefixed with the job name, and a summary. Exits 0 only if every
job completed. With --detach it returns once Swarm accepted the stack.

A stack with pre-deploy or post-deploy jobs (x-jobs stage) is deployed in
three phases: the pre-deploy jobs (a failure stops the deploy with nothing
else changed), the rest of the stack (waiting until the services it
updated converge), then the post-deploy jobs (a failure fails the deploy;
--rollback-on-failure rolls the updated services back).`,
		Example:               `  podtemplate deploy -c stack.yml shop`,
		Args:                  exactArgs(1, "deploy takes one STACK name (give stack files with -c FILE)"),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.stack = args[0]
			return runDeploy(cmd.Context(), a, &opts)
		},
	}
	flags := cmd.Flags()
	flags.SortFlags = false
	opts.stackFlags.register(flags)
	flags.BoolVar(&opts.prune, "prune", false, "remove services that are no longer in the stack (docker stack deploy --prune)")
	flags.BoolVarP(&opts.detach, "detach", "d", false, "return once the stack is accepted, without waiting for its jobs")
	flags.DurationVar(&opts.timeout, "timeout", 0, "wait at most this long for jobs that set no timeout of their own (0: no limit)")
	flags.BoolVar(&opts.rerun, "rerun-unchanged", false, "deploy replicated-job and global-job services even when unchanged (Swarm then runs them again); run unchanged staged jobs again")
	flags.BoolVar(&opts.rollback, "rollback-on-failure", false, "when an updated service does not converge or a post-deploy job fails, roll back the services the deploy updated and remove those it created")
	flags.DurationVar(&opts.updateTimeout, "update-timeout", 5*time.Minute, "wait at most this long for updated services to converge (ordered deploys)")
	flags.BoolVar(&opts.dryRun, "dry-run", false, "render and show what the deploy would change (as podtemplate diff), deploy nothing")
	opts.progressFlags.register(flags)
	opts.reportFlags.register(flags)
	_ = cmd.MarkFlagFilename("compose-file", "yaml", "yml")
	return cmd
}

func runDeploy(ctx context.Context, a *app, opts *deployOptions) error {
	// Refused before anything is rendered: a dry run would otherwise
	// report a deploy that cannot happen.
	if err := swarm.CheckStackName(opts.stack); err != nil {
		return usagef("%v", err)
	}
	if err := opts.reportFlags.check(); err != nil {
		return err
	}
	if err := opts.progressFlags.check(); err != nil {
		return err
	}
	if opts.updateTimeout <= 0 {
		return usagef("--update-timeout %s: expected a positive duration", opts.updateTimeout)
	}
	if opts.detach && opts.rollback {
		return usagef("--detach and --rollback-on-failure exclude each other: a rollback needs the deploy to wait")
	}
	res, client, err := opts.renderAndConnect(ctx, a)
	if err != nil {
		return err
	}
	defer client.Close()
	if opts.dryRun {
		return runDryRun(ctx, a, client, opts, res)
	}
	status, tty := opts.status(a)
	staged, err := swarm.ReadStages(res.Output)
	if err != nil {
		return err
	}
	if staged.Staged() || opts.rollback {
		return runStagedDeploy(ctx, a, opts, client, staged)
	}
	before, err := client.Deploy(ctx, swarm.DeployOptions{
		Stack: opts.stack, Prune: opts.prune, WithRegistryAuth: opts.registryAuth, ResolveImage: opts.resolveImage,
		Stdin: res.Output, Stdout: status, Stderr: a.stderr, DockerArgs: a.dockerArgs(),
		SkipUnchangedJobs: !opts.rerun,
	})
	if err != nil {
		return err
	}
	if opts.detach || len(res.Jobs) == 0 {
		return opts.reportFlags.write(newJSONReport("deploy", opts.stack, swarm.Summary{Stack: opts.stack}, opts.detach))
	}
	summary, err := client.Follow(ctx, swarm.FollowOptions{
		Stack: opts.stack, Before: before, Out: a.stdout, Err: a.stderr, Status: status,
		TTY: tty, DefaultTimeout: opts.timeout, Logs: true,
	})
	if err != nil {
		return err
	}
	if err := opts.reportFlags.write(newJSONReport("deploy", opts.stack, summary, false)); err != nil {
		return err
	}
	return summaryError(summary)
}

// runStagedDeploy deploys a stack with staged jobs (or with
// --rollback-on-failure) phase by phase.
func runStagedDeploy(ctx context.Context, a *app, opts *deployOptions, client *swarm.Client, staged *swarm.StagedStack) error {
	if opts.detach {
		return usagef("--detach cannot deploy a stack with pre-deploy or post-deploy jobs: each phase waits for the one before")
	}
	status, tty := opts.status(a)
	result, err := client.DeployStaged(ctx, staged, swarm.StagedOptions{
		Deploy: swarm.DeployOptions{Stack: opts.stack, Prune: opts.prune, WithRegistryAuth: opts.registryAuth,
			ResolveImage: opts.resolveImage, Stdout: status, Stderr: a.stderr, DockerArgs: a.dockerArgs()},
		Follow:        swarm.FollowOptions{Out: a.stdout, Err: a.stderr, Status: status, TTY: tty, DefaultTimeout: opts.timeout, Logs: true},
		UpdateTimeout: opts.updateTimeout, RollbackOnFailure: opts.rollback, RerunUnchanged: opts.rerun,
	})
	fmt.Fprintln(status)
	result.Print(status)
	if err != nil {
		return err
	}
	if err := opts.reportFlags.write(newJSONReport("deploy", opts.stack, result.Jobs, false)); err != nil {
		return err
	}
	return result.Err()
}
