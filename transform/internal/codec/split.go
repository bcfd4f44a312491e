package codec

import (
	"bytes"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// splitMin is the size from which a file's services are parsed in
// parallel: yaml.v3 parses a megabyte in about a tenth of a second, on one
// core.
const splitMin = 256 << 10

// parseSplit parses a large stack file with its services block cut into
// contiguous runs of services (of about maxLines lines at most, and at
// least as many as workers where there are services enough) parsed by
// workers goroutines, and the rest of the file parsed on its own. It gives the same node tree as one parse (lines
// are shifted back to the file's), and declines (ok false) whenever the
// file's layout leaves any doubt: no plain `services:` block, comments
// between services, tabs, directives or several documents, or any anchor
// or alias crossing a cut (a run then fails to parse on its own). The
// caller then parses the file whole, which also reports any error.
func parseSplit(data []byte, workers, maxLines int) (doc *yaml.Node, ok bool) {
	if otherLineBreak(data) {
		return nil, false
	}
	// Line i is data[starts[i]:starts[i+1]], its line break included.
	starts := make([]int, 1, bytes.Count(data, []byte("\n"))+2)
	for i := 0; ; {
		j := bytes.IndexByte(data[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
		starts = append(starts, i)
	}
	nlines := len(starts)
	starts = append(starts, len(data))
	line := func(i int) []byte { return data[starts[i]:starts[i+1]] }
	start := -1
	for i := range nlines {
		l := data[starts[i]:starts[i+1]]
		if len(l) == 0 {
			continue
		}
		switch l[0] {
		case '-', '.':
			if bytes.HasPrefix(l, []byte("---")) || bytes.HasPrefix(l, []byte("...")) {
				return nil, false
			}
		case '%', '\t':
			return nil, false
		case 's':
			if start < 0 && string(bytes.TrimRight(l, " \r\n")) == "services:" {
				start = i
			}
		}
	}
	if start < 0 {
		return nil, false
	}
	end := nlines
	for i := start + 1; i < nlines; i++ {
		// (A line starting with anything but a blank or a line break
		// has content in its first column.)
		if l := data[starts[i]:starts[i+1]]; len(l) > 0 && l[0] != ' ' && firstChar(l) >= 0 {
			end = i
			break
		}
	}
	if end < nlines && data[starts[end]] == '#' {
		// A comment right after the block: yaml.v3 attaches it to the
		// services key, where the skeleton's parse would attach it to
		// the document.
		return nil, false
	}
	// Service keys: lines indented like the first one.
	indent := -1
	var keys []int
	for i := start + 1; i < end; i++ {
		l := data[starts[i]:starts[i+1]]
		c := firstChar(l)
		if c < 0 {
			continue
		}
		comment := l[c] == '#'
		if indent < 0 {
			if comment || l[c] == '-' {
				return nil, false
			}
			indent = c
		}
		switch {
		case c < indent, c == indent && comment:
			return nil, false
		case c == indent:
			if l[c] == '-' {
				return nil, false
			}
			keys = append(keys, i)
		}
		if comment && nextContentIsKey(line, i+1, end, indent) {
			return nil, false // a comment just before a service: leave its attachment to yaml.v3
		}
	}
	// (A comment as the block's last content was declined above: no
	// key follows it.)
	if len(keys) < 2 {
		return nil, false
	}
	// Runs of whole services, of about maxLines lines at most, and enough
	// of them to keep the workers busy; the workers take the next run in
	// turn.
	limit := min(maxLines, (end-keys[0]+workers-1)/max(workers, 1))
	type run struct {
		from, to int // lines [from, to)
		node     *yaml.Node
		ok       bool
	}
	var runs []run
	for i, k := range keys {
		if i == 0 || k-runs[len(runs)-1].from >= limit {
			if len(runs) > 0 {
				runs[len(runs)-1].to = k
			}
			runs = append(runs, run{from: k})
		}
	}
	runs[len(runs)-1].to = end
	// The runs' nodes keep substrings of the file's bytes, read as a
	// string without a copy (see Split).
	src := unsafe.String(unsafe.SliceData(data), len(data))
	var skeleton yaml.Node
	skeletonOK := false
	var wg sync.WaitGroup
	var next atomic.Int64
	for range min(workers, len(runs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(runs) {
					return
				}
				r := &runs[i]
				text := src[starts[r.from]:starts[r.to]]
				var d yaml.Node
				if fast, ok := parseFast(text, r.from, smallTree); ok {
					d = *fast // lines counted from the file's start already
				} else if yaml.Unmarshal([]byte(text), &d) == nil {
					shift(&d, r.from)
				} else {
					continue
				}
				body := yamlx.Body(&d)
				// (A run that is a flow mapping, or whose mapping has an
				// anchor or a tag, began with a line like "{}", "&x" or
				// "!!map" at the services' indent, which the whole file
				// does not parse.)
				if body == nil || body.Kind != yaml.MappingNode || body.Style != 0 || body.Anchor != "" || d.HeadComment != "" || d.FootComment != "" || body.FootComment != "" {
					continue
				}
				r.node, r.ok = body, true
			}
		}()
	}
	rest := make([]byte, 0, starts[start+1]+len(data)-starts[end])
	rest = append(append(rest, data[:starts[start+1]]...), data[starts[end]:]...)
	if yaml.Unmarshal(rest, &skeleton) == nil {
		skeletonOK = true
	}
	wg.Wait()
	if !skeletonOK {
		return nil, false
	}
	root := yamlx.Body(&skeleton)
	if root == nil || root.Kind != yaml.MappingNode {
		return nil, false
	}
	var services *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i]
		if k.Line == start+1 && k.Value == "services" {
			services = root.Content[i+1]
		}
	}
	if services == nil || !yamlx.IsNull(services) || services.LineComment != "" || services.FootComment != "" {
		return nil, false
	}
	// Lines after the cut-out block move back to their places.
	yamlx.Walk(&skeleton, func(n *yaml.Node) {
		if n.Line > start+1 {
			n.Line += end - start - 1
		}
	})
	n := 0
	for _, r := range runs {
		if !r.ok {
			return nil, false
		}
		n += len(r.node.Content)
	}
	merged := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: keys[0] + 1, Column: indent + 1, Content: make([]*yaml.Node, 0, n)}
	for _, r := range runs {
		merged.Content = append(merged.Content, r.node.Content...)
	}
	*services = *merged
	return &skeleton, true
}

