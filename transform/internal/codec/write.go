package codec

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// Write appends n as block-style YAML (two-space indent, the layout yaml.v3
// writes with SetIndent(2)) to b. It exists because yaml.v3's emitter is the
// costliest step of rendering thousands of services; where n holds
// something it does not handle, it uses yaml.v3 for the whole node, so the
// result is always valid YAML with n's meaning.
func Write(b *bytes.Buffer, n *yaml.Node) error {
	return WriteIndented(b, n, 0)
}

// WriteIndented is Write with every line indented by indent spaces, as a
// block nested that deep (a service under services:).
func WriteIndented(b *bytes.Buffer, n *yaml.Node, indent int) error {
	return WriteStyled(b, n, indent, Style{})
}

// Style is the layout of a block document: how far a nested mapping is
// indented, and how far a sequence under a mapping key (0: the dashes at
// the key's column). The zero Style is yaml.v3's, two and two.
type Style struct {
	Indent    int
	SeqIndent int
}

func (st Style) orDefault() Style {
	if st.Indent <= 0 {
		return Style{Indent: 2, SeqIndent: 2}
	}
	if st.SeqIndent < 0 {
		st.SeqIndent = st.Indent
	}
	return st
}

// WriteStyled is WriteIndented in layout st. Where n holds something the
// writer does not handle, yaml.v3 writes it with st's mapping indent.
func WriteStyled(b *bytes.Buffer, n *yaml.Node, indent int, st Style) error {
	st = st.orDefault()
	ok, err := supported(n)
	if err != nil {
		return err
	}
	if ok {
		// The writer appends to b's free space (growing it as append
		// does), which b then takes: a call a token to b's methods cost
		// more than the appends.
		w := writer{buf: b.AvailableBuffer(), step: st.Indent, seq: st.SeqIndent}
		w.node(n, indent, false)
		b.Write(w.buf)
		return nil
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(st.Indent)
	if err := enc.Encode(n); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	pad := strings.Repeat(" ", indent)
	for _, line := range bytes.SplitAfter(out.Bytes(), []byte("\n")) {
		if len(line) > 1 {
			b.WriteString(pad)
		}
		b.Write(line)
	}
	return nil
}

// supported reports whether the writer handles n, and whether n is
// malformed: no text can hold it, so neither writer may write it.
func supported(n *yaml.Node) (bool, error) {
	if n == nil {
		return false, nil
	}
	if err := malformedHere(n); err != nil {
		return false, err
	}
	ok := supportedHere(n)
	for _, c := range n.Content {
		if c == nil {
			return false, errors.New("a collection node holds a missing node")
		}
		if plainLeaf(c) {
			continue // most nodes: nothing to check, no call
		}
		cok, err := supported(c)
		if err != nil {
			return false, err
		}
		ok = ok && cok
	}
	return ok, nil
}

// plainLeaf reports whether n is a scalar that is well formed and that
// the writer handles: what supported finds for most nodes, in short.
func plainLeaf(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && len(n.Content) == 0 && n.Anchor == "" && n.FootComment == "" &&
		n.Style&(yaml.TaggedStyle|yaml.FlowStyle) == 0 && (n.Tag == "" || strings.HasPrefix(n.Tag, "!!"))
}

// supportedHere reports whether the writer handles n itself (not its
// children).
func supportedHere(n *yaml.Node) bool {
	if n.Anchor != "" || n.Kind == yaml.AliasNode || n.Kind == yaml.DocumentNode || n.FootComment != "" {
		return false
	}
	if n.Tag != "" && !strings.HasPrefix(n.Tag, "!!") {
		return false
	}
	if n.Kind == yaml.ScalarNode && n.Style&yaml.TaggedStyle != 0 {
		return false
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i < len(n.Content); i += 2 {
			k := n.Content[i]
			if k == nil || k.Kind != yaml.ScalarNode || yamlx.IsMergeKey(k) || strings.Contains(k.Value, "\n") || k.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
				return false
			}
		}
	}
	if n.Style&yaml.FlowStyle != 0 && hasComments(n) {
		return false
	}
	return true
}

