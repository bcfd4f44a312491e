package codec

import (
	"math"
	"strings"
	"sync"
	"unsafe"

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
//
// The tree's nodes are allocated together, and the collections' Content
// slices too, each with its capacity equal to its length (an append gets
// a slice of its own); scalar values are substrings of src. So a small
// tree costs two allocations instead of one or two per node, a large one
// two per collection (see smallTree), and it keeps src's text.
func ParseFast(src string) (doc *yaml.Node, ok bool) {
	return parseFast(src, 0, smallTree)
}

// ParseFastBytes is ParseFast of data read as a string in place, as
// Split reads it: data must not change while the tree is in use.
func ParseFastBytes(data []byte) (doc *yaml.Node, ok bool) {
	return ParseFast(unsafe.String(unsafe.SliceData(data), len(data)))
}

// parseFast is ParseFast for text that starts on line first+1 of its
// file, with trees of more than small nodes allocated in groups (tests
// check that way on small trees too).
func parseFast(src string, first, small int) (doc *yaml.Node, ok bool) {
	lines := 1
	for i := 0; i < len(src); i++ {
		switch prescan[src[i]] {
		case 0:
			continue
		case scanDeclined:
			return nil, false
		case scanLess:
			if i+1 < len(src) && src[i+1] == '<' {
				return nil, false // a merge key
			}
		case scanNewline:
			lines++
			if i+3 < len(src) && (src[i+1] == '-' || src[i+1] == '.') && src[i+2] == src[i+1] && src[i+3] == src[i+1] {
				return nil, false // document markers
			}
		}
	}
	if strings.HasPrefix(src, "---") || strings.HasPrefix(src, "...") || len(src) > math.MaxInt32 {
		return nil, false
	}
	p := getParser(src, lines)
	p.first = first
	defer p.release()
	root, ok := p.parse()
	if !ok {
		return nil, false
	}
	d := p.add(pnode{kind: uint8(yaml.DocumentNode), line: p.nodes[root].line, col: p.nodes[root].col})
	base := len(p.stack)
	p.stack = append(p.stack, root)
	p.children(d, base)
	if len(p.nodes) <= small {
		return p.buildOne(d), true
	}
	return p.buildGroups(d), true
}

// declined are the bytes ParseFast leaves to yaml.v3: indicators of
// comments, anchors, aliases, tags, block scalars and directives, escapes,
// tabs and carriage returns, control characters and non-ASCII text (whose
// rules are yaml.v3's).
var declined = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = (c < ' ' && c != '\n') || c >= 0x7f
	}
	for _, c := range []byte("#&*!|>%\t\r\\`") {
		t[c] = true
	}
	return t
}()

// prescan classes the bytes parseFast's first pass looks at: declined
// ones, '<' (of a merge key) and line breaks (before document markers);
// 0 for the rest, so most bytes cost one lookup.
var prescan = func() (t [256]uint8) {
	for c := range 256 {
		if declined[c] {
			t[c] = scanDeclined
		}
	}
	t['<'], t['\n'] = scanLess, scanNewline
	return t
}()

const (
	scanDeclined = iota + 1
	scanLess
	scanNewline
)

// pnode is a node while the tree is parsed; build turns them into
// yaml.Nodes. It holds no pointers, so the scratch costs the collector
// nothing: its value is src[off:off+n] (n < 0: strs[-n-1], a value that
// is not in src), its tag tags[tag], its children kids[first:first+count].
type pnode struct {
	off, n       int32
	line, col    int32
	first, count int32
	grp, slot    int32 // where build puts a large tree's node
	kind, style  uint8
	tag          uint8
}

// tags are the tags the parser gives nodes.
var tags = [...]string{"", "!!str", "!!int", "!!bool", "!!null", "!!float", "!!map", "!!seq", "!!timestamp", "!!binary", "!!merge"}

const (
	tagStr uint8 = iota + 1
	tagInt
	tagBool
	tagNull
	tagFloat
	tagMap
	tagSeq
)

// tagIndex is tag's index in tags; an unexpected tag declines the parse.
func tagIndex(tag string) uint8 {
	for i, t := range tags {
		if t == tag {
			return uint8(i)
		}
	}
	panic("codec: unexpected tag " + tag)
}

