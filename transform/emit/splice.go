package emit

import (
	"bytes"
	"sort"
	"strings"

	"github.com/podtemplate/podtemplate/transform/internal/codec"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// Input is the first input file as the earlier stages left it. The YAML
// output is its text with replacements spliced in: a rebuilt service's
// text replaced by the new service, removed entries cut out with their
// comments, changed scalars (interpolated values, rebased paths) replaced
// in place, everything else copied.
type Input struct {
	Text []byte     // the file's bytes
	Root *yaml.Node // its top-level mapping, as parsed (interpolated, extension fields removed)
	// Removed are the keys of the entries taken out of Root (extension
	// fields); only their positions are read, so their values can go.
	Removed []*yaml.Node
	// Merged says the output tree is not Root but several files merged:
	// Root's text is kept where the merge left its values as they were.
	Merged bool
	// BOM says the file began with a UTF-8 byte order mark (not in Text):
	// YAML output begins with one too.
	BOM bool
}

// layout is how the input writes YAML, for the text the output adds.
type layout struct {
	style    codec.Style
	services int // indentation of the service keys
}

// spliceable reports whether the output may be spliced into in's text,
// and the layout to write in: the top level and services are mappings
// without anchors (changes in flow style are found unplaceable later),
// and the text's lines can be followed.
func spliceable(in *Input) (*text, layout, bool) {
	if in == nil || in.Root == nil || len(in.Text) == 0 {
		return nil, layout{}, false
	}
	root := in.Root
	if root.Kind != yaml.MappingNode || root.Anchor != "" || root.Line == 0 {
		return nil, layout{}, false
	}
	t, ok := newText(in.Text)
	if !ok {
		return nil, layout{}, false
	}
	lay := layout{style: codec.Style{SeqIndent: -1}}
	services := yamlx.Get(root, "services")
	switch {
	case services == nil, services.Kind == yaml.ScalarNode && yamlx.IsNull(services):
	case services.Kind != yaml.MappingNode, services.Anchor != "":
		return nil, layout{}, false
	}
	detect(root, &lay.style)
	lay.style = codec.Style{Indent: lay.style.Indent, SeqIndent: lay.style.SeqIndent}
	if lay.style.Indent <= 0 {
		lay.style.Indent = 2
	}
	if lay.style.SeqIndent < 0 {
		lay.style.SeqIndent = lay.style.Indent
	}
	lay.services = lay.style.Indent
	if services != nil && len(services.Content) > 0 && services.Style&yaml.FlowStyle == 0 && root.Style&yaml.FlowStyle == 0 {
		lay.services = services.Content[0].Column - 1
	}
	return t, lay, true
}

// detect finds the input's mapping indentation (a nested block mapping's
// keys against its parent key) and sequence indentation (a block sequence's
// dashes against its key), services first.
func detect(root *yaml.Node, st *codec.Style) {
	var walk func(m *yaml.Node, depth int) bool
	walk = func(m *yaml.Node, depth int) bool {
		if depth > 8 || m.Kind != yaml.MappingNode || m.Style&yaml.FlowStyle != 0 {
			return false
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			if v.Line <= k.Line || v.Style&yaml.FlowStyle != 0 || len(v.Content) == 0 {
				continue
			}
			switch v.Kind {
			case yaml.MappingNode:
				if st.Indent <= 0 && v.Column > k.Column {
					st.Indent = v.Column - k.Column
				}
				if walk(v, depth+1) {
					return true
				}
			case yaml.SequenceNode:
				if st.SeqIndent < 0 && v.Column >= k.Column {
					st.SeqIndent = v.Column - k.Column
				}
			}
			if st.Indent > 0 && st.SeqIndent >= 0 {
				return true
			}
		}
		return false
	}
	if s := yamlx.Get(root, "services"); s != nil && walk(s, 0) {
		return
	}
	walk(root, 0)
}

// edit replaces text[from:to] with repl.
type edit struct {
	from, to int
	repl     string
}

// splicer collects the edits that turn the input's text into the output.
type splicer struct {
	t       *text
	lay     layout
	rebased map[*yaml.Node]bool // scalars finish changed without a $
	merged  bool
	edits   []edit
	failed  bool

	root    *yaml.Node // the input's top-level mapping
	anchors map[string][]*yaml.Node
}

// splice writes the output tree root as in's text with edits; ok is false
// where some change cannot be placed in the text (the caller then encodes
// the tree).
func splice(t *text, lay layout, in *Input, root *yaml.Node, rebased map[*yaml.Node]bool) ([]byte, bool) {
	s := &splicer{t: t, lay: lay, rebased: rebased, merged: in.Merged, root: in.Root}
	for _, k := range in.Removed {
		head, _, end, ok := t.entry(k)
		if !ok {
			return nil, false
		}
		s.cut(head, end)
	}
	s.mapping(in.Root, root)
	if s.failed {
		return nil, false
	}
	return s.apply()
}

func (s *splicer) fail() { s.failed = true }

// cut removes [from, to), and the blank lines after it when blank lines
// before it already separate what surrounds it.
func (s *splicer) cut(from, to int) {
	t := s.t
	before := from == 0 || t.lineOf(from) > 0 && isBlank(t, t.lineOf(from)-1)
	if before {
		for to < len(t.b) {
			li := t.lineOf(to)
			if !isBlank(t, li) {
				break
			}
			to = t.next(li)
		}
		if to == len(t.b) {
			for from > 0 && isBlank(t, t.lineOf(from)-1) {
				from = int(t.starts[t.lineOf(from)-1])
			}
		}
	}
	s.edits = append(s.edits, edit{from, to, ""})
}

func isBlank(t *text, li int) bool {
	_, kind, _ := t.line(li)
	return kind == blankLine
}

// replace puts text written with "\n" line breaks in place of [from, to).
func (s *splicer) replace(from, to int, repl string) {
	if s.t.nl != "\n" {
		repl = strings.ReplaceAll(repl, "\n", s.t.nl)
	}
	if to == len(s.t.b) && from == to && from > 0 && !bytes.HasSuffix(s.t.b, []byte("\n")) {
		repl = s.t.nl + repl // an entry added after a last line without its line break
	}
	// A written entry keeps its final line break even at the end of a
	// file without one: a block scalar's value may end with it.
	s.edits = append(s.edits, edit{from, to, repl})
}

// mapping splices the output mapping f over the input mapping o (the same
// node when the input is the output tree).
func (s *splicer) mapping(o, f *yaml.Node) {
	same := o == f
	var index map[string]int
	if !same {
		index = make(map[string]int, len(o.Content)/2)
		for i := 0; i+1 < len(o.Content); i += 2 {
			if yamlx.IsMergeKey(o.Content[i]) {
				s.fail() // the merged tree has no merge keys to match
				return
			}
			index[o.Content[i].Value] = i
		}
	}
	if !same && s.merged {
		// What the merge left out (docker's merge replaces a service's
		// logging whole when the driver changes, options and all) goes
		// from the text too.
		kept := make(map[string]bool, len(f.Content)/2)
		for i := 0; i+1 < len(f.Content); i += 2 {
			kept[f.Content[i].Value] = true
		}
		for i := 0; i+1 < len(o.Content); i += 2 {
			if kept[o.Content[i].Value] {
				continue
			}
			head, _, end, found := s.t.entry(o.Content[i])
			if !found {
				s.fail()
				return
			}
			s.cut(head, end)
		}
	}
	var added []*yaml.Node
	var last *yaml.Node // the last entry of the input's, for what is added
	for i := 0; i+1 < len(f.Content); i += 2 {
		fk, fv := f.Content[i], f.Content[i+1]
		ok, ov := fk, fv
		if !same {
			j, found := index[fk.Value]
			if !found {
				added = append(added, fk, fv)
				continue
			}
			ok, ov = o.Content[j], o.Content[j+1]
		}
		if ok.Line == 0 {
			added = append(added, fk, fv)
			continue
		}
		last = ok
		s.entry(ok, ov, fk, fv)
		if s.failed {
			return
		}
	}
	if len(added) == 0 {
		return
	}
	if last == nil {
		s.fail()
		return
	}
	_, _, end, ok := s.t.entry(last)
	if !ok {
		s.fail()
		return
	}
	var b bytes.Buffer
	for i := 0; i < len(added); i += 2 {
		if !s.write(&b, added[i], added[i+1], last.Column-1) {
			s.fail()
			return
		}
	}
	s.replace(end, end, b.String())
}

// write appends the entry k: v at indent, in the input's layout; a
// mapping of rebuilt services is written with their encoded text (moved
// to indent when the services are written elsewhere than where the
// input's are, as under a top-level `<<` merge key).
func (s *splicer) write(b *bytes.Buffer, k, v *yaml.Node, indent int) bool {
	if v.Tag == encodedTag {
		b.WriteString(shift(v.Value, indent-s.lay.services))
		return true
	}
	if v.Kind == yaml.MappingNode && holdsEncoded(v) {
		b.WriteString(strings.Repeat(" ", indent))
		if yamlx.IsMergeKey(k) {
			b.WriteString(yamlx.MergeKey)
		} else {
			b.WriteString(codec.Scalar(k, false, indent, s.lay.style))
		}
		b.WriteString(":\n")
		for i := 0; i+1 < len(v.Content); i += 2 {
			if !s.write(b, v.Content[i], v.Content[i+1], indent+s.lay.style.Indent) {
				return false
			}
		}
		return true
	}
	return codec.WriteStyled(b, yamlx.Map(k, v), indent, s.lay.style) == nil
}

// holdsEncoded reports whether mapping m holds an encoded service, at any
// depth of mappings.
func holdsEncoded(m *yaml.Node) bool {
	for i := 1; i < len(m.Content); i += 2 {
		v := m.Content[i]
		if v.Tag == encodedTag || v.Kind == yaml.MappingNode && holdsEncoded(v) {
			return true
		}
	}
	return false
}

// shift indents every line of encoded text by by spaces (less when by is
// negative: every line of it is indented at least that much).
func shift(text string, by int) string {
	if by == 0 {
		return text
	}
	lines := strings.SplitAfter(text, "\n")
	for i, l := range lines {
		switch {
		case by > 0 && len(l) > 1:
			lines[i] = strings.Repeat(" ", by) + l
		case by < 0 && len(l) >= -by && strings.TrimLeft(l[:-by], " ") == "":
			lines[i] = l[-by:]
		}
	}
	return strings.Join(lines, "")
}

// entry splices the output entry fk: fv over the input entry ok: ov.
func (s *splicer) entry(ok, ov, fk, fv *yaml.Node) {
	switch {
	case fv.Tag == encodedTag:
		_, start, end, found := s.t.entry(ok)
		if !found || ok.Column-1 != s.lay.services {
			s.fail()
			return
		}
		s.replace(start, end, fv.Value)
	case ov == fv && away(ok, fv):
		if !s.aliasHolds(ok, fv) {
			s.rewrite(ok, fv)
		}
	case ov == fv && fv.Kind == yaml.MappingNode && fv.Style&yaml.FlowStyle == 0 && rebuilt(fv):
		s.mapping(ov, fv) // services, with rebuilt or added ones
	case ov == fv || s.merged && yamlx.Equal(ov, fv):
		s.same(ov, ok.Column-1, false)
	case ov.Kind == yaml.MappingNode && fv.Kind == yaml.MappingNode && ov.Style&yaml.FlowStyle == 0 && len(ov.Content) > 0 && ov.Line > ok.Line:
		s.mapping(ov, fv)
	case ov.Kind == yaml.ScalarNode && fv.Kind == yaml.ScalarNode && ov.Line > 0:
		s.scalar(ov, fv, false, ok.Column-1)
	default:
		s.rewrite(ok, fv)
	}
}

// away reports whether v, the value of key k, was not parsed there: a copy
// put in place of an alias (its position is its anchor's, earlier), or a
// new node.
func away(k, v *yaml.Node) bool {
	return v.Line == 0 || v.Line < k.Line || v.Line == k.Line && v.Column <= k.Column
}

// rebuilt reports whether mapping m holds rebuilt (encoded) or added
// entries.
func rebuilt(m *yaml.Node) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Line == 0 || m.Content[i+1].Tag == encodedTag {
			return true
		}
	}
	return false
}

