package swarm

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/podtemplate/podtemplate/internal/duration"
)

// display shows what Follow sees while it follows a stack's jobs. There
// is one per kind of output, as docker/cli's service progress separates
// the judging of tasks from their rendering: a live block with one line
// per job on a terminal, and state lines everywhere else (CI logs). Job
// log lines go through the shared output, which keeps them apart from the
// display.
type display interface {
	// note prints a message about the stack (a job not waited for, a
	// stack without jobs).
	note(format string, a ...any)
	// changed reports a job whose state changed and is not final yet.
	changed(t *tracker)
	// finished reports a job whose run ended, after its logs.
	finished(t *tracker)
	// refresh redraws whatever shows every job at once.
	refresh()
	// end prints the summary text (possibly empty) below the display.
	end(summary string)
}

// newDisplay picks the display for out: live on a terminal, plain lines
// otherwise. trackers is read under out.mu.
func newDisplay(out *output, trackers *[]*tracker, now func() time.Time) display {
	if out.tty {
		out.progress = func() []string { return progressLines(*trackers, now()) }
		return liveDisplay{out: out}
	}
	return plainDisplay{out: out}
}

// plainDisplay writes one line per state change and per finished job.
type plainDisplay struct{ out *output }

func (d plainDisplay) note(format string, a ...any) { d.out.status(format, a...) }
func (d plainDisplay) changed(t *tracker)           { d.out.status("%s", stateLine(t)) }
func (d plainDisplay) finished(t *tracker)          { d.out.status("%s", finalLine(t)) }
func (d plainDisplay) refresh()                     {}
func (d plainDisplay) end(summary string)           { d.out.final(summary) }

// liveDisplay keeps a block with one line per job at the bottom of the
// terminal, redrawn as states change; log lines scroll above it.
type liveDisplay struct{ out *output }

func (d liveDisplay) note(string, ...any) {}
func (d liveDisplay) changed(*tracker)    {}
func (d liveDisplay) finished(*tracker)   { d.out.redraw() }
func (d liveDisplay) refresh()            { d.out.redraw() }
func (d liveDisplay) end(summary string)  { d.out.final(summary) }

func stateLine(t *tracker) string {
	s := fmt.Sprintf("job %s: %s", t.job.Name, t.res.State)
	if t.res.State == StatePending && t.res.Err != "" {
		s += " (" + oneLine(t.res.Err) + ")"
	}
	if t.rerun && t.res.State == StateRunning {
		s += " (definition unchanged, but Swarm re-runs job-mode services on every deploy)"
	}
	return s
}

func finalLine(t *tracker) string {
	r := t.res
	name := t.job.Name
	prefix := "job " + name + ": "
	if t.unchanged && !t.rerun {
		prefix += "unchanged, "
	}
	switch r.State {
	case StateCompleted:
		return fmt.Sprintf("%scompleted (exit 0) in %s", prefix, duration.Elapsed(r.Duration))
	case StateFailed:
		if r.ExitCode < 0 {
			// No exit code: the task was lost with its node, shut down,
			// or never started; the error says which.
			s := fmt.Sprintf("%sfailed in %s", prefix, duration.Elapsed(r.Duration))
			if r.Err != "" {
				s += ": " + oneLine(r.Err)
			}
			return s
		}
		return fmt.Sprintf("%sfailed (exit %d) in %s", prefix, r.ExitCode, duration.Elapsed(r.Duration))
	case StateRejected:
		return fmt.Sprintf("%srejected: %s", prefix, oneLine(r.Err))
	case StateTimedOut:
		return fmt.Sprintf("%stimed out after %s", prefix, t.timeout)
	}
	s := prefix + string(r.State)
	if r.Err != "" {
		s += ": " + oneLine(r.Err)
	}
	return s
}

// progressLines renders the live display: one line per job.
func progressLines(trackers []*tracker, now time.Time) []string {
	width := 0
	for _, t := range trackers {
		if len(t.job.Name) > width {
			width = len(t.job.Name)
		}
	}
	lines := make([]string, 0, len(trackers))
	for _, t := range trackers {
		r := t.res
		state := string(r.State)
		if state == "" {
			state = string(StatePending)
		}
		mark := "…"
		switch r.State {
		case StateCompleted:
			mark = "✔"
		case StateFailed, StateRejected, StateTimedOut, StateRemoved:
			mark = "✘"
		case StateRunning:
			mark = "▶"
		}
		detail := ""
		switch {
		case r.State == StateCompleted:
			detail = "exit 0"
		case r.State.Final() && r.ExitCode >= 0:
			detail = "exit " + strconv.Itoa(r.ExitCode)
		case r.Err != "":
			detail = oneLine(r.Err)
		}
		if t.unchanged && !t.rerun {
			detail = strings.TrimSpace("unchanged " + detail)
		}
		elapsed := r.Duration
		if !r.State.Final() {
			from := r.Started
			if from.IsZero() {
				elapsed = 0
			} else {
				elapsed = now.Sub(from)
			}
		}
		lines = append(lines, fmt.Sprintf("%s %-*s  %-10s %7s  %s", mark, width, t.job.Name, state, duration.Elapsed(elapsed), detail))
	}
	return lines
}