// fastParser reads src line by line. Nodes refer to each other by index
// until build, so the scratch slices can grow as they like.
type fastParser struct {
	src string
	// The current line: number i (from 0), src[start:end]; done past
	// the last one. indentLine and indent override the indentation of
	// one line: the content after a sequence item's "- " is parsed as
	// if the line were indented to where it starts.
	i, start, end int
	done          bool
	indentLine    int
	indent        int
	// blanksLine's leading blanks, counted by skipBlank.
	blanksLine, blanks int
	first              int // the number of the file's lines before src

	nodes []pnode
	strs  []string // values not in src
	stack []int32  // children of the collections being parsed
	kids  []int32  // children of the finished collections
}

// maxPooledNodes is the most scratch nodes a parser kept for reuse holds:
// template outputs and the split parse's runs (runLines) reuse one, the
// scratch of a larger text goes.
const maxPooledNodes = 4*runLines + 64

var parsers = sync.Pool{New: func() any { return new(fastParser) }}

func getParser(src string, lines int) *fastParser {
	p := parsers.Get().(*fastParser)
	p.src, p.i, p.start, p.done, p.indentLine, p.blanksLine = src, 0, 0, false, -1, -1
	p.end = strings.IndexByte(src, '\n')
	if p.end < 0 {
		p.end = len(src)
	}
	if want := 2*lines + 8; cap(p.nodes) < want {
		p.nodes = make([]pnode, 0, want)
		p.kids = make([]int32, 0, want)
	}
	return p
}

// release pools the parser, unless its scratch grew large, without
// references to the text it parsed.
func (p *fastParser) release() {
	if cap(p.nodes) > maxPooledNodes {
		return
	}
	clear(p.strs)
	p.src, p.nodes, p.strs, p.stack, p.kids = "", p.nodes[:0], p.strs[:0], p.stack[:0], p.kids[:0]
	parsers.Put(p)
}

// parse reads the document's root collection; an index out of range in
// text the parser does not expect declines it too.
func (p *fastParser) parse() (root int32, ok bool) {
	defer func() {
		if recover() != nil {
			root, ok = -1, false
		}
	}()
	if !p.skipBlank() {
		return -1, false
	}
	root = p.block(p.indentOf())
	if root < 0 || p.skipBlank() {
		return -1, false
	}
	return root, true
}

// row is the current line's number in the file, from 1.
func (p *fastParser) row() int32 { return int32(p.first + p.i + 1) }

// line is the current line.
func (p *fastParser) line() string { return p.src[p.start:p.end] }

// next moves to the next line.
func (p *fastParser) next() {
	p.i++
	p.start = p.end + 1
	if p.start > len(p.src) {
		p.done = true
		p.start, p.end = len(p.src), len(p.src)
		return
	}
	if e := strings.IndexByte(p.src[p.start:], '\n'); e >= 0 {
		p.end = p.start + e
	} else {
		p.end = len(p.src)
	}
}

// skipBlank moves to the next line with content, and reports whether
// there is one.
func (p *fastParser) skipBlank() bool {
	for ; !p.done; p.next() {
		for j := p.start; j < p.end; j++ {
			if p.src[j] != ' ' {
				p.blanksLine, p.blanks = p.i, j-p.start
				return true
			}
		}
	}
	return false
}

// indentOf is the current line's indentation.
func (p *fastParser) indentOf() int {
	if p.i == p.indentLine {
		return p.indent
	}
	return p.leadingBlanks()
}

// leadingBlanks is the number of blanks the current line starts with:
// skipBlank counted them when it stopped on the line.
func (p *fastParser) leadingBlanks() int {
	if p.i == p.blanksLine {
		return p.blanks
	}
	return indentOf(p.line())
}

func indentOf(l string) int {
	i := 0
	for i < len(l) && l[i] == ' ' {
		i++
	}
	return i
}

func isSeqItem(content string) bool {
	return content == "-" || len(content) >= 2 && content[0] == '-' && content[1] == ' '
}

