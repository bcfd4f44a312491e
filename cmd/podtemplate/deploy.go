package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/podtemplate/podtemplate/swarm"
	"github.com/podtemplate/podtemplate/transform"
	"github.com/spf13/pflag"
)

// daemonFlags select the Docker daemon, as docker's own -H and --context.
type daemonFlags struct {
	host, context string
}

func (d *daemonFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&d.host, "host", "H", "", "Docker daemon to use (as docker -H)")
	fs.StringVar(&d.context, "context", "", "docker context to use (as docker --context)")
}

// connect reaches the daemon the docker CLI would reach.
func (d *daemonFlags) connect(ctx context.Context) (*swarm.Client, error) {
	return swarm.Connect(ctx, swarm.ConnectOptions{Host: d.host, Context: d.context})
}

// pushFlags are docker stack deploy's image options, shared by deploy and
// run.
type pushFlags struct {
	registryAuth bool
	resolveImage string
}

func (p *pushFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&p.registryAuth, "with-registry-auth", false, "send registry credentials to the Swarm agents")
	fs.StringVar(&p.resolveImage, "resolve-image", "", "query the registry for image digests: always, changed or never")
}

func (p *pushFlags) check() error {
	switch p.resolveImage {
	case "", "always", "changed", "never":
		return nil
	}
	return usagef("--resolve-image %q: expected always, changed or never", p.resolveImage)
}

// dockerArgs are the global flags for the docker CLI: those docker passed
// to the plugin, or none (the client then adds its own -H/--context).
func (a *app) dockerArgs() []string { return a.globalDocker }

// isTerminal reports whether w is a terminal, for the live progress display.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func init() {
	register(&command{
		name:    "deploy",
		summary: "render, then docker stack deploy, and follow the stack's jobs",
		usage: `Usage: podtemplate deploy [-c FILE]... [OPTIONS] STACK

Renders the stack (nothing is deployed unless the whole render succeeds),
pipes it into 'docker stack deploy -c - STACK', then follows the stack's jobs:
their logs, prefixed with the job name, and a summary. Exits 0 only if every
job completed. With --detach it returns once Swarm accepted the stack.
`,
		run: runDeploy,
	})
}

func runDeploy(ctx context.Context, a *app, args []string) error {
	c := commands["deploy"]
	fs := newFlagSet(c)
	var sf stackFlags
	sf.register(fs)
	prune := fs.Bool("prune", false, "remove services that are no longer in the stack (docker stack deploy --prune)")
	detach := fs.BoolP("detach", "d", false, "return once the stack is accepted, without waiting for its jobs")
	timeout := fs.Duration("timeout", 0, "wait at most this long for jobs that set no timeout of their own (0: no limit)")
	rerun := fs.Bool("rerun-unchanged", false, "deploy replicated-job and global-job services even when unchanged (Swarm then runs them again)")
	if err := parseFlags(c, fs, a, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("deploy takes one STACK name (give stack files with -c FILE)")
	}
	stack := fs.Arg(0)
	res, client, err := sf.renderAndConnect(ctx, a)
	if err != nil {
		return err
	}
	defer client.Close()
	before, err := client.Deploy(ctx, swarm.DeployOptions{
		Stack: stack, Prune: *prune, WithRegistryAuth: sf.registryAuth, ResolveImage: sf.resolveImage,
		Stdin: res.Output, Stdout: a.stderr, Stderr: a.stderr, DockerArgs: a.dockerArgs(),
		SkipUnchangedJobs: !*rerun,
	})
	if err != nil {
		return err
	}
	if *detach || len(res.Jobs) == 0 {
		return nil
	}
	summary, err := client.Follow(ctx, swarm.FollowOptions{
		Stack: stack, Before: before, Out: a.stdout, Err: a.stderr, Status: a.stderr,
		TTY: isTerminal(a.stderr), DefaultTimeout: *timeout, Logs: true,
	})
	if err != nil {
		return err
	}
	return summaryError(summary)
}

// stackFlags are the options of deploy and run: what to render, which
// daemon, and docker stack deploy's image options.
type stackFlags struct {
	renderFlags
	daemonFlags
	pushFlags
}

func (f *stackFlags) register(fs *pflag.FlagSet) {
	f.renderFlags.register(fs)
	f.daemonFlags.register(fs)
	f.pushFlags.register(fs)
}

// renderAndConnect renders the stack files given with -c (deploy and run
// take a name as their argument, not files) and, only when that
// succeeded, connects to the daemon.
func (f *stackFlags) renderAndConnect(ctx context.Context, a *app) (*transform.Result, *swarm.Client, error) {
	if err := f.pushFlags.check(); err != nil {
		return nil, nil, err
	}
	opts, err := f.renderFlags.options(a, nil, true)
	if err != nil {
		return nil, nil, err
	}
	res, err := transform.Render(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	client, err := f.daemonFlags.connect(ctx)
	if err != nil {
		return nil, nil, err
	}
	return res, client, nil
}

// summaryError is nil when every job completed.
func summaryError(s swarm.Summary) error {
	if s.OK() {
		return nil
	}
	var bad []string
	for _, j := range s.Jobs {
		if (swarm.Summary{Jobs: []swarm.JobResult{j}}).OK() {
			continue
		}
		bad = append(bad, fmt.Sprintf("%s %s", j.Name, j.State))
	}
	return fmt.Errorf("%d of %d jobs did not complete: %s", len(bad), len(s.Jobs), strings.Join(bad, ", "))
}
