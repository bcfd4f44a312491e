package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

// jobsPruneOptions are the options of podtemplate jobs prune.
type jobsPruneOptions struct {
	daemon *daemonFlags
	stack  string
}

func newJobsPruneCommand(a *app, daemon *daemonFlags) *cobra.Command {
	opts := jobsPruneOptions{daemon: daemon}
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS] STACK",
		Short: "Remove the stack's finished job services",
		Long: `Removes finished job services: never running jobs, never services that are
not jobs. Prints the names of the services removed.`,
		Args:                  exactArgs(1, "jobs prune takes only a STACK"),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.stack = args[0]
			return runJobsPrune(cmd.Context(), a, &opts)
		},
	}
	return cmd
}

func runJobsPrune(ctx context.Context, a *app, opts *jobsPruneOptions) error {
	client, err := opts.daemon.connect(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	removed, err := client.Prune(ctx, opts.stack)
	if err != nil {
		return err
	}
	for _, name := range removed {
		fmt.Fprintln(a.stdout, name)
	}
	if len(removed) == 0 {
		fmt.Fprintln(a.stderr, "no finished jobs to prune")
	}
	return nil
}