// add appends a node and returns its index.
func (p *fastParser) add(n pnode) int32 {
	p.nodes = append(p.nodes, n)
	return int32(len(p.nodes) - 1)
}

// children makes the nodes on the stack from base on the children of n.
func (p *fastParser) children(n int32, base int) {
	kids := p.stack[base:]
	p.nodes[n].first, p.nodes[n].count = int32(len(p.kids)), int32(len(kids))
	p.kids = append(p.kids, kids...)
	p.stack = p.stack[:base]
}

// smallTree is the most nodes of a tree allocated as one array. A larger
// tree (a stack file's services) gets an array for each collection with
// children, holding it and its scalar children but the keys of nested
// collections, which get their own: the parts a render drops (a service
// once it is rebuilt and written) are freed as they would be if each node
// were allocated on its own, and a key kept for its position (an
// extension field's) keeps nothing else.
const smallTree = 512

// fill sets y from scratch node s, but for its Content.
func (p *fastParser) fill(y *yaml.Node, s *pnode) {
	y.Kind, y.Style, y.Tag, y.Line, y.Column = yaml.Kind(s.kind), yaml.Style(s.style), tags[s.tag], int(s.line), int(s.col)
	switch {
	case s.n > 0:
		y.Value = p.src[s.off : s.off+s.n]
	case s.n < 0:
		y.Value = p.strs[-s.n-1]
	}
}

// buildOne allocates a small tree as one array of nodes and one of
// Content pointers.
func (p *fastParser) buildOne(top int32) *yaml.Node {
	nodes := make([]yaml.Node, len(p.nodes))
	refs := make([]*yaml.Node, len(p.kids))
	for i := range p.nodes {
		s := &p.nodes[i]
		y := &nodes[i]
		p.fill(y, s)
		if s.count == 0 {
			continue
		}
		c := int(s.count)
		for j, k := range p.kids[s.first : s.first+s.count] {
			refs[j] = &nodes[k]
		}
		y.Content, refs = refs[:c:c], refs[c:]
	}
	return &nodes[top]
}

// buildGroups allocates a large tree an array for each collection with
// children (see smallTree). Nodes were added in pre-order but for the
// document, added last: a parent comes before its children, so one pass
// places each node's children in its group or in new ones.
func (p *fastParser) buildGroups(top int32) *yaml.Node {
	type size struct{ nodes, refs int32 }
	sizes := make([]size, 1, 1+len(p.nodes)/4)
	place := func(i int32) {
		s := &p.nodes[i]
		sizes[s.grp].refs += s.count
		kids := p.kids[s.first : s.first+s.count]
		isMap := s.kind == uint8(yaml.MappingNode)
		for j, k := range kids {
			g := s.grp
			// A collection with children gets a group, and so does its
			// key: a key outlives its value when a stage keeps it for
			// its position.
			if p.nodes[k].count > 0 || isMap && j%2 == 0 && p.nodes[kids[j+1]].count > 0 {
				g = int32(len(sizes))
				sizes = append(sizes, size{})
			}
			p.nodes[k].grp, p.nodes[k].slot = g, sizes[g].nodes
			sizes[g].nodes++
		}
	}
	p.nodes[top].grp, p.nodes[top].slot = 0, 0
	sizes[0].nodes = 1
	place(top)
	for i := range p.nodes[:top] {
		place(int32(i))
	}
	nodes := make([][]yaml.Node, len(sizes))
	refs := make([][]*yaml.Node, len(sizes))
	for g, sz := range sizes {
		nodes[g] = make([]yaml.Node, sz.nodes)
		if sz.refs > 0 {
			refs[g] = make([]*yaml.Node, sz.refs)
		}
	}
	for i := range p.nodes {
		s := &p.nodes[i]
		y := &nodes[s.grp][s.slot]
		p.fill(y, s)
		if s.count == 0 {
			continue
		}
		r := refs[s.grp]
		for j, k := range p.kids[s.first : s.first+s.count] {
			c := &p.nodes[k]
			r[j] = &nodes[c.grp][c.slot]
		}
		y.Content, refs[s.grp] = r[:s.count:s.count], r[s.count:]
	}
	return &nodes[0][0]
}

