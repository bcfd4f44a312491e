package main

import (
	"context"
	"fmt"

	"github.com/podtemplate/podtemplate/swarm"
	"github.com/spf13/cobra"
)

// jobsListOptions are the options of podtemplate jobs ls.
type jobsListOptions struct {
	daemon *daemonFlags
	stack  string
	quiet  bool
}

func newJobsListCommand(a *app, daemon *daemonFlags) *cobra.Command {
	opts := jobsListOptions{daemon: daemon}
	cmd := &cobra.Command{
		Use:                   "ls [OPTIONS] STACK",
		Aliases:               []string{"list"},
		Short:                 "List the stack's jobs with their state and exit codes",
		Args:                  exactArgs(1, "jobs ls takes only a STACK"),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.stack = args[0]
			return runJobsList(cmd.Context(), a, &opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.quiet, "quiet", "q", false, "print only the job names")
	return cmd
}

func runJobsList(ctx context.Context, a *app, opts *jobsListOptions) error {
	client, err := opts.daemon.connect(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	jobs, err := client.List(ctx, opts.stack)
	if err != nil {
		return err
	}
	if opts.quiet {
		for _, j := range jobs {
			fmt.Fprintln(a.stdout, j.Name)
		}
		return nil
	}
	swarm.PrintList(a.stdout, jobs)
	return nil
}
