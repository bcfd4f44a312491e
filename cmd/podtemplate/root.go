package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// commands are the top-level sub-commands, in the order usage lists them.
var commands = []struct {
	name  string
	build func(*app) *cobra.Command
}{
	{"render", newRenderCommand},
	{"validate", newValidateCommand},
	{"deploy", newDeployCommand},
	{"run", newRunCommand},
	{"jobs", newJobsCommand},
	{"templates", newTemplatesCommand},
	{"diff", newDiffCommand},
	{"version", newVersionCommand},
}

// newRootCommand builds the podtemplate command and its sub-commands.
func newRootCommand(a *app) *cobra.Command { return newRoot(a, "") }

// newRootCommandFor builds the command tree that runs args: when args
// start with a sub-command's name, the root holds only that one, since
// building the others (their fifty-odd flags) and the completion command
// cost a tenth of a start-up; any other args (help, completion, flags,
// mistakes cobra suggests names for) get the whole tree.
func newRootCommandFor(a *app, args []string) *cobra.Command {
	if len(args) > 0 && !wholeTree {
		for _, c := range commands {
			if c.name == args[0] {
				return newRoot(a, c.name)
			}
		}
	}
	return newRoot(a, "")
}

// wholeTree makes newRootCommandFor build every command (tests compare).
var wholeTree = false

// newRoot builds the root command with every sub-command, or only the one
// named only.
func newRoot(a *app, only string) *cobra.Command {
	root := &cobra.Command{
		Use:   "podtemplate COMMAND",
		Short: "Compile Compose files with x-podlike and x-jobs into Docker Swarm stack files",
		Long: `podtemplate compiles Compose files with x-podlike and x-jobs into Docker Swarm
stack files, deploys them and follows their jobs.`,
		SilenceErrors:              true,
		SilenceUsage:               true,
		DisableFlagsInUseLine:      true,
		SuggestionsMinimumDistance: 2,
		// Without a command: the usage, and exit status 2.
		RunE: func(cmd *cobra.Command, args []string) error {
			_ = cmd.Help()
			return errSilentUsage
		},
		// Runs after flags and arguments were accepted: from here on, an
		// error is the command's, not a usage mistake.
		PersistentPreRun:  func(cmd *cobra.Command, args []string) { a.started = true },
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
	}
	if a.asPlugin {
		// docker runs us as "docker podtemplate": say so in usage lines.
		root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: "docker podtemplate"}
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usagef("%s", err) })
	root.SetGlobalNormalizationFunc(flagAliases)
	root.SetUsageTemplate(usageTemplate)
	root.SetHelpTemplate(helpTemplate)
	for _, c := range commands {
		if only == "" || c.name == only {
			root.AddCommand(c.build(a))
		}
	}
	if only != "" {
		// cobra would add the completion command, unused here.
		root.CompletionOptions.DisableDefaultCmd = true
		return root
	}
	// cobra adds "completion bash|zsh|fish|powershell" itself; an unknown
	// shell must be a usage error, not its help.
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Args = noSubCommand
			c.RunE = func(cmd *cobra.Command, args []string) error {
				return usagef("completion needs a shell: bash, zsh, fish or powershell")
			}
		}
	}
	return root
}

// flagAliases maps the other names of a flag to the one it is registered
// under: --file (the name before --compose-file) and --values (Helm's
// name for --args-file).
func flagAliases(f *pflag.FlagSet, name string) pflag.NormalizedName {
	switch name {
	case "file":
		name = "compose-file"
	case "values":
		name = "args-file"
	}
	return pflag.NormalizedName(name)
}

// helpCommandLine is the command that shows cmd's usage.
func helpCommandLine(cmd *cobra.Command) string {
	if cmd == nil {
		return "podtemplate --help"
	}
	root := cmd.Root()
	path := strings.TrimSpace(strings.TrimPrefix(cmd.CommandPath(), root.CommandPath()))
	if path == "" {
		return root.CommandPath() + " --help"
	}
	return root.CommandPath() + " help " + path
}

// noSubCommand is the Args check of a command that only groups
// sub-commands (jobs, templates): an unknown sub-command is a usage error
// that suggests the nearest names.
func noSubCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	msg := fmt.Sprintf("unknown %s sub-command %q: expected %s", cmd.Name(), args[0], orList(names))
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf("\n\nDid you mean this?\n\t%s\n", strings.Join(s, "\n\t"))
	}
	return usagef("%s", msg)
}

// orList joins names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// exactArgs is cobra.ExactArgs with podtemplate's message.
func exactArgs(n int, msg string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s", msg)
		}
		return nil
	}
}

// The help layout follows docker's: Usage, description, commands, options.
const usageTemplate = `Usage:
{{- if .Runnable}}  {{.UseLine}}{{end}}
{{- if and .HasAvailableSubCommands (not .Runnable)}}  {{.CommandPath}} COMMAND{{end}}
{{- if gt (len .Aliases) 0}}

Aliases:
  {{.NameAndAliases}}{{end}}
{{- if .HasExample}}

Examples:
{{.Example}}{{end}}
{{- if .HasAvailableSubCommands}}

Commands:
{{- range .Commands}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding}} {{.Short}}{{end}}{{end}}{{end}}
{{- if .HasAvailableLocalFlags}}

Options:
{{.LocalFlags.FlagUsagesWrapped 100 | trimTrailingWhitespaces}}{{end}}
{{- if .HasAvailableInheritedFlags}}

Global options:
{{.InheritedFlags.FlagUsagesWrapped 100 | trimTrailingWhitespaces}}{{end}}
{{- if .HasAvailableSubCommands}}

Run '{{.CommandPath}} COMMAND --help' for more information on a command.{{end}}
`

const helpTemplate = `{{with (or .Long .Short)}}{{. | trimTrailingWhitespaces}}

{{end}}{{if or .Runnable .HasSubCommands}}{{.UsageString}}{{end}}`

// minArgs is cobra.MinimumNArgs with podtemplate's message.
func minArgs(n int, msg string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usagef("%s", msg)
		}
		return nil
	}
}