// Malformed returns an error when n, or a node under it, is one no YAML or
// JSON text can hold as it is: a scalar or alias with child nodes (a
// build that added entries to a scalar), a mapping with an odd number of
// nodes, a missing node. Writing it would give broken text or silently
// drop part of it, so the writers refuse it.
func Malformed(n *yaml.Node) error {
	if n == nil {
		return nil
	}
	if err := malformedHere(n); err != nil {
		return err
	}
	for _, c := range n.Content {
		if c == nil {
			return errors.New("a collection node holds a missing node")
		}
		if len(c.Content) == 0 && c.Kind == yaml.ScalarNode {
			continue // most nodes: nothing to check, no call
		}
		if err := Malformed(c); err != nil {
			return err
		}
	}
	return nil
}

func malformedHere(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode, yaml.AliasNode:
		if len(n.Content) > 0 {
			return fmt.Errorf("the %s %q holds %d child nodes; no YAML text can write that", kindName(n.Kind), n.Value, len(n.Content))
		}
		if n.Kind == yaml.AliasNode && n.Alias == nil {
			return fmt.Errorf("the alias %q points nowhere", n.Value)
		}
	case yaml.MappingNode:
		if len(n.Content)%2 != 0 {
			return fmt.Errorf("a mapping holds %d nodes; expected key and value pairs", len(n.Content))
		}
	case yaml.SequenceNode, yaml.DocumentNode:
	default:
		return fmt.Errorf("a node of unknown kind %d", n.Kind)
	}
	return nil
}

func kindName(k yaml.Kind) string {
	if k == yaml.AliasNode {
		return "alias"
	}
	return "scalar"
}

func hasComments(n *yaml.Node) bool {
	if n.HeadComment != "" || n.LineComment != "" || n.FootComment != "" {
		return true
	}
	for _, c := range n.Content {
		if hasComments(c) {
			return true
		}
	}
	return false
}

type writer struct {
	buf       []byte // what is written
	step, seq int    // Style.Indent, Style.SeqIndent
}

// Scalar is n written as a scalar token in layout st: in its style when
// that style can hold it (see writer.scalar), a literal block's lines
// indented one step below indent. inFlow says the token stands inside a
// flow collection.
func Scalar(n *yaml.Node, inFlow bool, indent int, st Style) string {
	st = st.orDefault()
	w := writer{step: st.Indent, seq: st.SeqIndent}
	w.scalar(n, inFlow, indent)
	return string(w.buf)
}

// spaces are written in runs, not a byte at a time.
const spaces = "                                                                "

func (w *writer) indent(n int) {
	for n > len(spaces) {
		w.buf = append(w.buf, spaces...)
		n -= len(spaces)
	}
	w.buf = append(w.buf, spaces[:n]...)
}

func (w *writer) comment(text string, indent int) {
	for _, line := range strings.Split(text, "\n") {
		if line != "" {
			w.indent(indent)
			w.buf = append(w.buf, line...)
		}
		w.buf = append(w.buf, '\n')
	}
}

// node writes n: a block collection one entry a line at indent (its first
// entry right after "- " when inSeq), anything else inline.
func (w *writer) node(n *yaml.Node, indent int, inSeq bool) {
	switch {
	case n.Kind == yaml.MappingNode && len(n.Content) > 0 && n.Style&yaml.FlowStyle == 0:
		for i := 0; i < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if i > 0 || !inSeq {
				if k.HeadComment != "" {
					w.comment(k.HeadComment, indent)
				}
				w.indent(indent)
			}
			w.scalar(k, false, indent)
			w.buf = append(w.buf, ':')
			w.value(k, v, indent)
		}
	case n.Kind == yaml.SequenceNode && len(n.Content) > 0 && n.Style&yaml.FlowStyle == 0:
		for i, it := range n.Content {
			if it.HeadComment != "" && (i > 0 || !inSeq) {
				w.comment(it.HeadComment, indent)
			}
			if i > 0 || !inSeq {
				w.indent(indent)
			}
			w.buf = append(w.buf, "- "...)
			w.item(it, indent+2)
		}
	default:
		w.inline(n, indent)
		w.buf = append(w.buf, '\n')
	}
}

