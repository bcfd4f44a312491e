package yamlx

import (
	"fmt"
	"math"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxExpanded bounds what a document's aliases may expand to, in nodes,
// when that is also more than ten times the document's own nodes: a few
// lines of nested aliases (an "alias bomb") can otherwise expand to
// billions. A 30 000-service stack written without aliases has about
// 2 million nodes and expands to itself, so only aliases can reach it.
const MaxExpanded = 1_000_000

// MaxExpandedBytes bounds the same in text (the bytes of the scalars the
// aliases reach), again only when that is ten times the document's own:
// a 1 MB string aliased 2 000 times is few nodes but 2 GB of output once
// the aliases are expanded. It is the size of the largest stack file read.
const MaxExpandedBytes = 64 << 20

// AliasError is an alias cycle or an alias bomb found by CheckAliases.
type AliasError struct {
	Node     *yaml.Node // the alias that closes a cycle (nil for a bomb)
	Anchor   string     // its anchor's name
	Expanded int        // nodes the aliases expand to (a bomb)
	Raw      int        // nodes in the document (a bomb)
	Bytes    int        // text the aliases expand to (a bomb of text; 0 otherwise)
	RawBytes int        // text in the document (a bomb of text)
}

func (e *AliasError) Error() string {
	if e.Node != nil {
		return fmt.Sprintf("alias *%s refers to a node that contains it (an alias cycle); a YAML value cannot contain itself", e.Anchor)
	}
	if e.Bytes > 0 {
		return fmt.Sprintf("aliases expand to %s of text from %s (an alias bomb?); expand them by hand if this is meant", byteSize(e.Bytes), byteSize(e.RawBytes))
	}
	return fmt.Sprintf("aliases expand to %d nodes from %d (an alias bomb?); expand them by hand if this is meant", e.Expanded, e.Raw)
}

// byteSize writes n bytes for a message: 900 bytes, 12 KiB, 105 MiB.
func byteSize(n int) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 10<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// CheckAliases walks n as a decoder would see it, following aliases and
// merge keys, and reports an alias that refers to one of its own ancestors
// (a cycle, which would make every expanding walk loop forever) or
// aliases that expand to more than MaxExpanded nodes (or MaxExpandedBytes
// of text) and ten times the document. Each node is visited once, so the
// check is linear in the document's size.
func CheckAliases(n *yaml.Node) *AliasError {
	if n == nil {
		return nil
	}
	const (
		active = -1 // on the current path
		// Sums of two counts stay below MaxInt on 32-bit systems too.
		limit = min(1<<40, math.MaxInt>>2)
	)
	type extent struct{ nodes, bytes int }
	sizes := map[*yaml.Node]extent{} // finished nodes: expanded size; active
	raw, rawBytes := 0, 0
	var cycle *AliasError
	var size func(n *yaml.Node, via *yaml.Node) extent
	size = func(n *yaml.Node, via *yaml.Node) extent {
		if cycle != nil {
			return extent{}
		}
		if n.Kind == yaml.AliasNode {
			raw++
			if n.Alias == nil {
				return extent{1, 0}
			}
			return size(n.Alias, n)
		}
		if s, ok := sizes[n]; ok {
			if s.nodes == active {
				cycle = &AliasError{Node: via, Anchor: n.Anchor}
				if via != nil {
					cycle.Anchor = via.Value
				}
				return extent{}
			}
			return s
		}
		if via == nil {
			raw++
			rawBytes += len(n.Value)
		}
		sizes[n] = extent{nodes: active}
		total := extent{1, len(n.Value)}
		for _, c := range n.Content {
			e := size(c, nil)
			total.nodes = min(total.nodes+e.nodes, limit)
			total.bytes = min(total.bytes+e.bytes, limit)
		}
		sizes[n] = total
		return total
	}
	// Content reached only through aliases is counted once in raw (when
	// the anchor itself is walked); that is what the document holds.
	expanded := size(n, nil)
	if cycle != nil {
		return cycle
	}
	if expanded.nodes > MaxExpanded && expanded.nodes > 10*raw {
		return &AliasError{Expanded: expanded.nodes, Raw: raw}
	}
	if expanded.bytes > MaxExpandedBytes && expanded.bytes > 10*rawBytes {
		return &AliasError{Expanded: expanded.nodes, Raw: raw, Bytes: expanded.bytes, RawBytes: rawBytes}
	}
	return nil
}

// MaxDepth bounds the nesting of a document, in stack files and template
// output alike, so hostile input cannot exhaust the stack of the walks
// that follow; stack files nest a dozen levels.
const MaxDepth = 200

// KeyProblem is a mapping key Compose would not read as the user meant.
type KeyProblem struct {
	Node *yaml.Node
	Msg  string
}

// CheckKeys reports the first mapping in n with a key that is not a
// scalar, a key given twice, or a key holding a byte-order mark (U+FEFF,
// invisible, so "\ufefflabels" looks like labels but is another key), or
// nesting deeper than MaxDepth. It follows Content only, never an alias.
func CheckKeys(n *yaml.Node) *KeyProblem {
	var walk func(n *yaml.Node, depth int) *KeyProblem
	walk = func(n *yaml.Node, depth int) *KeyProblem {
		if n == nil {
			return nil
		}
		if p := NodeProblem(n, depth); p != nil {
			return p
		}
		for _, c := range n.Content {
			if p := walk(c, depth+1); p != nil {
				return p
			}
		}
		return nil
	}
	return walk(n, 0)
}

// NodeProblem is CheckKeys' rule for one node n (not nil) at depth below
// the root, its children aside: the nesting bound, and for a mapping its
// keys. Load's walk of a stack file applies it too.
func NodeProblem(n *yaml.Node, depth int) *KeyProblem {
	if depth <= MaxDepth && n.Kind != yaml.MappingNode {
		return nil // (most nodes: this much inlines into the walks)
	}
	return nodeProblem(n, depth)
}

func nodeProblem(n *yaml.Node, depth int) *KeyProblem {
	if depth > MaxDepth {
		return &KeyProblem{n, fmt.Sprintf("nesting deeper than %d levels", MaxDepth)}
	}
	var seen map[string]bool // for large mappings: small ones compare
	if len(n.Content) > 2*smallMapping {
		seen = make(map[string]bool, len(n.Content)/2)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if p := KeyIssue(k); p != "" {
			return &KeyProblem{k, p}
		}
		if IsMergeKey(k) {
			continue
		}
		if seen != nil {
			if seen[k.Value] {
				return &KeyProblem{k, fmt.Sprintf("duplicate key %q", k.Value)}
			}
			seen[k.Value] = true
			continue
		}
		for j := 0; j < i; j += 2 {
			if e := n.Content[j]; e.Value == k.Value && !IsMergeKey(e) {
				return &KeyProblem{k, fmt.Sprintf("duplicate key %q", k.Value)}
			}
		}
	}
	return nil
}

// smallMapping is the most entries of a mapping whose keys are compared
// with each other rather than hashed: nearly all mappings, of stack files
// and template outputs alike, are small, and a map for each took 2% of a
// render's CPU.
const smallMapping = 12

// KeyIssue says what is wrong with mapping key k, or "".
func KeyIssue(k *yaml.Node) string {
	if k.Kind != yaml.ScalarNode {
		return fmt.Sprintf("mapping key is %s; expected a string", KindName(k))
	}
	// (A byte search first: it runs for every key, and ContainsRune
	// encodes the rune on every call.)
	if strings.IndexByte(k.Value, BOM[0]) >= 0 && strings.Contains(k.Value, BOM) {
		return fmt.Sprintf("key %q holds a byte-order mark (U+FEFF), an invisible character, so it is not the key it looks like; remove it", strings.ReplaceAll(k.Value, BOM, ""))
	}
	return ""
}
