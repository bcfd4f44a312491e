// Command podtemplate compiles Compose files with x-podlike and x-jobs
// extension fields into plain Docker Swarm stack files, and deploys them.
//
// The command line is built with cobra the way docker/cli builds its
// commands (cli/command/stack): one file per sub-command, each with an
// options struct, a newXCommand function that binds the flags and a runX
// function that does the work.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	// Its initialiser runs before the dependencies' (it imports syscall
	// alone), which fault in most of a start-up's memory.
	_ "github.com/podtemplate/podtemplate/internal/prefault/startup"

	"github.com/podtemplate/podtemplate/internal/fileio"
	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/inputs"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
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

// errSilentUsage is a usage error whose explanation was already printed.
var errSilentUsage = errors.New("usage")

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

func (e *exitCodeError) Unwrap() error { return e.err }

// app holds the process's streams and global state.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	globalDocker   []string // docker global flags when run as a CLI plugin
	asPlugin       bool     // run as docker-podtemplate: usage says "docker podtemplate"
	started        bool     // a command's own code ran (its errors are not usage errors)
}

func main() {
	// compose-go logs through logrus; its warnings are about Compose, not
	// about stack files, and must not reach our users' stderr.
	logrus.SetOutput(io.Discard)
	// net/http logs through the standard logger, for instance a server's
	// bytes beyond its Content-Length: text a server controls must not
	// reach stderr.
	log.SetOutput(io.Discard)
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

// run runs the command line argv (argv[0] is the program) and returns the
// exit status.
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
	if len(args) > 0 && args[0] == "--version" {
		args = append([]string{"version"}, args[1:]...)
	}
	root := newRootCommandFor(a, args)
	root.SetArgs(args)
	ctx := context.Background()
	if target, _, err := root.Find(args); err != nil || target.Annotations[quickAnnotation] == "" {
		var stop func()
		ctx, stop = cancelOnSignal(a.stderr)
		defer stop()
	}
	cmd, err := root.ExecuteContextC(ctx)
	return report(a, cmd, err)
}

// quickAnnotation marks a command that returns at once and needs no
// Ctrl-C handling (version): watching signals starts a goroutine on a
// thread of its own, 0.05 to 0.25 ms of a start-up.
const quickAnnotation = "podtemplate-quick"

// report prints err as the CLI shows errors and returns the exit status.
func report(a *app, cmd *cobra.Command, err error) int {
	w := a.stderr
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errSilentUsage) {
		return exitUsage
	}
	var fe *inputs.FlagError
	if errors.As(err, &fe) {
		err = usagef("%s", fe)
	}
	var ue *usageError
	if errors.As(err, &ue) || !a.started {
		msg := err.Error()
		if ue != nil {
			msg = ue.msg
		}
		fmt.Fprintf(w, "%s %s\nRun '%s' for usage.\n", errorPrefix(w), msg, helpCommandLine(cmd))
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
	prefix := errorPrefix(w)
	var list diag.List
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Fprintf(w, "%s %s\n", prefix, terminalSafe(e.Error()))
		}
		if len(list) > 1 {
			fmt.Fprintf(w, "%d problems found\n", len(list))
		}
		return
	}
	fmt.Fprintf(w, "%s %s\n", prefix, terminalSafe(err.Error()))
}

// terminalSafe escapes the control characters of a message but line
// breaks and tabs: a template from another team can put text in an error
// (fail, required), and an escape sequence there would drive the user's
// terminal (colour, title, cursor) instead of being shown.
func terminalSafe(s string) string {
	i := strings.IndexFunc(s, isControl)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		if isControl(r) {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool {
	return r != '\n' && r != '\t' && (r < 0x20 || r >= 0x7f && r < 0xa0)
}

// errorPrefix is "error:", in red on a terminal.
func errorPrefix(w io.Writer) string { return newStyle(w).red("error:") }

// cancelOnSignal returns a context cancelled by Ctrl-C or SIGTERM, and
// ends the process shortly after the signal if the command has not
// returned by then: a template stuck in a loop without function calls
// cannot be interrupted (text/template has no cancellation point), so the
// command is abandoned. Temporary files are removed first; nothing else
// of a render is on disk. stop releases the signals.
func cancelOnSignal(stderr io.Writer) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-done:
			return
		}
		select {
		case <-done:
			return
		case <-time.After(stuckGrace):
		}
		fileio.Cleanup()
		fmt.Fprintln(stderr, "error: interrupted")
		os.Exit(130)
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

// stuckGrace is how long a cancelled command has to return by itself.
const stuckGrace = 2 * time.Second
