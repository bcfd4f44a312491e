package main

import (
	"github.com/spf13/cobra"
)

// newJobsCommand groups the commands on a deployed stack's jobs. The
// daemon flags (-H, --context) are common to all of them.
func newJobsCommand(a *app) *cobra.Command {
	var daemon daemonFlags
	cmd := &cobra.Command{
		Use:   "jobs COMMAND",
		Short: "List, show logs of, wait for or prune a deployed stack's jobs",
		Long: `ls lists the jobs with their state and exit codes; logs prints their logs;
wait follows their current runs to the end (exit 1 if any did not
complete); prune removes finished job services (never running jobs, never
services that are not jobs).`,
		Args:                  noSubCommand,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("jobs needs a sub-command (ls, logs, wait or prune) and a STACK")
		},
	}
	daemon.register(cmd.PersistentFlags())
	cmd.AddCommand(
		newJobsListCommand(a, &daemon),
		newJobsLogsCommand(a, &daemon),
		newJobsWaitCommand(a, &daemon),
		newJobsPruneCommand(a, &daemon),
	)
	return cmd
}