// block parses the collection starting at the current line, at indent.
func (p *fastParser) block(indent int) int32 {
	if isSeqItem(p.line()[indent:]) {
		return p.seq(indent)
	}
	return p.mapping(indent)
}

func (p *fastParser) mapping(indent int) int32 {
	m := p.add(pnode{kind: uint8(yaml.MappingNode), tag: tagMap, line: p.row(), col: int32(indent + 1)})
	base := len(p.stack)
	for p.skipBlank() {
		line := p.line()
		in := p.indentOf()
		if in < indent || (in == indent && isSeqItem(line[in:])) {
			break
		}
		if in > indent {
			return -1
		}
		ks := p.keyAt(line, indent)
		if !ks.ok {
			return -1
		}
		p.stack = append(p.stack, p.key(ks, indent))
		var val int32
		if ks.rest == "" {
			p.next()
			if !p.skipBlank() {
				return -1 // a null value: left to yaml.v3
			}
			next := p.line()
			switch nin := p.leadingBlanks(); {
			case nin > indent:
				val = p.block(nin)
			case nin == indent && isSeqItem(next[nin:]):
				val = p.seq(indent)
			default:
				return -1
			}
		} else {
			val = p.inline(ks.rest, ks.restCol)
			p.next()
			if p.continues(indent) {
				return -1
			}
		}
		if val < 0 {
			return -1
		}
		p.stack = append(p.stack, val)
	}
	if len(p.stack) == base {
		return -1
	}
	p.children(m, base)
	return m
}

// continues reports whether the next line is more indented than indent:
// a multi-line scalar, left to yaml.v3.
func (p *fastParser) continues(indent int) bool {
	if !p.skipBlank() {
		return false
	}
	return p.leadingBlanks() > indent
}

func (p *fastParser) seq(indent int) int32 {
	s := p.add(pnode{kind: uint8(yaml.SequenceNode), tag: tagSeq, line: p.row(), col: int32(indent + 1)})
	base := len(p.stack)
	for p.skipBlank() {
		line := p.line()
		in := p.indentOf()
		if in < indent || (in == indent && !isSeqItem(line[in:])) {
			break
		}
		if in > indent || line[in:] == "-" {
			return -1
		}
		content := strings.TrimLeft(line[in+1:], " ")
		col := len(line) - len(content)
		var item int32
		if content == "" {
			return -1 // "- " and blanks: a null item
		}
		if isSeqItem(content) || p.keyAt(line, col).ok {
			// A collection starting on the item's line: parse it as if
			// the line were indented to where it starts.
			p.indentLine, p.indent = p.i, col
			item = p.block(col)
		} else {
			item = p.inline(content, col)
			p.next()
			if p.continues(indent) {
				return -1
			}
		}
		if item < 0 {
			return -1
		}
		p.stack = append(p.stack, item)
	}
	p.children(s, base)
	return s
}

// keyScan is a "key: rest" (or "key:") line split at its key.
type keyScan struct {
	key     string // the key's token: plain, or quoted with its quotes
	rest    string // the rest of the line after ": ", blanks trimmed
	restCol int    // where the rest starts
	ok      bool
}

// keyAt splits the line at indent into its key token and the rest, if
// the line is a mapping entry the parser reads.
func (p *fastParser) keyAt(line string, indent int) keyScan {
	content := line[indent:]
	var key, after string
	switch content[0] {
	case '"', '\'':
		end := quoteEnd(content)
		if end < 0 {
			return keyScan{}
		}
		key, after = content[:end+1], content[end+1:]
	default:
		colon := strings.IndexByte(content, ':')
		for colon >= 0 && colon+1 < len(content) && content[colon+1] != ' ' {
			next := strings.IndexByte(content[colon+1:], ':')
			if next < 0 {
				colon = -1
				break
			}
			colon += 1 + next
		}
		if colon <= 0 || !plainOKParse(content[:colon], false) {
			return keyScan{}
		}
		key, after = content[:colon], content[colon:]
	}
	// An implicit key is at most 1024 characters long.
	if len(key) > 1024 || len(after) == 0 || after[0] != ':' || (len(after) > 1 && after[1] != ' ') {
		return keyScan{}
	}
	rest := strings.TrimLeft(after[1:], " ")
	return keyScan{key: key, rest: strings.TrimRight(rest, " "), restCol: len(line) - len(rest), ok: true}
}

