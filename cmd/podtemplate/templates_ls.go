package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/podtemplate/podtemplate/templates"
	"github.com/spf13/cobra"
)

// templatesListOptions are the options of podtemplate templates ls.
type templatesListOptions struct {
	quiet  bool
	format outputFormat
}

func newTemplatesListCommand(a *app) *cobra.Command {
	var opts templatesListOptions
	cmd := &cobra.Command{
		Use:                   "ls [OPTIONS]",
		Aliases:               []string{"list"},
		Short:                 "List the built-in templates",
		Args:                  exactArgs(0, "templates ls takes no arguments"),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTemplatesList(a, &opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.quiet, "quiet", "q", false, "print only the names (builtin:NAME)")
	opts.format.register(cmd.Flags(), "a list of name, kind, summary")
	return cmd
}

// jsonTemplate is one template in templates ls --format json.
type jsonTemplate struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Summary string `json:"summary"`
}

func runTemplatesList(a *app, opts *templatesListOptions) error {
	if err := opts.format.check(); err != nil {
		return err
	}
	if opts.format.json() {
		doc := []jsonTemplate{}
		for _, t := range templates.List() {
			doc = append(doc, jsonTemplate{Name: templates.Prefix + t.Name, Kind: string(t.Kind), Summary: t.Summary})
		}
		return writeJSON(a.stdout, doc)
	}
	if opts.quiet {
		for _, t := range templates.List() {
			fmt.Fprintln(a.stdout, templates.Prefix+t.Name)
		}
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tSUMMARY")
	for _, t := range templates.List() {
		fmt.Fprintf(tw, "%s%s\t%s\t%s\n", templates.Prefix, t.Name, t.Kind, t.Summary)
	}
	return tw.Flush()
}
