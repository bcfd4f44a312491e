package main

import (
	"context"

	"github.com/spf13/cobra"
)

// jobsLogsOptions are the options of podtemplate jobs logs.
type jobsLogsOptions struct {
	daemon *daemonFlags
	stack  string
	jobs   []string
}

func newJobsLogsCommand(a *app, daemon *daemonFlags) *cobra.Command {
	opts := jobsLogsOptions{daemon: daemon}
	cmd := &cobra.Command{
		Use:                   "logs [OPTIONS] STACK [JOB]...",
		Short:                 "Print the logs of the stack's jobs",
		Args:                  minArgs(1, "jobs logs needs a STACK"),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.stack, opts.jobs = args[0], args[1:]
			return runJobsLogs(cmd.Context(), a, &opts)
		},
	}
	return cmd
}

func runJobsLogs(ctx context.Context, a *app, opts *jobsLogsOptions) error {
	client, err := opts.daemon.connect(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	return client.Logs(ctx, opts.stack, opts.jobs, a.stdout, a.stderr)
}
