package inputs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/podtemplate/podtemplate/transform/diag"
)

// The --set family reads values the way Helm's --set does (its pkg/strvals
// is the model), so that Helm users get what they expect:
//
//	--set a=1,b.c=x        several keys in one flag, nested with "."
//	--set list[0]=x        a list item (missing items before it are null)
//	--set list={a,b}       a whole list
//	--set a\.b=1           "\" escapes ".", ",", "=", "[" and itself
//
// --set types only true, false, null (any case) and integers written
// without a leading zero; everything else - 1.10, 0123, 1e5, a git hash -
// stays the string it was given. --set-string never types; --set-file
// KEY=PATH takes the file's content as a string; --set-json KEY=JSON takes
// a JSON value. Like Helm, the flags apply by kind, in this order: the
// --set-json values, then --set, then --set-string, then --set-file; later
// values of the same key win.

// maxSetIndex bounds list indexes, so --set a[99999999]=x cannot allocate
// a huge list.
const maxSetIndex = 65536

// maxSetDepth bounds key nesting.
const maxSetDepth = 30

// SetValues are the --set family's flag values, each in command-line order.
type SetValues struct {
	Set    []string // --set KEY=VALUE[,KEY=VALUE]...
	String []string // --set-string: values are never typed
	File   []string // --set-file KEY=PATH: the file's content
	JSON   []string // --set-json KEY=JSON
}

// ParseSet reads one --set value (KEY=VALUE[,KEY=VALUE]...) into a nested
// mapping, with Helm's rules. A malformed value is a *FlagError.
func ParseSet(s string) (map[string]any, error) {
	dest := map[string]any{}
	if err := parseSetInto(dest, "set", s, typedValue, ""); err != nil {
		return nil, err
	}
	return dest, nil
}

// Parse applies every value to one mapping, in Helm's order; relative
// --set-file paths are taken from cwd.
func (v SetValues) Parse(cwd string) (map[string]any, error) {
	dest := map[string]any{}
	for _, s := range v.JSON {
		if err := parseSetInto(dest, "set-json", s, nil, ""); err != nil {
			return nil, err
		}
	}
	for _, s := range v.Set {
		if err := parseSetInto(dest, "set", s, typedValue, ""); err != nil {
			return nil, err
		}
	}
	for _, s := range v.String {
		if err := parseSetInto(dest, "set-string", s, stringValue, ""); err != nil {
			return nil, err
		}
	}
	for _, s := range v.File {
		if err := parseSetInto(dest, "set-file", s, fileValue, cwd); err != nil {
			return nil, err
		}
	}
	return dest, nil
}

// typedValue is Helm's typing of a --set value.
func typedValue(raw, _ string) (any, error) {
	switch {
	case strings.EqualFold(raw, "true"):
		return true, nil
	case strings.EqualFold(raw, "false"):
		return false, nil
	case strings.EqualFold(raw, "null"):
		return nil, nil
	case raw == "0":
		return 0, nil
	case raw != "" && raw[0] != '0':
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
			return int(n), nil
		}
	}
	return raw, nil
}

func stringValue(raw, _ string) (any, error) { return raw, nil }

// fileValue reads the file a --set-file value names.
func fileValue(raw, cwd string) (any, error) {
	if raw == "" {
		return nil, errors.New("expected KEY=PATH")
	}
	// Like an --args-file: a regular file of bounded size.
	data, err := readInput(cwd, raw, "the --set-file file")
	if err != nil {
		return nil, err
	}
	return string(data), nil
}

// setSegment is one step of a key path: a mapping key or a list index.
type setSegment struct {
	key   string
	index int
	isIdx bool
}

// setParser reads one flag value.
type setParser struct {
	in    []rune
	pos   int
	value func(raw, cwd string) (any, error) // nil: the value is JSON
	cwd   string
}

func parseSetInto(dest map[string]any, flag, s string, value func(raw, cwd string) (any, error), cwd string) error {
	p := &setParser{in: []rune(s), value: value, cwd: cwd}
	fail := func(msg string) error { return &FlagError{Flag: flag, Value: s, Msg: msg} }
	if len(p.in) == 0 {
		return fail("expected KEY=VALUE")
	}
	for p.pos < len(p.in) {
		path, err := p.path()
		if err != nil {
			return fail(err.Error())
		}
		v, err := p.val()
		if err != nil {
			var de *diag.Error
			if errors.As(err, &de) {
				return err
			}
			return fail(err.Error())
		}
		setPath(dest, path, v)
	}
	return nil
}

