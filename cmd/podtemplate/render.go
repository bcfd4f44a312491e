package main

import (
	"context"
	"path/filepath"

	"github.com/podtemplate/podtemplate/internal/fileio"
	"github.com/podtemplate/podtemplate/transform/emit"
	"github.com/spf13/cobra"
)

// renderOptions are the options of podtemplate render.
type renderOptions struct {
	renderFlags
	positional []string
	output     string
	format     string
}

func newRenderCommand(a *app) *cobra.Command {
	var opts renderOptions
	cmd := &cobra.Command{
		Use:   "render [OPTIONS] [FILE]...",
		Short: "Compile stack files into a plain stack file",
		Long: `Reads Compose files, expands the templates named by x-podlike and x-jobs,
and writes a stack file for docker stack deploy to stdout (or OUT).`,
		Example: `  podtemplate render -c stack.yml -o stack.out.yml
  podtemplate render stack.yml --set Sidecar.Tag=1.10 | docker stack deploy -c - shop`,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.positional = args
			return runRender(cmd.Context(), a, &opts)
		},
	}
	flags := cmd.Flags()
	flags.SortFlags = false
	opts.renderFlags.register(flags)
	flags.StringVarP(&opts.output, "output", "o", "", "write to this file (atomically, creating its folder) instead of stdout")
	flags.StringVar(&opts.format, "format", "yaml", "output format: yaml or json")
	_ = cmd.MarkFlagFilename("compose-file", "yaml", "yml")
	return cmd
}

func runRender(ctx context.Context, a *app, opts *renderOptions) error {
	if opts.format != "yaml" && opts.format != "json" {
		return usagef("--format %q: expected yaml or json", opts.format)
	}
	topts, err := opts.renderFlags.options(a, opts.positional, false)
	if err != nil {
		return err
	}
	topts.Format = emit.Format(opts.format)
	if opts.output != "" {
		abs, err := filepath.Abs(opts.output)
		if err != nil {
			return err
		}
		topts.OutDir = filepath.Dir(abs)
	}
	res, err := renderStack(ctx, topts, renderThenExit)
	if err != nil {
		return err
	}
	if opts.output == "" {
		_, err := a.stdout.Write(res.Output)
		return err
	}
	return fileio.WriteOutput(opts.output, res.Output)
}