// aliasHolds reports whether the text after key k is an alias whose
// anchored value is still v's: an earlier stage expanded the alias (to
// interpolate or edit its target on its own), and the copy came out the
// same, so the alias can stay.
func (s *splicer) aliasHolds(k, v *yaml.Node) bool {
	off, ok := s.t.offset(k)
	if !ok {
		return false
	}
	line := s.t.b[off:s.t.lineEnd(s.t.lineOf(off))]
	i := bytes.Index(line, []byte(": *"))
	if i < 0 {
		return false
	}
	name := line[i+3:]
	if j := bytes.IndexAny(name, " \t#,]}"); j >= 0 {
		name = name[:j]
	}
	anchor := s.anchor(string(name), k)
	return anchor != nil && yamlx.Equal(anchor, v)
}

// anchor is the node anchored as name last before node at, among those
// the output keeps.
func (s *splicer) anchor(name string, at *yaml.Node) *yaml.Node {
	if s.anchors == nil {
		s.anchors = map[string][]*yaml.Node{}
		add := func(n *yaml.Node) {
			if n.Anchor != "" && n.Line > 0 {
				s.anchors[n.Anchor] = append(s.anchors[n.Anchor], n)
			}
		}
		yamlx.Walk(s.root, add) // anchors still in the output, not in removed entries or rebuilt services
	}
	var found *yaml.Node
	for _, n := range s.anchors[name] {
		if n.Line < at.Line || n.Line == at.Line && n.Column < at.Column {
			if found == nil || n.Line > found.Line || n.Line == found.Line && n.Column > found.Column {
				found = n
			}
		}
	}
	return found
}

