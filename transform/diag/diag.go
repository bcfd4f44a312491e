// Package diag holds the error type every compiler stage returns: a message
// with the file, line and column it concerns and the service and template
// involved, so the CLI can print one clear line and never a stack trace.
package diag

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is one problem found in the input.
type Error struct {
	File     string // input file ("-" is shown as <stdin>)
	Line     int    // 1-based; 0 when unknown
	Column   int    // 1-based; 0 when unknown
	Service  string // service concerned, if any
	Template string // template concerned, if any
	Msg      string
	Err      error // wrapped cause, if any
}

// Error formats the problem as "file:line:col: service "s": template "t": msg".
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(displayFile(e.File))
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
			if e.Column > 0 {
				fmt.Fprintf(&b, ":%d", e.Column)
			}
		}
		b.WriteString(": ")
	}
	if e.Service != "" {
		fmt.Fprintf(&b, "service %q: ", e.Service)
	}
	if e.Template != "" {
		fmt.Fprintf(&b, "template %s: ", e.Template)
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		if e.Msg != "" {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func displayFile(f string) string {
	if f == "-" {
		return "<stdin>"
	}
	return f
}

// Pos is a place in an input file.
type Pos struct {
	File   string
	Line   int
	Column int
}

// At returns the position of node n in file.
func At(file string, n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: file}
	}
	return Pos{File: file, Line: n.Line, Column: n.Column}
}

// Errorf builds an Error at pos.
func (p Pos) Errorf(format string, args ...any) *Error {
	return &Error{File: p.File, Line: p.Line, Column: p.Column, Msg: fmt.Sprintf(format, args...)}
}

// Wrap builds an Error at pos wrapping err.
func (p Pos) Wrap(err error, format string, args ...any) *Error {
	return &Error{File: p.File, Line: p.Line, Column: p.Column, Msg: fmt.Sprintf(format, args...), Err: err}
}

// WithService sets the service on e when it has none and returns e.
func (e *Error) WithService(name string) *Error {
	if e.Service == "" {
		e.Service = name
	}
	return e
}

// WithTemplate sets the template on e when it has none and returns e.
func (e *Error) WithTemplate(name string) *Error {
	if e.Template == "" {
		e.Template = name
	}
	return e
}

// List collects several problems; validate reports them all.
type List []error

// Add appends err (flattening lists) and ignores nil.
func (l *List) Add(err error) {
	if err == nil {
		return
	}
	var sub List
	if errors.As(err, &sub) {
		*l = append(*l, sub...)
		return
	}
	*l = append(*l, err)
}

// Err returns nil for an empty list, the only error for one, the list otherwise.
func (l List) Err() error {
	switch len(l) {
	case 0:
		return nil
	case 1:
		return l[0]
	}
	return l
}

// Error joins the problems one per line.
func (l List) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Service returns err with its service set on every *Error it holds.
// It is called on every entry whether it failed or not: for nil it
// returns at once (errors.As would make its targets escape, two
// allocations an entry).
func Service(err error, name string) error {
	if err == nil {
		return nil
	}
	var list List
	if errors.As(err, &list) {
		for _, e := range list {
			Service(e, name)
		}
		return err
	}
	var e *Error
	if errors.As(err, &e) {
		e.WithService(name)
	}
	return err
}

// RedactURL returns raw for messages and file names: credentials in the
// user part (https://user:token@host/...) become "***", and so do query
// values (?private_token=...), which often carry tokens too. Anything that
// does not parse as a URL with a host is returned as it is.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		if i := strings.Index(raw, "@"); i >= 0 && strings.Contains(raw[:i], "://") {
			// Unparsable but holding a user part: drop it.
			j := strings.Index(raw, "://") + 3
			return raw[:j] + "***" + raw[i:]
		}
		return raw
	}
	user := u.User != nil
	u.User = nil
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{"***"}
		}
		u.RawQuery = strings.ReplaceAll(q.Encode(), "%2A%2A%2A", "***")
	}
	s := u.String()
	if user {
		s = strings.Replace(s, "://", "://***@", 1)
	}
	return s
}