// value writes a mapping value after "key:".
func (w *writer) value(k, v *yaml.Node, indent int) {
	block := v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0
	switch {
	case block:
		w.lineComment(k)
		w.buf = append(w.buf, '\n')
		if v.Kind == yaml.SequenceNode {
			w.node(v, indent+w.seq, false)
		} else {
			w.node(v, indent+w.step, false)
		}
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null" && v.Value == "":
		w.lineComment(v)
		w.buf = append(w.buf, '\n')
	default:
		w.buf = append(w.buf, ' ')
		w.inline(v, indent)
		w.buf = append(w.buf, '\n')
	}
}

// item writes a sequence item after "- ".
func (w *writer) item(it *yaml.Node, indent int) {
	if it.Style&yaml.FlowStyle == 0 && len(it.Content) > 0 {
		w.node(it, indent, true)
		return
	}
	// A literal block in an item is indented to the item's column.
	w.inline(it, indent-2)
	w.buf = append(w.buf, '\n')
}

func (w *writer) lineComment(n *yaml.Node) {
	if n.LineComment != "" {
		w.buf = append(w.buf, ' ')
		w.buf = append(w.buf, n.LineComment...)
	}
}

// inline writes a scalar or a flow (or empty) collection on the current
// line, with the node's line comment.
func (w *writer) inline(n *yaml.Node, indent int) {
	if n.Kind == yaml.ScalarNode {
		if !w.scalar(n, false, indent) {
			w.lineComment(n)
		}
		return
	}
	w.flow(n)
	w.lineComment(n)
}

func (w *writer) flow(n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		w.buf = append(w.buf, '{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				w.buf = append(w.buf, ", "...)
			}
			w.flow(n.Content[i])
			w.buf = append(w.buf, ": "...)
			w.flow(n.Content[i+1])
		}
		w.buf = append(w.buf, '}')
	case yaml.SequenceNode:
		w.buf = append(w.buf, '[')
		for i, c := range n.Content {
			if i > 0 {
				w.buf = append(w.buf, ", "...)
			}
			w.flow(c)
		}
		w.buf = append(w.buf, ']')
	default:
		w.scalar(n, true, 0)
	}
}

// scalar writes a scalar in its style when that style can hold it:
// literal blocks for multi-line text, plain when the text reads back as
// the same value, else quoted.
// It reports whether it wrote the node's line comment (on a literal
// block's header line, the only place it can go).
func (w *writer) scalar(n *yaml.Node, inFlow bool, indent int) bool {
	v := n.Value
	tag := n.Tag
	if n.Kind != yaml.ScalarNode || !strings.HasPrefix(tag, "!!") {
		tag = n.ShortTag() // (a "!!" tag is its own short tag)
	}
	if tag == "!!null" && v == "" {
		w.buf = append(w.buf, "null"...)
		return false
	}
	f := scan(v)
	switch {
	case f.newline && !inFlow && f.literalOK(v):
		w.literal(v, indent, n.LineComment)
		return true
	case n.Style&yaml.DoubleQuotedStyle != 0 || f.newline || !f.printable(v):
		w.doubleQuoted(v)
	case n.Style&yaml.SingleQuotedStyle != 0:
		w.singleQuoted(v, f)
	case tag != "!!str" && tag != "!!binary":
		w.buf = append(w.buf, v...) // a number, boolean or null as parsed
	case !f.resolvesToString(v):
		w.doubleQuoted(v)
	case !f.plainOK(v, inFlow):
		w.singleQuoted(v, f)
	default:
		w.buf = append(w.buf, v...)
	}
	return false
}

func (w *writer) singleQuoted(v string, f facts) {
	w.buf = append(w.buf, '\'')
	if f.quote {
		v = strings.ReplaceAll(v, "'", "''")
	}
	w.buf = append(w.buf, v...)
	w.buf = append(w.buf, '\'')
}