// key adds the node of the key ks found at indent on the current line.
func (p *fastParser) key(ks keyScan, indent int) int32 {
	if c := ks.key[0]; c == '"' || c == '\'' {
		return p.quoted(ks.key, indent)
	}
	return p.plain(ks.key, indent)
}

// inline parses a one-line value starting at column col of the current
// line.
func (p *fastParser) inline(text string, col int) int32 {
	text = strings.TrimRight(text, " ")
	switch text[0] {
	case '[', '{':
		n, rest := p.flow(text, col)
		if n < 0 || strings.TrimSpace(rest) != "" {
			return -1
		}
		return n
	case '"', '\'':
		if quoteEnd(text) != len(text)-1 {
			return -1
		}
		return p.quoted(text, col)
	}
	if !plainOKParse(text, false) {
		return -1
	}
	return p.plain(text, col)
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

// quoted adds the node of the quoted scalar token s, at column col of the
// current line.
func (p *fastParser) quoted(s string, col int) int32 {
	n := pnode{kind: uint8(yaml.ScalarNode), tag: tagStr, line: p.row(), col: int32(col + 1)}
	n.off, n.n = int32(p.start+col+1), int32(len(s)-2)
	if s[0] == '"' {
		n.style = uint8(yaml.DoubleQuotedStyle)
	} else {
		n.style = uint8(yaml.SingleQuotedStyle)
		if inner := s[1 : len(s)-1]; strings.Contains(inner, "''") {
			p.strs = append(p.strs, strings.ReplaceAll(inner, "''", "'"))
			n.n = int32(-len(p.strs))
		}
	}
	return p.add(n)
}

// plain adds the node of plain scalar s (plainOKParse(s) holds) at column
// col of the current line.
func (p *fastParser) plain(s string, col int) int32 {
	return p.add(pnode{kind: uint8(yaml.ScalarNode), tag: plainTag(s), off: int32(p.start + col), n: int32(len(s)), line: p.row(), col: int32(col + 1)})
}

// plainOKParse reports whether s is a plain scalar yaml.v3 reads as the
// text s, in a flow collection or not.
func plainOKParse(s string, inFlow bool) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' || s[len(s)-1] == ':' {
		return false
	}
	switch s[0] {
	case ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', '?', ':':
		return false
	case '-':
		if len(s) == 1 || s[1] == ' ' || inFlow {
			return false
		}
	}
	for i := 0; i < len(s); i++ {
		if !plainSpecial[s[i]] {
			continue
		}
		switch s[i] {
		case ':':
			if inFlow || i+1 < len(s) && s[i+1] == ' ' {
				return false
			}
		case ' ':
			if i+1 < len(s) && s[i+1] == '#' {
				return false
			}
		default: // one of ,[]{}?#'"
			if inFlow {
				return false
			}
		}
	}
	return true
}

// plainSpecial are the bytes plainOKParse looks at past the first.
var plainSpecial = func() (t [256]bool) {
	for _, c := range []byte(":  ,[]{}?#'\"") {
		t[c] = true
	}
	return t
}()

// plainTag is the tag yaml.v3 resolves plain scalar s to: its own
// resolution, without its cost for the common words and integers.
func plainTag(s string) uint8 {
	switch s[0] {
	case 'y', 'Y', 'o', 'O':
		return tagStr // yaml.v3 has no YAML 1.1 booleans
	case 'n', 'N', '~':
		switch s {
		case "~", "null", "Null", "NULL":
			return tagNull
		}
		return tagStr
	case 't', 'T':
		switch s {
		case "true", "True", "TRUE":
			return tagBool
		}
		return tagStr
	case 'f', 'F':
		switch s {
		case "false", "False", "FALSE":
			return tagBool
		}
		return tagStr
	case '+', '-', '.', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if decimal(s) {
			return tagInt
		}
		if !numberLike(s) {
			return tagStr
		}
		n := yaml.Node{Kind: yaml.ScalarNode, Value: s}
		return tagIndex(n.ShortTag())
	}
	return tagStr // yaml.v3 resolves only scalars starting as above
}

