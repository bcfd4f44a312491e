package main

import (
	"context"
	"time"

	"github.com/podtemplate/podtemplate/swarm"
	"github.com/spf13/cobra"
)

// jobsWaitOptions are the options of podtemplate jobs wait.
type jobsWaitOptions struct {
	progressFlags
	daemon  *daemonFlags
	stack   string
	jobs    []string
	timeout time.Duration
}

func newJobsWaitCommand(a *app, daemon *daemonFlags) *cobra.Command {
	opts := jobsWaitOptions{daemon: daemon}
	cmd := &cobra.Command{
		Use:   "wait [OPTIONS] STACK [JOB]...",
		Short: "Follow the current runs of the stack's jobs to the end",
		Long: `Follows the current runs of the stack's jobs (or of the JOBs named) to the
end, with their logs and a summary. Exits 1 if any did not complete.`,
		Args:                  minArgs(1, "jobs wait needs a STACK"),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.stack, opts.jobs = args[0], args[1:]
			return runJobsWait(cmd.Context(), a, &opts)
		},
	}
	flags := cmd.Flags()
	flags.DurationVar(&opts.timeout, "timeout", 0, "wait at most this long for jobs that set no timeout of their own")
	opts.progressFlags.register(flags)
	return cmd
}

func runJobsWait(ctx context.Context, a *app, opts *jobsWaitOptions) error {
	if err := opts.progressFlags.check(); err != nil {
		return err
	}
	client, err := opts.daemon.connect(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	status, tty := opts.status(a)
	summary, err := client.Wait(ctx, swarm.FollowOptions{Stack: opts.stack, Jobs: opts.jobs, Out: a.stdout, Err: a.stderr,
		Status: status, TTY: tty, DefaultTimeout: opts.timeout, Logs: true})
	if err != nil {
		return err
	}
	return summaryError(summary)
}
