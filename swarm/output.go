package swarm

import (
	"fmt"
	"io"
	"strings"
	"sync"
)

// output serialises everything Follow writes: job log lines (to out and
// err), status lines and, on a terminal, the live display's block kept at
// the bottom and redrawn with ANSI escapes.
type output struct {
	mu       sync.Mutex
	out      io.Writer // job stdout
	err      io.Writer // job stderr
	statusW  io.Writer // status lines, progress, summary
	tty      bool
	drawn    int             // progress lines currently on screen
	progress func() []string // current progress lines (tty only)
	width    int             // prefix width
}

func newOutput(out, errw, status io.Writer, tty bool) *output {
	if out == nil {
		out = io.Discard
	}
	if errw == nil {
		errw = out
	}
	if status == nil {
		status = out
	}
	return &output{out: out, err: errw, statusW: status, tty: tty}
}

// clear removes the progress block (caller holds mu).
func (o *output) clear() {
	if o.tty && o.drawn > 0 {
		fmt.Fprintf(o.statusW, "\x1b[%dA\x1b[J", o.drawn)
		o.drawn = 0
	}
}

// draw prints the progress block (caller holds mu).
func (o *output) draw() {
	if !o.tty || o.progress == nil {
		return
	}
	lines := o.progress()
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("\x1b[2K")
		b.WriteString(l)
		b.WriteString("\n")
	}
	io.WriteString(o.statusW, b.String())
	o.drawn = len(lines)
}

// redraw refreshes the progress block.
func (o *output) redraw() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.clear()
	o.draw()
}

// logLine prints one line of a job's output with its prefix.
func (o *output) logLine(stderr bool, name, text string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.clear()
	w := o.out
	if stderr {
		w = o.err
	}
	fmt.Fprintf(w, "%-*s | %s\n", o.width, name, text)
	o.draw()
}

// status prints a line on the status writer.
func (o *output) status(format string, a ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.clear()
	fmt.Fprintf(o.statusW, format+"\n", a...)
	o.draw()
}

// final prints text below the progress block, which stays on screen.
func (o *output) final(text string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.clear()
	o.draw()
	o.drawn = 0
	io.WriteString(o.statusW, text)
}
