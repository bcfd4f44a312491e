package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/podtemplate/podtemplate/transform"
	"github.com/podtemplate/podtemplate/transform/inputs"
	"github.com/spf13/cobra"
)

// validateOptions are the options of podtemplate validate.
type validateOptions struct {
	renderFlags
	positional []string
	quiet      bool
	format     outputFormat
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
	opts.format.register(flags, "every problem with file, line, column, service and template, on stdout")
	_ = cmd.MarkFlagFilename("compose-file", "yaml", "yml")
	return cmd
}

func runValidate(ctx context.Context, a *app, opts *validateOptions) error {
	if err := opts.format.check(); err != nil {
		return err
	}
	topts, err := opts.renderFlags.options(a, opts.positional, false)
	if err != nil {
		return err
	}
	topts.KeepGoing = true
	res, err := renderStack(ctx, topts, renderThenExit)
	if opts.format.json() {
		return validateJSON(a, res, err)
	}
	if err != nil {
		return err
	}
	if !opts.quiet {
		fmt.Fprintf(a.stderr, "ok: %d services, %d pods, %d jobs\n", countServices(res), len(res.Pods), len(res.Jobs))
	}
	return nil
}

// validateJSON prints the validation as JSON. Problems with the stack are
// in the document (exit 1); a command-line mistake or an interruption is
// still an error on stderr.
func validateJSON(a *app, res *transform.Result, err error) error {
	var fe *inputs.FlagError
	if errors.As(err, &fe) || errors.Is(err, context.Canceled) {
		return err
	}
	doc := jsonValidation{Valid: err == nil, Problems: []jsonProblem{}}
	if err != nil {
		doc.Problems = problems(err)
	} else {
		doc.Services, doc.Pods, doc.Jobs = countServices(res), len(res.Pods), len(res.Jobs)
	}
	if werr := writeJSON(a.stdout, doc); werr != nil {
		return werr
	}
	if err != nil {
		return &exitCodeError{code: exitError}
	}
	return nil
}
