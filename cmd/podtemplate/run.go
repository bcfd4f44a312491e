package main

import (
	"context"
	"errors"
	"strings"

	"github.com/podtemplate/podtemplate/swarm"
)

func init() {
	register(&command{
		name:    "run",
		summary: "run one job of the stack now and exit with its exit code",
		usage: `Usage: podtemplate run [-c FILE]... [OPTIONS] JOB

Renders the stack, deploys JOB alone as a stack of its own under a unique
name (so parallel runs never collide), streams its logs, exits with its exit
code, and removes it afterwards unless --keep (also on timeout and Ctrl-C).
With --stack STACK the job joins that deployed stack's networks, volumes,
secrets and configs, so it reaches its services and data; without it, the
job gets resources of its own.
Exit codes: the job's own; 124 timed out; 125 Swarm could not run it;
130 interrupted.
`,
		run: runRun,
	})
}

func runRun(ctx context.Context, a *app, args []string) error {
	c := commands["run"]
	fs := newFlagSet(c)
	var sf stackFlags
	sf.register(fs)
	env := fs.StringArrayP("env", "e", nil, "set an environment variable of the job, K=V (repeatable)")
	keep := fs.Bool("keep", false, "leave the job's stack in place afterwards")
	timeout := fs.Duration("timeout", 0, "wait at most this long (default: the job's timeout, else no limit)")
	prefix := fs.String("stack-prefix", "", "start the unique stack name with this prefix")
	join := fs.String("stack", "", "run against this deployed stack: use its networks, volumes, secrets and configs")
	if err := parseFlags(c, fs, a, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("run takes one JOB name (give stack files with -c FILE)")
	}
	for _, kv := range *env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return usagef("--env %q: expected K=V", kv)
		}
	}
	job := fs.Arg(0)
	res, client, err := sf.renderAndConnect(ctx, a)
	if err != nil {
		return err
	}
	defer client.Close()
	code, err := client.Run(ctx, swarm.RunOptions{
		Job: job, StackFile: res.Output, StackPrefix: *prefix, Env: *env, Keep: *keep,
		Out: a.stdout, Err: a.stderr, Status: a.stderr, TTY: isTerminal(a.stderr),
		Timeout: *timeout, WithRegistryAuth: sf.registryAuth, ResolveImage: sf.resolveImage,
		DockerArgs: a.dockerArgs(), Summary: true, Join: *join,
	})
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