// facts are what one pass over a scalar's text tells the writer; the
// checks below use them where the text is plain ASCII (no control
// characters but line breaks and tabs), and read it again otherwise.
type facts struct {
	ascii                 bool
	newline, tab, quote   bool
	colonSpace, spaceHash bool // ": " and " #"
	flowChar              bool // one of ,[]{}
	blankEnd              bool // a line ending in a blank: " \n"
}

func scan(v string) facts {
	f := facts{ascii: true}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !special[c] {
			continue
		}
		switch c {
		case '\n':
			f.newline = true
			if i > 0 && v[i-1] == ' ' {
				f.blankEnd = true
			}
		case '\t':
			f.tab = true
		case '\'':
			f.quote = true
		case ':':
			if i+1 < len(v) && v[i+1] == ' ' {
				f.colonSpace = true
			}
		case ' ':
			if i+1 < len(v) && v[i+1] == '#' {
				f.spaceHash = true
			}
		case ',', '[', ']', '{', '}':
			f.flowChar = true
		default:
			f.ascii = false // a control character or not ASCII
		}
	}
	return f
}

// special are the bytes scan looks at.
var special = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c < ' ' || c >= 0x7f
	}
	for _, c := range []byte("\n\t': ,[]{}") {
		t[c] = true
	}
	return t
}()

