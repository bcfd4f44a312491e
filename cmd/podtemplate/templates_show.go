package main

import (
	"fmt"
	"strings"

	"github.com/podtemplate/podtemplate/templates"
	"github.com/spf13/cobra"
)

func newTemplatesShowCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "show NAME",
		Short:                 "Print a built-in template",
		Args:                  exactArgs(1, "templates show takes one NAME"),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTemplatesShow(a, args[0])
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []string
			for _, t := range templates.List() {
				if strings.HasPrefix(t.Name, strings.TrimPrefix(toComplete, templates.Prefix)) {
					names = append(names, t.Name)
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
	}
	return cmd
}

func runTemplatesShow(a *app, name string) error {
	name = strings.TrimPrefix(name, templates.Prefix)
	text, ok := templates.Get(name)
	if !ok {
		return fmt.Errorf("no built-in template named %q (see podtemplate templates ls)", name)
	}
	_, err := a.stdout.Write(text)
	return err
}
