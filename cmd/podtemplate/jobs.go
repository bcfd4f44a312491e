package main

import (
	"context"
	"fmt"

	"github.com/podtemplate/podtemplate/swarm"
)

func init() {
	register(&command{
		name:    "jobs",
		summary: "list, show logs of, wait for or prune a deployed stack's jobs",
		usage: `Usage: podtemplate jobs ls STACK
       podtemplate jobs logs STACK [JOB]...
       podtemplate jobs wait STACK [JOB]... [--timeout D]
       podtemplate jobs prune STACK

ls lists the jobs with their state and exit codes; logs prints their logs;
wait follows their current runs to the end (exit 1 if any did not
complete); prune removes finished job services (never running jobs, never
services that are not jobs).
`,
		run: runJobs,
	})
}

func runJobs(ctx context.Context, a *app, args []string) error {
	c := commands["jobs"]
	fs := newFlagSet(c)
	var df daemonFlags
	df.register(fs)
	timeout := fs.Duration("timeout", 0, "wait: at most this long for jobs that set no timeout of their own")
	if err := parseFlags(c, fs, a, args); err != nil {
		return err
	}
	args = fs.Args()
	if len(args) < 2 {
		return usagef("jobs needs a sub-command (ls, logs, wait or prune) and a STACK")
	}
	sub, stack, names := args[0], args[1], args[2:]
	switch sub {
	case "ls", "list", "logs", "wait", "prune":
	default:
		return usagef("unknown jobs sub-command %q: expected ls, logs, wait or prune", sub)
	}
	if (sub == "ls" || sub == "list" || sub == "prune") && len(names) > 0 {
		return usagef("jobs %s takes only a STACK", sub)
	}
	client, err := df.connect(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	switch sub {
	case "ls", "list":
		jobs, err := client.List(ctx, stack)
		if err != nil {
			return err
		}
		swarm.PrintList(a.stdout, jobs)
	case "logs":
		return client.Logs(ctx, stack, names, a.stdout)
	case "wait":
		summary, err := client.Wait(ctx, swarm.FollowOptions{Stack: stack, Jobs: names, Out: a.stdout, Err: a.stderr,
			Status: a.stderr, TTY: isTerminal(a.stderr), DefaultTimeout: *timeout, Logs: true})
		if err != nil {
			return err
		}
		return summaryError(summary)
	case "prune":
		removed, err := client.Prune(ctx, stack)
		if err != nil {
			return err
		}
		for _, name := range removed {
			fmt.Fprintln(a.stdout, name)
		}
		if len(removed) == 0 {
			fmt.Fprintln(a.stderr, "no finished jobs to prune")
		}
	}
	return nil
}
