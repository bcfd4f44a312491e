package codec

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// ParseFast parses the common subset of block YAML that templates render
// and stack files hold — block mappings and sequences, one-line plain and
// quoted scalars, one-line flow collections — into the node tree yaml.v3
// would build (same kinds, tags, styles, values and positions). It returns
// ok false for anything else (comments, anchors, tags, block scalars,
// multi-line scalars, empty values, errors) and the caller then uses
// yaml.v3, which also reports errors. It exists because yaml.v3's parser
// is the costliest step of rendering thousands of services.
func ParseFast(src string) (doc *yaml.Node, ok bool) {
	if strings.ContainsAny(src, "#&*!|>%\t\r\\`") || strings.Contains(src, "<<") {
		return nil, false
	}
	for i := 0; i < len(src); i++ {
		if c := src[i]; (c < ' ' && c != '\n') || c >= 0x7f {
			return nil, false // control characters and non-ASCII text: yaml.v3's rules
		}
	}
	p := fastParser{lines: strings.Split(src, "\n")}
	first := p.skipBlank()
	if first < 0 {
		return nil, false
	}
	defer func() {
		if recover() != nil {
			doc, ok = nil, false
		}
	}()
	for _, l := range p.lines {
		if strings.HasPrefix(l, "---") || strings.HasPrefix(l, "...") {
			return nil, false
		}
	}
	root := p.block(indentOf(p.lines[first]))
	if root == nil || p.skipBlank() >= 0 {
		return nil, false
	}
	return &yaml.Node{Kind: yaml.DocumentNode, Line: root.Line, Column: root.Column, Content: []*yaml.Node{root}}, true
}

type fastParser struct {
	lines []string
	i     int
}

// skipBlank moves to the next line with content and returns its index, or
// -1 at the end.
func (p *fastParser) skipBlank() int {
	for ; p.i < len(p.lines); p.i++ {
		if strings.TrimLeft(p.lines[p.i], " ") != "" {
			return p.i
		}
	}
	return -1
}

func indentOf(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

func isSeqItem(content string) bool { return content == "-" || strings.HasPrefix(content, "- ") }

// block parses the collection starting at the current line, at indent.
func (p *fastParser) block(indent int) *yaml.Node {
	if isSeqItem(p.lines[p.i][indent:]) {
		return p.seq(indent)
	}
	return p.mapping(indent)
}

func (p *fastParser) mapping(indent int) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: p.i + 1, Column: indent + 1}
	for p.skipBlank() >= 0 {
		line := p.lines[p.i]
		in := indentOf(line)
		if in < indent || (in == indent && isSeqItem(line[in:])) {
			break
		}
		if in > indent {
			return nil
		}
		key, rest, restCol, keyOK := p.keyAt(line, indent)
		if !keyOK {
			return nil
		}
		var val *yaml.Node
		if rest == "" {
			row := p.i
			p.i++
			if p.skipBlank() < 0 {
				return nil // a null value: left to yaml.v3
			}
			next := p.lines[p.i]
			switch nin := indentOf(next); {
			case nin > indent:
				val = p.block(nin)
			case nin == indent && isSeqItem(next[nin:]):
				val = p.seq(indent)
			default:
				_ = row
				return nil
			}
		} else {
			val = p.inline(rest, p.i, restCol)
			p.i++
			if p.continues(indent) {
				return nil
			}
		}
		if val == nil {
			return nil
		}
		m.Content = append(m.Content, key, val)
	}
	if len(m.Content) == 0 {
		return nil
	}
	return m
}

// continues reports whether the next line is more indented than indent:
// a multi-line scalar, left to yaml.v3.
func (p *fastParser) continues(indent int) bool {
	if p.skipBlank() < 0 {
		return false
	}
	return indentOf(p.lines[p.i]) > indent
}

func (p *fastParser) seq(indent int) *yaml.Node {
	s := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: p.i + 1, Column: indent + 1}
	for p.skipBlank() >= 0 {
		line := p.lines[p.i]
		in := indentOf(line)
		if in < indent || (in == indent && !isSeqItem(line[in:])) {
			break
		}
		if in > indent || line[in:] == "-" {
			return nil
		}
		content := strings.TrimLeft(line[in+1:], " ")
		col := len(line) - len(content)
		var item *yaml.Node
		switch _, _, isKey := p.key(line[:col]+content, col); {
		case isSeqItem(content) || isKey:
			// A collection starting on the item's line: parse it as if
			// the line were indented to where it starts.
			p.lines[p.i] = strings.Repeat(" ", col) + content
			item = p.block(col)
		default:
			item = p.inline(content, p.i, col)
			p.i++
			if p.continues(indent) {
				return nil
			}
		}
		if item == nil {
			return nil
		}
		s.Content = append(s.Content, item)
	}
	return s
}

// key splits "key: rest" (or "key:") at indent into the key node and the
// rest of the line.
func (p *fastParser) key(line string, indent int) (*yaml.Node, string, bool) {
	k, rest, _, ok := p.keyAt(line, indent)
	return k, rest, ok
}

