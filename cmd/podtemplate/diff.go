package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/podtemplate/podtemplate/stackdiff"
	"github.com/podtemplate/podtemplate/swarm"
	"github.com/podtemplate/podtemplate/transform"
	"github.com/spf13/cobra"
)

// diffOptions are the options of podtemplate diff.
type diffOptions struct {
	renderFlags
	daemonFlags
	stack string
	quiet bool
}

func newDiffCommand(a *app) *cobra.Command {
	var opts diffOptions
	cmd := &cobra.Command{
		Use:   "diff [OPTIONS] STACK",
		Short: "Show what a deploy would change in the running stack",
		Long: `Renders the stack, converts it to service definitions as docker stack deploy
does, reads the running stack's services through the Engine API and prints,
per service, a unified diff of the two (normalised, so that what Swarm
adds by itself is not shown). Exits 0 when nothing would change, 1 when
something would, 2 on error (as diff does).`,
		Example:               `  podtemplate diff -c stack.yml shop`,
		Args:                  exactArgs(1, "diff takes one STACK name (give stack files with -c FILE)"),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.stack = args[0]
			return runDiff(cmd.Context(), a, &opts)
		},
	}
	flags := cmd.Flags()
	flags.SortFlags = false
	opts.renderFlags.register(flags)
	opts.daemonFlags.register(flags)
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "print nothing; only the exit status tells")
	_ = cmd.MarkFlagFilename("compose-file", "yaml", "yml")
	return cmd
}

// errChanges is diff's "there are differences" (exit 1, nothing printed
// on stderr).
var errChanges = &exitCodeError{code: 1}

func runDiff(ctx context.Context, a *app, opts *diffOptions) error {
	topts, err := opts.renderFlags.options(a, nil, true)
	if err != nil {
		return err
	}
	res, err := renderStack(ctx, topts, renderThenExit)
	if err != nil {
		return diffError(err)
	}
	client, err := opts.daemonFlags.connect(ctx)
	if err != nil {
		return diffError(err)
	}
	defer client.Close()
	result, err := compareStack(ctx, client, opts.stack, res)
	if err != nil {
		return diffError(err)
	}
	if !opts.quiet {
		printDiff(a, result)
	}
	if result.Changed() {
		return errChanges
	}
	return nil
}

// diffError makes err exit 2, as diff's trouble status (1 means changes).
func diffError(err error) error {
	var ue *usageError
	if errors.As(err, &ue) {
		return err
	}
	return &exitCodeError{code: exitUsage, err: err}
}

// compareStack compares a render with the running stack.
func compareStack(ctx context.Context, client *swarm.Client, stack string, res *transform.Result) (stackdiff.Result, error) {
	api, ok := client.EngineClient()
	if !ok {
		return stackdiff.Result{}, errors.New("no Engine API client to read the running stack")
	}
	wd, err := os.Getwd()
	if err != nil {
		return stackdiff.Result{}, err
	}
	return stackdiff.Compare(ctx, api, stackdiff.Options{Stack: stack, File: res.Output, WorkingDir: wd})
}

// printDiff prints the changed services' diffs on stdout and a one-line
// summary on stderr.
func printDiff(a *app, r stackdiff.Result) {
	st := newStyle(a.stdout)
	counts := map[stackdiff.Change]int{}
	for _, s := range r.Services {
		counts[s.Change]++
		if s.Change == stackdiff.Unchanged {
			continue
		}
		fmt.Fprintf(a.stdout, "%s\n", st.bold(fmt.Sprintf("service %s: %s", s.Name, s.Change)))
		fmt.Fprint(a.stdout, st.diff(s.Unified))
	}
	fmt.Fprintf(a.stderr, "stack %s: %d added, %d changed, %d removed, %d unchanged\n", r.Stack,
		counts[stackdiff.Added], counts[stackdiff.Changed], counts[stackdiff.Removed], counts[stackdiff.Unchanged])
}
