package emit

import (
	"bytes"
	"encoding/binary"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// text is an input file's bytes with an index of its lines, to find a
// node's text from the position yaml.v3 gives it (line and column, both
// counted from 1, the column in characters).
type text struct {
	b      []byte
	starts []int32 // byte offset where each line starts
	flags  []uint8 // per line: nonASCII, hasDollar
	nl     string  // the file's line break: "\n" or "\r\n"
}

const (
	nonASCII  = 1 << iota // a column is not a byte on this line
	hasDollar             // the line holds a $
)

// isASCII reports whether b holds only ASCII bytes, eight at a time.
func isASCII(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// newText indexes b; ok is false for text whose lines this index cannot
// follow the way yaml.v3 does: a byte order mark, or a line break other
// than \n and \r\n.
func newText(b []byte) (*text, bool) {
	if bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) || bytes.Contains(b, []byte("\xc2\x85")) ||
		bytes.Contains(b, []byte("\xe2\x80\xa8")) || bytes.Contains(b, []byte("\xe2\x80\xa9")) {
		return nil, false
	}
	if len(b) > 1<<31-1 {
		return nil, false
	}
	n := bytes.Count(b, []byte("\n")) + 1
	t := &text{b: b, starts: make([]int32, 1, n), flags: make([]uint8, 0, n), nl: "\n"}
	// Line by line, with the library's vectorised searches rather than a
	// look at every byte, and no search of a line for what the file does
	// not hold.
	crs, dollars, ascii := bytes.IndexByte(b, '\r') >= 0, bytes.IndexByte(b, '$') >= 0, isASCII(b)
	for start := 0; ; {
		end := bytes.IndexByte(b[start:], '\n')
		last := end < 0
		if last {
			end = len(b)
		} else {
			end += start
		}
		line := b[start:end]
		var flags uint8
		if crs {
			if r := bytes.IndexByte(line, '\r'); r >= 0 && (r != len(line)-1 || last) {
				return nil, false // a carriage return not before a line feed
			}
		}
		if dollars && bytes.IndexByte(line, '$') >= 0 {
			flags |= hasDollar
		}
		if !ascii && !isASCII(line) {
			flags |= nonASCII
		}
		t.flags = append(t.flags, flags)
		if last {
			break
		}
		start = end + 1
		t.starts = append(t.starts, int32(start))
	}
	if i := bytes.IndexByte(b, '\n'); i > 0 && b[i-1] == '\r' {
		t.nl = "\r\n"
	}
	return t, true
}

// offset is the byte offset of a node's position.
func (t *text) offset(n *yaml.Node) (int, bool) {
	line, col := n.Line, n.Column
	if line < 1 || line > len(t.starts) || col < 1 {
		return 0, false
	}
	off := int(t.starts[line-1])
	if t.flags[line-1]&nonASCII == 0 {
		off += col - 1
		return off, off <= t.lineEnd(line-1)
	}
	for i := 1; i < col; i++ {
		_, size := utf8.DecodeRune(t.b[off:])
		if size == 0 || t.b[off] == '\n' {
			return 0, false
		}
		off += size
	}
	return off, true
}

// lineEnd is where line i's content ends, before its line break.
func (t *text) lineEnd(i int) int {
	if i+1 >= len(t.starts) {
		return len(t.b)
	}
	end := int(t.starts[i+1]) - 1
	if end > int(t.starts[i]) && t.b[end-1] == '\r' {
		end--
	}
	return end
}

// next is where the line after line i starts (the end of the text after
// the last line).
func (t *text) next(i int) int {
	if i+1 >= len(t.starts) {
		return len(t.b)
	}
	return int(t.starts[i+1])
}

// lineOf is the index of the line holding offset off.
func (t *text) lineOf(off int) int {
	lo, hi := 0, len(t.starts)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if int(t.starts[mid]) <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

type lineKind int

const (
	blankLine lineKind = iota
	commentLine
	contentLine
)

// line says what line i holds: its indentation (spaces), and whether it
// is blank, a comment or content; first is its first non-blank byte.
func (t *text) line(i int) (indent int, kind lineKind, first byte) {
	start, end := int(t.starts[i]), t.lineEnd(i)
	j := start
	for j < end && t.b[j] == ' ' {
		j++
	}
	k := j
	for k < end && t.b[k] == '\t' {
		k++
	}
	switch {
	case k == end:
		return j - start, blankLine, 0
	case t.b[k] == '#':
		return j - start, commentLine, '#'
	}
	return j - start, contentLine, t.b[j]
}

// seqDash reports whether line i's content starts with a sequence dash.
func (t *text) seqDash(i, indent int) bool {
	p := int(t.starts[i]) + indent
	end := t.lineEnd(i)
	return p < end && t.b[p] == '-' && (p+1 == end || t.b[p+1] == ' ' || t.b[p+1] == '\t')
}

// entry finds the text of the block-mapping entry whose key is k: head is
// where the comment lines directly above it start (the key's line when
// there are none), start where the key's line starts, end where the
// entry's last line ends, line break included. The entry is the key's
// line and every following line indented deeper than the key (or, at the
// key's indentation, a sequence dash or a flow closer), so trailing
// comments at the key's indentation or less are left to what follows. ok
// is false when the key does not start its line.
func (t *text) entry(k *yaml.Node) (head, start, end int, ok bool) {
	li := k.Line - 1
	off, ok := t.offset(k)
	if !ok || li < 0 || li >= len(t.starts) {
		return 0, 0, 0, false
	}
	keyIndent := off - int(t.starts[li]) // bytes: the indentation is spaces
	if ind, kind, _ := t.line(li); kind != contentLine || ind != keyIndent {
		return 0, 0, 0, false
	}
	start = int(t.starts[li])
	head = start
	for j := li - 1; j >= 0; j-- {
		ind, kind, _ := t.line(j)
		if kind != commentLine || ind > keyIndent {
			break
		}
		head = int(t.starts[j])
	}
	last := li
	for j := li + 1; j < len(t.starts); j++ {
		ind, kind, first := t.line(j)
		switch {
		case kind == blankLine:
			continue
		case ind > keyIndent,
			kind == contentLine && ind == keyIndent && (t.seqDash(j, ind) || first == ']' || first == '}'):
			last = j
			continue
		}
		break
	}
	return head, start, t.next(last), true
}

// scalarEnd is where the scalar token n, starting at off, ends. inFlow
// says it stands in a flow collection; parent is the indentation of the
// block it belongs to (its key's, or its sequence dash's). ok is false
// where the token's extent is in doubt (a plain scalar over several
// lines, a block scalar with an explicit indentation).
func (t *text) scalarEnd(off int, n *yaml.Node, inFlow bool, parent int) (int, bool) {
	b := t.b
	if off >= len(b) {
		return 0, false
	}
	switch c := b[off]; {
	case c == '"':
		for i := off + 1; i < len(b); i++ {
			switch b[i] {
			case '\\':
				i++
			case '"':
				return i + 1, true
			}
		}
		return 0, false
	case c == '\'':
		for i := off + 1; i < len(b); i++ {
			if b[i] == '\'' {
				if i+1 < len(b) && b[i+1] == '\'' {
					i++
					continue
				}
				return i + 1, true
			}
		}
		return 0, false
	case (c == '|' || c == '>') && n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		li := t.lineOf(off)
		for i := off + 1; i < t.lineEnd(li) && b[i] != ' ' && b[i] != '#'; i++ {
			if b[i] >= '0' && b[i] <= '9' {
				return 0, false
			}
		}
		last := li
		for j := li + 1; j < len(t.starts); j++ {
			ind, kind, _ := t.line(j)
			if kind == blankLine {
				continue
			}
			if ind <= parent {
				break
			}
			last = j
		}
		return t.lineEnd(last), true
	case n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return 0, false
	}
	li := t.lineOf(off)
	le := t.lineEnd(li)
	end := off
	for i := off; i < le; i++ {
		c := b[i]
		if c == '#' && i > off && (b[i-1] == ' ' || b[i-1] == '\t') {
			break
		}
		if inFlow && (c == ',' || c == ']' || c == '}') {
			break
		}
		if c != ' ' && c != '\t' {
			end = i + 1
		}
	}
	if !inFlow {
		for j := li + 1; j < len(t.starts); j++ {
			ind, kind, _ := t.line(j)
			if kind == blankLine {
				continue
			}
			if kind == contentLine && ind > parent {
				return 0, false // the scalar goes on
			}
			break
		}
	}
	return end, true
}