// keyAt is key, also giving the column where the rest starts.
func (p *fastParser) keyAt(line string, indent int) (*yaml.Node, string, int, bool) {
	content := line[indent:]
	var k *yaml.Node
	var after string
	switch content[0] {
	case '"', '\'':
		end := quoteEnd(content)
		if end < 0 {
			return nil, "", 0, false
		}
		k = quoted(content[:end+1], p.i, indent)
		after = content[end+1:]
	default:
		colon := strings.Index(content, ":")
		for colon >= 0 && colon+1 < len(content) && content[colon+1] != ' ' {
			next := strings.Index(content[colon+1:], ":")
			if next < 0 {
				colon = -1
				break
			}
			colon += 1 + next
		}
		if colon <= 0 {
			return nil, "", 0, false
		}
		k = plainScalar(content[:colon], p.i, indent, false)
		after = content[colon:]
	}
	// An implicit key is at most 1024 characters long.
	if k == nil || len(content)-len(after) > 1024 || !strings.HasPrefix(after, ":") || (len(after) > 1 && after[1] != ' ') {
		return nil, "", 0, false
	}
	rest := strings.TrimLeft(after[1:], " ")
	return k, strings.TrimRight(rest, " "), len(line) - len(rest), true
}

// inline parses a one-line value starting at column col of line row.
func (p *fastParser) inline(text string, row, col int) *yaml.Node {
	text = strings.TrimRight(text, " ")
	switch text[0] {
	case '[', '{':
		n, rest := flow(text, row, col)
		if n == nil || strings.TrimSpace(rest) != "" {
			return nil
		}
		return n
	case '"', '\'':
		if quoteEnd(text) != len(text)-1 {
			return nil
		}
		return quoted(text, row, col)
	}
	return plainScalar(text, row, col, false)
}

// quoteEnd is the index of the quote closing the quoted scalar s starts
// with, or -1.
func quoteEnd(s string) int {
	q := s[0]
	for i := 1; i < len(s); i++ {
		if s[i] == q {
			if q == '\'' && i+1 < len(s) && s[i+1] == '\'' {
				i++
				continue
			}
			return i
		}
	}
	return -1
}

func quoted(s string, row, col int) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Line: row + 1, Column: col + 1}
	inner := s[1 : len(s)-1]
	if s[0] == '"' {
		n.Style = yaml.DoubleQuotedStyle
		n.Value = inner
	} else {
		n.Style = yaml.SingleQuotedStyle
		n.Value = strings.ReplaceAll(inner, "''", "'")
	}
	return n
}

// plainScalar makes a plain scalar node, or nil where yaml.v3 would read
// the text otherwise.
func plainScalar(s string, row, col int, inFlow bool) *yaml.Node {
	if s == "" || s != strings.TrimSpace(s) || strings.Contains(s, ": ") || strings.HasSuffix(s, ":") || strings.Contains(s, " #") {
		return nil
	}
	switch s[0] {
	case ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', '?', ':':
		return nil
	case '-':
		if len(s) == 1 || s[1] == ' ' || inFlow {
			return nil
		}
	}
	if inFlow && strings.ContainsAny(s, ",[]{}:?#'\"") {
		return nil
	}
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: s, Line: row + 1, Column: col + 1}
	if strings.IndexByte("+-0123456789.yYnNtTfFoO~", s[0]) < 0 {
		n.Tag = "!!str" // yaml.v3 resolves only scalars starting so
	} else {
		n.Tag = n.ShortTag() // yaml.v3's own resolution of a plain scalar
	}
	return n
}

// flow parses a one-line flow collection at the start of s.
func flow(s string, row, col int) (*yaml.Node, string) {
	open := s[0]
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Line: row + 1, Column: col + 1}
	closing := byte(']')
	if open == '{' {
		n.Kind, n.Tag, closing = yaml.MappingNode, "!!map", '}'
	}
	pos := 1
	skip := func() {
		for pos < len(s) && s[pos] == ' ' {
			pos++
		}
	}
	item := func(isKey bool) *yaml.Node {
		skip()
		if pos >= len(s) {
			return nil
		}
		switch s[pos] {
		case '[', '{':
			if isKey {
				return nil
			}
			c, rest := flow(s[pos:], row, col+pos)
			if c == nil {
				return nil
			}
			pos = len(s) - len(rest)
			return c
		case '"', '\'':
			end := quoteEnd(s[pos:])
			if end < 0 {
				return nil
			}
			q := quoted(s[pos:pos+end+1], row, col+pos)
			pos += end + 1
			return q
		}
		start := pos
		for pos < len(s) && !strings.ContainsRune(",]}", rune(s[pos])) && !(s[pos] == ':' && (pos+1 == len(s) || s[pos+1] == ' ' || s[pos+1] == ',' || s[pos+1] == ']' || s[pos+1] == '}')) {
			pos++
		}
		return plainScalar(strings.TrimRight(s[start:pos], " "), row, col+start, true)
	}
	skip()
	if pos < len(s) && s[pos] == closing {
		return n, s[pos+1:]
	}
	for {
		k := item(n.Kind == yaml.MappingNode)
		if k == nil {
			return nil, ""
		}
		if n.Kind == yaml.MappingNode {
			skip()
			if pos+1 >= len(s) || s[pos] != ':' || s[pos+1] != ' ' {
				return nil, ""
			}
			pos++
			v := item(false)
			if v == nil {
				return nil, ""
			}
			n.Content = append(n.Content, k, v)
		} else {
			skip()
			if pos < len(s) && s[pos] == ':' {
				return nil, "" // a single-pair mapping in a sequence
			}
			n.Content = append(n.Content, k)
		}
		skip()
		if pos >= len(s) {
			return nil, ""
		}
		switch s[pos] {
		case ',':
			pos++
			skip()
			if pos < len(s) && s[pos] == closing {
				return nil, "" // a trailing comma
			}
		case closing:
			return n, s[pos+1:]
		default:
			return nil, ""
		}
	}
}
