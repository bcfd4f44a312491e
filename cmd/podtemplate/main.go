// Command podtemplate compiles Compose files with x-podlike and x-jobs
// extension fields into plain Docker Swarm stack files, and deploys them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"sort"

	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/inputs"
	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// usageError marks a command-line mistake (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// exitCodeError carries a specific exit status (run passes the job's on).
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

// command is one sub-command.
type command struct {
	name    string
	summary string
	usage   string
	run     func(ctx context.Context, app *app, args []string) error
}

// app holds the process's streams and global state.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	globalDocker   []string // docker global flags when run as a CLI plugin
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

func main() {
	// compose-go logs through logrus; its warnings are about Compose, not
	// about stack files, and must not reach our users' stderr.
	logrus.SetOutput(io.Discard)
	// A render's live heap is mostly the input's node tree: collecting a
	// little more often keeps peak memory near it at little cost in time.
	// GOGC still overrides.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(70)
	}
	// PODTEMPLATE_CPUPROFILE=FILE writes a CPU profile, for reports of slow
	// renders.
	if path := os.Getenv("PODTEMPLATE_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				code := run(os.Args, &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr})
				pprof.StopCPUProfile()
				f.Close()
				os.Exit(code)
			}
		}
	}
	os.Exit(run(os.Args, &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}))
}

func run(argv []string, a *app) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(a.stderr, "error: internal error: %v (please report this with the input that caused it)\n", r)
			code = exitError
		}
	}()
	args, handled, code := pluginArgs(argv, a)
	if handled {
		return code
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 && args[0] == "help" {
			if c, ok := commands[args[1]]; ok {
				return report(a.stderr, c, c.run(context.Background(), a, []string{"--help"}))
			}
		}
		printUsage(a.stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "--version" {
		args[0] = "version"
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(a.stderr, "error: unknown command %q\n\n", args[0])
		printUsage(a.stderr)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := c.run(ctx, a, args[1:])
	return report(a.stderr, c, err)
}

func report(w io.Writer, c *command, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	var fe *inputs.FlagError
	if errors.As(err, &fe) {
		err = usagef("%s", fe)
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(w, "error: %s\nRun 'podtemplate help %s' for usage.\n", ue.msg, c.name)
		return exitUsage
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(w, "error: interrupted")
		return 130
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		if ec.err != nil {
			printErrors(w, ec.err)
		}
		return ec.code
	}
	printErrors(w, err)
	return exitError
}

func printErrors(w io.Writer, err error) {
	var list diag.List
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Fprintf(w, "error: %s\n", e)
		}
		if len(list) > 1 {
			fmt.Fprintf(w, "%d problems found\n", len(list))
		}
		return
	}
	fmt.Fprintf(w, "error: %s\n", err)
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `podtemplate compiles Compose files with x-podlike and x-jobs into Docker Swarm stack files.

Usage:
  podtemplate COMMAND [OPTIONS]

Commands:
`)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, "\nRun 'podtemplate help COMMAND' or 'podtemplate COMMAND --help' for a command's options.\n")
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(c *command) *pflag.FlagSet {
	fs := pflag.NewFlagSet(c.name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.Usage = func() {}
	fs.BoolP("help", "h", false, "show this help")
	return fs
}

// parseFlags parses args and turns flag errors into usage errors; with
// --help it prints the usage and returns pflag.ErrHelp.
func parseFlags(c *command, fs *pflag.FlagSet, a *app, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			printCommandHelp(c, fs, a.stdout)
			return pflag.ErrHelp
		}
		return usagef("%s", err)
	}
	if h, _ := fs.GetBool("help"); h {
		printCommandHelp(c, fs, a.stdout)
		return pflag.ErrHelp
	}
	return nil
}

func printCommandHelp(c *command, fs *pflag.FlagSet, w io.Writer) {
	fmt.Fprint(w, c.usage)
	fmt.Fprintf(w, "\nOptions:\n%s", fs.FlagUsagesWrapped(100))
}
