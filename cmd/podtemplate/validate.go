package main

import (
	"context"
	"fmt"

	"github.com/podtemplate/podtemplate/transform"
	"github.com/spf13/cobra"
)

// validateOptions are the options of podtemplate validate.
type validateOptions struct {
	renderFlags
	positional []string
	quiet      bool
}

func newValidateCommand(a *app) *cobra.Command {
	var opts validateOptions
	cmd := &cobra.Command{
		Use:   "validate [OPTIONS] [FILE]...",
		Short: "Check stack files and templates; report every problem",
		Long: `Renders the stack without writing it and reports every problem found.
Exits 1 if there is any.`,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.positional = args
			return runValidate(cmd.Context(), a, &opts)
		},
	}
	flags := cmd.Flags()
	flags.SortFlags = false
	opts.renderFlags.register(flags)
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "print nothing when the stack is valid")
	_ = cmd.MarkFlagFilename("compose-file", "yaml", "yml")
	return cmd
}

func runValidate(ctx context.Context, a *app, opts *validateOptions) error {
	topts, err := opts.renderFlags.options(a, opts.positional, false)
	if err != nil {
		return err
	}
	res, err := transform.Render(ctx, topts)
	if err != nil {
		return err
	}
	if !opts.quiet {
		fmt.Fprintf(a.stderr, "ok: %d services, %d pods, %d jobs\n", countServices(res), len(res.Pods), len(res.Jobs))
	}
	return nil
}