// rewrite writes the entry of key k with value v in place of its text.
func (s *splicer) rewrite(k, v *yaml.Node) {
	_, start, end, ok := s.t.entry(k)
	if !ok {
		s.fail()
		return
	}
	var b bytes.Buffer
	key := *k
	key.HeadComment, key.FootComment = "", ""
	if !s.write(&b, &key, v, k.Column-1) {
		s.fail()
		return
	}
	s.replace(start, end, b.String())
}

// same walks a subtree the output shares with the input and replaces the
// scalars whose value is no longer what their text says. parent is the
// indentation of the block n is in.
func (s *splicer) same(n *yaml.Node, parent int, inFlow bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == encodedTag {
			s.fail()
			return
		}
		if s.changed(n) {
			s.scalar(n, n, inFlow, parent)
		}
	case yaml.MappingNode:
		flow := inFlow || n.Style&yaml.FlowStyle != 0
		if !flow && rebuilt(n) {
			s.mapping(n, n) // entries added by the build (a label on a volume)
			return
		}
		for i := 0; i+1 < len(n.Content) && !s.failed; i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if away(k, v) {
				switch {
				case s.aliasHolds(k, v):
				case flow:
					s.fail()
					return
				default:
					s.rewrite(k, v)
				}
				continue
			}
			s.same(v, k.Column-1, flow)
		}
	case yaml.SequenceNode:
		flow := inFlow || n.Style&yaml.FlowStyle != 0
		prev := n
		for _, it := range n.Content {
			if it.Line == 0 || it.Line < prev.Line || it.Line == prev.Line && it.Column < prev.Column {
				s.fail()
				return
			}
			prev = it
			s.same(it, n.Column-1, flow)
			if s.failed {
				return
			}
		}
	}
}

