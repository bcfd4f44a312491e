package main

import (
	"context"
	"fmt"
	"time"

	"github.com/podtemplate/podtemplate/swarm"
	"github.com/spf13/cobra"
)

// jobsListOptions are the options of podtemplate jobs ls.
type jobsListOptions struct {
	daemon *daemonFlags
	stack  string
	quiet  bool
	format outputFormat
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
	opts.format.register(cmd.Flags(), "a list of jobs")
	return cmd
}

func runJobsList(ctx context.Context, a *app, opts *jobsListOptions) error {
	if err := opts.format.check(); err != nil {
		return err
	}
	client, err := opts.daemon.connect(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	jobs, err := client.List(ctx, opts.stack)
	if err != nil {
		return err
	}
	if opts.format.json() {
		now := time.Now()
		doc := make([]jsonJob, 0, len(jobs))
		for _, j := range jobs {
			jj := newJSONJob(j.JobRun, now)
			jj.Schedule, jj.Stage, jj.TimeoutSeconds = j.Schedule, j.Stage, j.Timeout.Seconds()
			doc = append(doc, jj)
		}
		return writeJSON(a.stdout, doc)
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