// firstChar is the index of a line's first non-blank character, or -1.
func firstChar(line []byte) int {
	for i, c := range line {
		switch c {
		case ' ':
		case '\n', '\r':
			return -1
		default:
			return i
		}
	}
	return -1
}

// otherLineBreak says whether data breaks a line where the cuts (at
// "\n") do not, but yaml.v3 does: a carriage return alone, or NEL, LS or
// PS (YAML 1.1's line breaks).
func otherLineBreak(data []byte) bool {
	if bytes.IndexByte(data, '\r') >= 0 && bytes.Count(data, []byte("\r")) != bytes.Count(data, []byte("\r\n")) {
		return true
	}
	if bytes.IndexByte(data, 0xC2) >= 0 || bytes.IndexByte(data, 0xE2) >= 0 {
		for _, br := range []string{"\u0085", "\u2028", "\u2029"} {
			if bytes.Contains(data, []byte(br)) {
				return true
			}
		}
	}
	return false
}

func nextContentIsKey(line func(int) []byte, from, end, indent int) bool {
	for i := from; i < end; i++ {
		if c := firstChar(line(i)); c >= 0 {
			return c <= indent
		}
	}
	return true
}

// shift moves every node's line by n.
func shift(root *yaml.Node, n int) {
	yamlx.Walk(root, func(x *yaml.Node) { x.Line += n })
}

// runLines is about the most lines a run of services parsed on its own
// holds: the fast parser's scratch for that many is pooled, where one for
// half the file would take as much memory again as the parsed nodes.
const runLines = 2048

// Split parses a large stack file with its services in parallel runs (see
// parseSplit); ok is false for a small file, or whenever the file's layout
// leaves a doubt, and the caller then parses it whole. The tree's scalar
// values are read from data in place, not from a copy of the file (as
// large as the file, kept as long as the tree): data must not change
// while the tree is in use.
func Split(data []byte) (doc *yaml.Node, ok bool) {
	if len(data) < splitMin {
		return nil, false
	}
	return parseSplit(data, runtime.GOMAXPROCS(0), runLines)
}