// changed reports whether scalar n may no longer be what its text says:
// only values with a $ (interpolated or escaped) and rebased paths change.
func (s *splicer) changed(n *yaml.Node) bool {
	if s.rebased[n] || strings.Contains(n.Value, "$") {
		return true
	}
	li := n.Line - 1
	if li < 0 || li >= len(s.t.flags) {
		return false
	}
	if s.t.flags[li]&hasDollar != 0 {
		return true
	}
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
		return false
	}
	// A token over several lines: look at all of them.
	off, ok := s.t.offset(n)
	if !ok {
		return true
	}
	end, ok := s.t.scalarEnd(off, n, true, 0)
	return !ok || bytes.IndexByte(s.t.b[off:end], '$') >= 0
}

// scalar replaces the token of input scalar o with output scalar f when
// the token does not read as f's value.
func (s *splicer) scalar(o, f *yaml.Node, inFlow bool, parent int) {
	off, ok := s.t.offset(o)
	if !ok {
		s.fail()
		return
	}
	end, ok := s.t.scalarEnd(off, o, inFlow, parent)
	if !ok {
		s.fail()
		return
	}
	token := s.t.b[off:end]
	var doc yaml.Node
	if off == end {
		if yamlx.IsNull(f) && f.Value == o.Value {
			return
		}
		s.fail()
		return
	}
	src := token
	if o.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 && end < len(s.t.b) {
		// The token stops before its last line break, which a block
		// scalar's value (clipped or kept) includes.
		src = append(append([]byte(nil), token...), '\n')
	}
	if err := yaml.Unmarshal(src, &doc); err != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.ScalarNode {
		s.fail()
		return
	}
	was := doc.Content[0]
	if was.Value == f.Value && was.ShortTag() == f.ShortTag() {
		return
	}
	if was.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 && f.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		if lines, ok := patchBlock(token, was, f.Value); ok {
			s.replace(off, end, lines)
			return
		}
	}
	s.replace(off, end, codec.Scalar(f, inFlow, parent, s.lay.style))
}