// numberLike reports whether yaml.v3 may resolve plain s, which starts
// like a number, to something other than a string: a date (four digits
// and a dash), infinity or not-a-number, or text of the characters Go's
// integer and float syntaxes use. Anything else ("-logs", "10000:8080")
// is a string, found without yaml.v3's failing conversions, which
// allocate their errors.
func numberLike(s string) bool {
	if len(s) >= 5 && s[4] == '-' && isDigit(s[0]) && isDigit(s[1]) && isDigit(s[2]) && isDigit(s[3]) {
		return true
	}
	switch strings.TrimLeft(s, "+-") {
	case ".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN":
		return true
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c), c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		case c == 'x', c == 'X', c == 'o', c == 'O', c == '_', c == '+', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}

// decimal reports whether s is a decimal integer int64 holds, without a
// leading zero (which yaml.v3 reads as octal, or else as a float).
func decimal(s string) bool {
	if s[0] == '-' || s[0] == '+' {
		s = s[1:]
	}
	if s == "" || len(s) > 18 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// flow parses a one-line flow collection at the start of s, which starts
// at column col of the current line; it returns the rest of s.
func (p *fastParser) flow(s string, col int) (int32, string) {
	n := pnode{kind: uint8(yaml.SequenceNode), tag: tagSeq, style: uint8(yaml.FlowStyle), line: p.row(), col: int32(col + 1)}
	closing := byte(']')
	if s[0] == '{' {
		n.kind, n.tag, closing = uint8(yaml.MappingNode), tagMap, '}'
	}
	isMap := n.kind == uint8(yaml.MappingNode)
	idx := p.add(n)
	base := len(p.stack)
	pos := 1
	skip := func() {
		for pos < len(s) && s[pos] == ' ' {
			pos++
		}
	}
	item := func(isKey bool) int32 {
		skip()
		if pos >= len(s) {
			return -1
		}
		switch s[pos] {
		case '[', '{':
			if isKey {
				return -1
			}
			c, rest := p.flow(s[pos:], col+pos)
			if c < 0 {
				return -1
			}
			pos = len(s) - len(rest)
			return c
		case '"', '\'':
			end := quoteEnd(s[pos:])
			if end < 0 {
				return -1
			}
			q := p.quoted(s[pos:pos+end+1], col+pos)
			pos += end + 1
			return q
		}
		start := pos
		for pos < len(s) {
			c := s[pos]
			if c == ',' || c == ']' || c == '}' {
				break
			}
			if c == ':' && (pos+1 == len(s) || s[pos+1] == ' ' || s[pos+1] == ',' || s[pos+1] == ']' || s[pos+1] == '}') {
				break
			}
			pos++
		}
		text := strings.TrimRight(s[start:pos], " ")
		if !plainOKParse(text, true) {
			return -1
		}
		return p.plain(text, col+start)
	}
	skip()
	if pos < len(s) && s[pos] == closing {
		return idx, s[pos+1:]
	}
	for {
		k := item(isMap)
		if k < 0 {
			return -1, ""
		}
		p.stack = append(p.stack, k)
		if isMap {
			skip()
			if pos+1 >= len(s) || s[pos] != ':' || s[pos+1] != ' ' {
				return -1, ""
			}
			pos++
			v := item(false)
			if v < 0 {
				return -1, ""
			}
			p.stack = append(p.stack, v)
		} else {
			skip()
			if pos < len(s) && s[pos] == ':' {
				return -1, "" // a single-pair mapping in a sequence
			}
		}
		skip()
		if pos >= len(s) {
			return -1, ""
		}
		switch s[pos] {
		case ',':
			pos++
			skip()
			if pos < len(s) && s[pos] == closing {
				return -1, "" // a trailing comma
			}
		case closing:
			p.children(idx, base)
			return idx, s[pos+1:]
		default:
			return -1, ""
		}
	}
}
