package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/podtemplate/podtemplate/swarm"
	"github.com/spf13/cobra"
)

// runOptions are the options of podtemplate run.
type runOptions struct {
	stackFlags
	progressFlags
	reportFlags
	job     string
	env     []string
	keep    bool
	timeout time.Duration
	prefix  string
	join    string
}

func newRunCommand(a *app) *cobra.Command {
	var opts runOptions
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] JOB",
		Short: "Run one job of the stack now and exit with its exit code",
		Long: `Renders the stack, deploys JOB alone as a stack of its own under a unique
name (so parallel runs never collide), streams its logs, exits with its exit
code, and removes it afterwards unless --keep (also on timeout and Ctrl-C).
With --stack STACK the job joins that deployed stack's networks, volumes,
secrets and configs, so it reaches its services and data; without it, the
job gets resources of its own.
Exit codes: the job's own; 124 timed out; 125 Swarm could not run it;
130 interrupted.`,
		Example:               `  podtemplate run -c stack.yml --stack shop migrate`,
		Args:                  exactArgs(1, "run takes one JOB name (give stack files with -c FILE)"),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.job = args[0]
			return runRun(cmd.Context(), a, &opts)
		},
	}
	flags := cmd.Flags()
	flags.SortFlags = false
	opts.stackFlags.register(flags)
	stringArrayVarP(flags, &opts.env, "env", "e", "set an environment variable of the job, K=V (repeatable)")
	flags.BoolVar(&opts.keep, "keep", false, "leave the job's stack in place afterwards")
	flags.DurationVar(&opts.timeout, "timeout", 0, "wait at most this long (default: the job's timeout, else no limit)")
	flags.StringVar(&opts.prefix, "stack-prefix", "", "start the unique stack name with this prefix")
	flags.StringVar(&opts.join, "stack", "", "run against this deployed stack: use its networks, volumes, secrets and configs")
	opts.progressFlags.register(flags)
	opts.reportFlags.register(flags)
	_ = cmd.MarkFlagFilename("compose-file", "yaml", "yml")
	return cmd
}

func runRun(ctx context.Context, a *app, opts *runOptions) error {
	if err := opts.reportFlags.check(); err != nil {
		return err
	}
	if err := opts.progressFlags.check(); err != nil {
		return err
	}
	for _, kv := range opts.env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return usagef("--env %q: expected K=V", kv)
		}
	}
	res, client, err := opts.renderAndConnect(ctx, a)
	if err != nil {
		return err
	}
	defer client.Close()
	status, tty := opts.status(a)
	var summary *swarm.Summary
	code, err := client.Run(ctx, swarm.RunOptions{
		Job: opts.job, StackFile: res.Output, StackPrefix: opts.prefix, Env: opts.env, Keep: opts.keep,
		Out: a.stdout, Err: a.stderr, Status: status, TTY: tty,
		Timeout: opts.timeout, WithRegistryAuth: opts.registryAuth, ResolveImage: opts.resolveImage,
		DockerArgs: a.dockerArgs(), Summary: !opts.quiet, Join: opts.join,
		Report: func(s swarm.Summary) { summary = &s },
	})
	if summary != nil {
		if rerr := opts.reportFlags.write(newJSONReport("run", summary.Stack, *summary, false)); rerr != nil && err == nil {
			err = rerr
		}
	}
	var re *swarm.RunError
	if errors.As(err, &re) {
		return &exitCodeError{code: re.Code, err: err}
	}
	if err != nil {
		return err
	}
	if code != 0 {
		return &exitCodeError{code: code}
	}
	return nil
}