// patchBlock edits the text of a block scalar (header and content lines)
// that read as was so that it reads as value, changing only the lines that
// hold a change. The block's lines must map one to one onto its value:
// every content line at one indentation, and for a folded block no blank
// lines. A literal block may change on any of its lines (as long as the
// value keeps its number of lines); a folded one in one run within a line.
func patchBlock(token []byte, was *yaml.Node, value string) (string, bool) {
	text := strings.ReplaceAll(string(token), "\r\n", "\n")
	header, body, found := strings.Cut(text, "\n")
	if !found {
		return "", false
	}
	lines := strings.Split(body, "\n")
	indent := -1
	for _, l := range lines {
		if strings.TrimLeft(l, " ") == "" {
			if was.Style&yaml.FoldedStyle != 0 {
				return "", false
			}
			continue
		}
		ind := len(l) - len(strings.TrimLeft(l, " "))
		if indent >= 0 && ind != indent {
			return "", false
		}
		indent = ind
	}
	if indent <= 0 {
		return "", false
	}
	content := make([]string, len(lines))
	for i, l := range lines {
		if len(l) >= indent {
			content[i] = l[indent:]
		}
	}
	sep := "\n"
	if was.Style&yaml.FoldedStyle != 0 {
		sep = " "
	}
	joined := strings.Join(content, "\n")
	old := strings.TrimRight(was.Value, "\n")
	tail := was.Value[len(old):]
	if strings.ReplaceAll(joined, "\n", sep) != old || !strings.HasSuffix(value, tail) {
		return "", false
	}
	updated := value[:len(value)-len(tail)]
	pad := strings.Repeat(" ", indent)
	write := func(patched string) string {
		var b strings.Builder
		b.WriteString(header)
		for _, l := range strings.Split(patched, "\n") {
			b.WriteString("\n")
			if l != "" {
				b.WriteString(pad + l)
			}
		}
		return b.String()
	}
	if was.Style&yaml.LiteralStyle != 0 && strings.Count(updated, "\n") == strings.Count(joined, "\n") && !strings.ContainsAny(updated, "\r\t") {
		return write(updated), true // lines map to lines: each keeps its place
	}
	p := 0
	for p < len(old) && p < len(updated) && old[p] == updated[p] {
		p++
	}
	q0, q1 := len(old), len(updated)
	for q0 > p && q1 > p && old[q0-1] == updated[q1-1] {
		q0--
		q1--
	}
	mid := updated[p:q1]
	if strings.Contains(joined[p:q0], "\n") || strings.Contains(mid, "\n") || strings.ContainsAny(mid, "\r\t") {
		return "", false
	}
	return write(joined[:p] + mid + joined[q0:]), true
}

// apply writes the text with the edits; ok is false when two overlap
// partly. An edit inside another (an entry removed from a service that is
// replaced whole) is dropped.
func (s *splicer) apply() ([]byte, bool) {
	sort.SliceStable(s.edits, func(i, j int) bool {
		a, b := s.edits[i], s.edits[j]
		switch {
		case a.from != b.from:
			return a.from < b.from
		case a.to == a.from || b.to == b.from:
			return a.to == a.from && b.to != b.from // insertions first
		}
		return a.to > b.to
	})
	size, pos := len(s.t.b), 0
	for _, e := range s.edits {
		if e.from >= pos {
			size += len(e.repl) - (e.to - e.from)
			pos = e.to
		}
	}
	out := bytes.NewBuffer(make([]byte, 0, size))
	pos = 0
	for _, e := range s.edits {
		if e.from < pos {
			if e.to <= pos {
				continue
			}
			return nil, false
		}
		out.Write(s.t.b[pos:e.from])
		out.WriteString(e.repl)
		pos = e.to
	}
	out.Write(s.t.b[pos:])
	return out.Bytes(), true
}