// printable reports whether v holds only printable characters, line
// breaks and tabs.
func (f facts) printable(v string) bool {
	if f.ascii {
		return true // the common case, without decoding runes
	}
	if !utf8.ValidString(v) {
		return false
	}
	for _, r := range v {
		if r != '\n' && r != '\t' && !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func (f facts) literalOK(v string) bool {
	if !f.ascii && (!f.printable(v) || strings.IndexByte(v, '\r') >= 0) {
		return false
	}
	if f.tab || strings.TrimRight(v, "\n") == "" {
		return false
	}
	return !f.blankEnd && !strings.HasSuffix(v, " ")
}

// plainOK reports whether v can be written without quotes.
func (f facts) plainOK(v string, inFlow bool) bool {
	if v == "" || f.tab {
		return false
	}
	if !f.ascii {
		if v != strings.TrimSpace(v) {
			return false
		}
	} else if isBlank(v[0]) || isBlank(v[len(v)-1]) {
		return false
	}
	switch v[0] {
	case ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		return false
	case '-', '?', ':':
		if len(v) == 1 || v[1] == ' ' {
			return false
		}
	}
	if f.colonSpace || f.spaceHash || v[len(v)-1] == ':' {
		return false
	}
	if inFlow && f.flowChar {
		return false
	}
	if strings.HasPrefix(v, "---") || strings.HasPrefix(v, "...") {
		return false // document markers
	}
	return v != "<<"
}

// isBlank reports whether ASCII c is white space (strings.TrimSpace's).
func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func (w *writer) literal(v string, indent int, comment string) {
	w.buf = append(w.buf, '|')
	if strings.HasPrefix(v, " ") || strings.HasPrefix(v, "\n") {
		w.buf = append(w.buf, '2')
	}
	body := v
	switch {
	case !strings.HasSuffix(v, "\n"):
		w.buf = append(w.buf, '-')
	case strings.HasSuffix(v, "\n\n"):
		w.buf = append(w.buf, '+')
		body = v[:len(v)-1]
	default:
		body = v[:len(v)-1]
	}
	if comment != "" {
		w.buf = append(w.buf, ' ')
		w.buf = append(w.buf, comment...)
	}
	for {
		line, rest, more := strings.Cut(body, "\n")
		w.buf = append(w.buf, '\n')
		if line != "" {
			w.indent(indent + w.step)
			w.buf = append(w.buf, line...)
		}
		if !more {
			return
		}
		body = rest
	}
}

func (w *writer) doubleQuoted(v string) {
	w.buf = append(w.buf, '"')
	run := 0 // start of the characters not written yet, written as they are
	for i := 0; i < len(v); {
		c := v[i]
		if c >= ' ' && c < 0x7f && c != '"' && c != '\\' {
			i++
			continue
		}
		w.buf = append(w.buf, v[run:i]...)
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(v[i:])
		}
		switch r {
		case '"':
			w.buf = append(w.buf, `\"`...)
		case '\\':
			w.buf = append(w.buf, `\\`...)
		case '\n':
			w.buf = append(w.buf, `\n`...)
		case '\t':
			w.buf = append(w.buf, `\t`...)
		case '\r':
			w.buf = append(w.buf, `\r`...)
		case 0:
			w.buf = append(w.buf, `\0`...)
		case utf8.RuneError: // (an invalid byte, too)
			w.buf = append(w.buf, `\uFFFD`...)
		default:
			switch {
			case unicode.IsPrint(r):
				w.buf = append(w.buf, v[i:i+size]...)
			case r <= 0xFFFF:
				w.buf = append(w.buf, `\u`+leftPad(strconv.FormatInt(int64(r), 16), 4)...)
			default:
				w.buf = append(w.buf, `\U`+leftPad(strconv.FormatInt(int64(r), 16), 8)...)
			}
		}
		i += size
		run = i
	}
	w.buf = append(w.buf, v[run:]...)
	w.buf = append(w.buf, '"')
}

func leftPad(s string, n int) string {
	return strings.Repeat("0", n-len(s)) + s
}

// isNumber reports whether plain v reads as a number: an integer or float
// (digits may hold underscores, as YAML 1.1 allowed), hexadecimal, octal
// or binary, infinity or not-a-number. It is the regular expression
//
//	^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$|^[-+]?0[xob][0-9a-fA-F_]+$|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$
//
// by hand (write_test.go checks they agree): it runs for every plain
// scalar that starts like a number.
func isNumber(v string) bool {
	switch v {
	case ".nan", ".NaN", ".NAN":
		return true
	}
	s := v
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	switch s {
	case ".inf", ".Inf", ".INF":
		return true
	}
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b') {
		return len(s) > 2 && all(s[2:], func(c byte) bool { return isDigit(c) || c == '_' || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') })
	}
	i := 0
	digits := func(underscore bool) int {
		from := i
		for i < len(s) && (isDigit(s[i]) || (underscore && s[i] == '_')) {
			i++
		}
		return i - from
	}
	switch {
	case s != "" && s[0] == '.':
		i++
		if digits(false) == 0 {
			return false
		}
	case s != "" && isDigit(s[0]):
		i++
		digits(true)
		if i < len(s) && s[i] == '.' {
			i++
			digits(true)
		}
	default:
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits(false) == 0 {
			return false
		}
	}
	return i == len(s)
}

// isTimestamp reports whether v starts like a date: the regular expression
// ^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2} by hand.
func isTimestamp(v string) bool {
	if len(v) < 8 || !all(v[:4], isDigit) || v[4] != '-' || !isDigit(v[5]) {
		return false
	}
	i := 6
	if isDigit(v[i]) {
		i++
	}
	return i+1 < len(v) && v[i] == '-' && isDigit(v[i+1])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func all(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// resolvesToString reports whether plain v reads back as a string, under
// YAML 1.2 and the YAML 1.1 booleans older parsers still apply.
func (f facts) resolvesToString(v string) bool {
	if v == "" {
		return false
	}
	switch c := v[0]; {
	case c >= '0' && c <= '9', c == '+', c == '-', c == '.':
		return !isNumber(v) && !isTimestamp(v)
	case len(v) > 5:
		return true // longer than any keyword below
	}
	var lower string
	if f.ascii {
		var b [5]byte // (v is at most 5 bytes long here)
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			b[i] = c
		}
		lower = string(b[:len(v)])
	} else {
		lower = strings.ToLower(v)
	}
	switch lower {
	case "~", "null", "true", "false", "yes", "no", "on", "off", "y", "n":
		return false
	}
	return true
}
