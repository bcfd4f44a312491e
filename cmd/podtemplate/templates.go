package main

import (
	"github.com/spf13/cobra"
)

// newTemplatesCommand groups the commands on the built-in template library.
func newTemplatesCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "templates COMMAND",
		Short:                 "List or show the built-in template library",
		Long:                  `The built-in templates are used from a stack as builtin:NAME.`,
		Args:                  noSubCommand,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("templates needs a sub-command: ls or show NAME")
		},
	}
	cmd.AddCommand(newTemplatesListCommand(a), newTemplatesShowCommand(a))
	return cmd
}
