package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/podtemplate/podtemplate/templates"
)

func init() {
	register(&command{
		name:    "templates",
		summary: "list or show the built-in template library",
		usage: `Usage: podtemplate templates ls
       podtemplate templates show NAME

The built-in templates are used from a stack as builtin:NAME.
`,
		run: runTemplates,
	})
}

func runTemplates(ctx context.Context, a *app, args []string) error {
	c := commands["templates"]
	fs := newFlagSet(c)
	if err := parseFlags(c, fs, a, args); err != nil {
		return err
	}
	args = fs.Args()
	if len(args) == 0 {
		return usagef("templates needs a sub-command: ls or show NAME")
	}
	switch args[0] {
	case "ls", "list":
		if len(args) != 1 {
			return usagef("templates ls takes no arguments")
		}
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tKIND\tSUMMARY")
		for _, t := range templates.List() {
			fmt.Fprintf(tw, "%s%s\t%s\t%s\n", templates.Prefix, t.Name, t.Kind, t.Summary)
		}
		return tw.Flush()
	case "show":
		if len(args) != 2 {
			return usagef("templates show takes one NAME")
		}
		name := strings.TrimPrefix(args[1], templates.Prefix)
		text, ok := templates.Get(name)
		if !ok {
			return fmt.Errorf("no built-in template named %q (see podtemplate templates ls)", name)
		}
		_, err := a.stdout.Write(text)
		return err
	}
	return usagef("unknown templates sub-command %q: expected ls or show", args[0])
}
