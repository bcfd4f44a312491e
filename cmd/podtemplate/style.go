package main

import (
	"io"
	"os"
	"strings"

	"github.com/moby/term"
)

// isTerminal reports whether w is a terminal. It asks the terminal driver
// (a character device such as /dev/null is not a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}

// colourOn says whether to colour what goes to w: only on a terminal, and
// never when NO_COLOR is set to anything (https://no-color.org).
func colourOn(w io.Writer) bool {
	if _, set := os.LookupEnv("NO_COLOR"); set {
		return false
	}
	return isTerminal(w)
}

// style colours text for a terminal, or leaves it as it is.
type style struct{ on bool }

func newStyle(w io.Writer) style { return style{on: colourOn(w)} }

func (s style) wrap(code, text string) string {
	if !s.on || text == "" {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

func (s style) bold(text string) string { return s.wrap("1", text) }
func (s style) red(text string) string  { return s.wrap("31", text) }

// diff colours a unified diff line by line.
func (s style) diff(text string) string {
	if !s.on {
		return text
	}
	lines := strings.SplitAfter(text, "\n")
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "---"), strings.HasPrefix(l, "+++"):
			lines[i] = s.wrap("1", strings.TrimSuffix(l, "\n")) + "\n"
		case strings.HasPrefix(l, "@@"):
			lines[i] = s.wrap("36", strings.TrimSuffix(l, "\n")) + "\n"
		case strings.HasPrefix(l, "-"):
			lines[i] = s.wrap("31", strings.TrimSuffix(l, "\n")) + "\n"
		case strings.HasPrefix(l, "+"):
			lines[i] = s.wrap("32", strings.TrimSuffix(l, "\n")) + "\n"
		}
	}
	return strings.Join(lines, "")
}