// until reads up to one of the stop runes (consumed, and returned) or the
// end (0), honouring "\" escapes.
func (p *setParser) until(stop string) (string, rune) {
	var b strings.Builder
	for p.pos < len(p.in) {
		r := p.in[p.pos]
		p.pos++
		switch {
		case r == '\\' && p.pos < len(p.in):
			b.WriteRune(p.in[p.pos])
			p.pos++
		case strings.ContainsRune(stop, r):
			return b.String(), r
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), 0
}

// path reads KEY, KEY.SUB, KEY[N]... up to and including "=".
func (p *setParser) path() ([]setSegment, error) {
	name, stop := p.until("=[,.")
	if name == "" {
		return nil, errors.New("empty key: expected KEY=VALUE, KEY.SUB=VALUE or KEY[N]=VALUE")
	}
	path := []setSegment{{key: name}}
	for {
		if len(path) > maxSetDepth {
			return nil, fmt.Errorf("keys nested deeper than %d levels", maxSetDepth)
		}
		switch stop {
		case 0:
			return nil, fmt.Errorf("key %s has no value: expected KEY=VALUE", shortQuote(pathString(path)))
		case ',':
			return nil, fmt.Errorf("key %q has no value (a value cannot end with ,)", pathString(path))
		case '=':
			return path, nil
		case '[':
			text, end := p.until("]")
			if end == 0 {
				return nil, errors.New("list index without ]")
			}
			i, err := strconv.Atoi(text)
			if err != nil || i < 0 {
				return nil, fmt.Errorf("list index %q: expected a number 0 or more", text)
			}
			if i > maxSetIndex {
				return nil, fmt.Errorf("list index %d is over the limit of %d", i, maxSetIndex)
			}
			path = append(path, setSegment{index: i, isIdx: true})
			if name, stop = p.until("=[,."); name != "" {
				return nil, fmt.Errorf("unexpected %q after %s", name, pathString(path))
			}
		case '.':
			if name, stop = p.until("=[,."); name == "" {
				return nil, fmt.Errorf("empty key after %q", pathString(path)+".")
			}
			path = append(path, setSegment{key: name})
		}
	}
}

func pathString(path []setSegment) string {
	var b strings.Builder
	for i, s := range path {
		if s.isIdx {
			fmt.Fprintf(&b, "[%d]", s.index)
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.key)
	}
	return b.String()
}

// val reads a value and the "," after it, if any.
func (p *setParser) val() (any, error) {
	if p.value == nil {
		return p.jsonVal()
	}
	if p.pos < len(p.in) && p.in[p.pos] == '{' {
		p.pos++
		list := []any{}
		for {
			item, stop := p.until(",}")
			if stop == 0 {
				return nil, errors.New("a list must end with }")
			}
			v, err := p.value(item, p.cwd)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
			if stop == '}' {
				break
			}
		}
		if p.pos < len(p.in) {
			if p.in[p.pos] != ',' {
				return nil, fmt.Errorf("unexpected %s after a list", shortQuote(string(p.in[p.pos:])))
			}
			p.pos++
		}
		return list, nil
	}
	raw, _ := p.until(",")
	return p.value(raw, p.cwd)
}

// jsonVal reads one JSON value (empty means null) and the "," after it.
func (p *setParser) jsonVal() (any, error) {
	p.skipSpace()
	if p.pos == len(p.in) || p.in[p.pos] == ',' {
		p.pos = min(p.pos+1, len(p.in))
		return nil, nil
	}
	rest := []byte(string(p.in[p.pos:]))
	dec := json.NewDecoder(bytes.NewReader(rest))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	p.pos += len([]rune(string(rest[:dec.InputOffset()])))
	p.skipSpace()
	if p.pos < len(p.in) {
		if p.in[p.pos] != ',' {
			return nil, fmt.Errorf("unexpected %s after the JSON value", shortQuote(string(p.in[p.pos:])))
		}
		p.pos++
	}
	return jsonNumbers(v)
}

func (p *setParser) skipSpace() {
	for p.pos < len(p.in) && unicode.IsSpace(p.in[p.pos]) {
		p.pos++
	}
}

// jsonNumbers turns json.Numbers into int where they are integers, else
// float64, as a YAML args file would give them. A number no float64 holds
// (1e999) is an error, as it is to Helm's --set-json, rather than an
// infinity no template could print.
func jsonNumbers(v any) (any, error) {
	switch v := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(v.String(), 10, 64); err == nil {
			return int(n), nil
		}
		f, err := v.Float64()
		if err != nil {
			return nil, fmt.Errorf("number %s is out of range", v)
		}
		return f, nil
	case map[string]any:
		for k, x := range v {
			n, err := jsonNumbers(x)
			if err != nil {
				return nil, err
			}
			v[k] = n
		}
	case []any:
		for i, x := range v {
			n, err := jsonNumbers(x)
			if err != nil {
				return nil, err
			}
			v[i] = n
		}
	}
	return v, nil
}

// setPath sets v at path in dest, creating mappings and lists on the way;
// a value in the way of a deeper key is replaced, as a later flag wins.
func setPath(dest map[string]any, path []setSegment, v any) {
	var into func(container any, path []setSegment) any
	into = func(container any, path []setSegment) any {
		seg := path[0]
		if seg.isIdx {
			list, _ := container.([]any)
			if len(list) <= seg.index {
				grown := make([]any, seg.index+1)
				copy(grown, list)
				list = grown
			}
			if len(path) == 1 {
				list[seg.index] = v
			} else {
				list[seg.index] = into(list[seg.index], path[1:])
			}
			return list
		}
		m, ok := container.(map[string]any)
		if !ok {
			m = map[string]any{}
		}
		if len(path) == 1 {
			m[seg.key] = v
		} else {
			m[seg.key] = into(m[seg.key], path[1:])
		}
		return m
	}
	into(dest, path)
}
