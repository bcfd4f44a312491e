package yamlx

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// MaxExpanded bounds what a document's aliases may expand to, in nodes,
// when that is also more than ten times the document's own nodes: a few
// lines of nested aliases (an "alias bomb") can otherwise expand to
// billions. A 30 000-service stack written without aliases has about
// 2 million nodes and expands to itself, so only aliases can reach it.
const MaxExpanded = 1_000_000

// AliasError is an alias cycle or an alias bomb found by CheckAliases.
type AliasError struct {
	Node     *yaml.Node // the alias that closes a cycle (nil for a bomb)
	Anchor   string     // its anchor's name
	Expanded int        // nodes the aliases expand to (a bomb)
	Raw      int        // nodes in the document (a bomb)
}

func (e *AliasError) Error() string {
	if e.Node != nil {
		return fmt.Sprintf("alias *%s refers to a node that contains it (an alias cycle); a YAML value cannot contain itself", e.Anchor)
	}
	return fmt.Sprintf("aliases expand to %d nodes from %d (an alias bomb?); expand them by hand if this is meant", e.Expanded, e.Raw)
}

// CheckAliases walks n as a decoder would see it, following aliases and
// merge keys, and reports an alias that refers to one of its own ancestors
// (a cycle, which would make every expanding walk loop forever) or
// aliases that expand to more than MaxExpanded nodes and ten times the
// document. Each node is visited once, so the check is linear in the
// document's size.
func CheckAliases(n *yaml.Node) *AliasError {
	if n == nil {
		return nil
	}
	const (
		active = -1 // on the current path
	)
	sizes := map[*yaml.Node]int{} // finished nodes: expanded size; active
	raw := 0
	var cycle *AliasError
	var size func(n *yaml.Node, via *yaml.Node) int
	size = func(n *yaml.Node, via *yaml.Node) int {
		if cycle != nil {
			return 0
		}
		if n.Kind == yaml.AliasNode {
			raw++
			if n.Alias == nil {
				return 1
			}
			return size(n.Alias, n)
		}
		if s, ok := sizes[n]; ok {
			if s == active {
				cycle = &AliasError{Node: via, Anchor: n.Anchor}
				if via != nil {
					cycle.Anchor = via.Value
				}
				return 0
			}
			return s
		}
		if via == nil {
			raw++
		}
		sizes[n] = active
		total := 1
		for _, c := range n.Content {
			total += size(c, nil)
			if total > 1<<40 {
				total = 1 << 40
			}
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
	if expanded > MaxExpanded && expanded > 10*raw {
		return &AliasError{Expanded: expanded, Raw: raw}
	}
	return nil
}
