// Package yamlx has the small gopkg.in/yaml.v3 node operations the stages
// share: mapping lookup that honours `<<` merge keys, deep copies that
// resolve aliases, and constructors.
package yamlx

import (
	"iter"
	"strconv"

	"gopkg.in/yaml.v3"
)

// MergeKey is the YAML merge key.
const MergeKey = "<<"

// BOM is the byte order mark (U+FEFF) in UTF-8: "\xef\xbb\xbf".
const BOM = "\uFEFF"

// Resolve follows aliases to the node they name.
func Resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// Body returns the content of a document node, or n itself.
func Body(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		return n.Content[0]
	}
	return n
}

// IsMap reports whether n (after aliases) is a mapping.
func IsMap(n *yaml.Node) bool { n = Resolve(n); return n != nil && n.Kind == yaml.MappingNode }

// IsSeq reports whether n (after aliases) is a sequence.
func IsSeq(n *yaml.Node) bool { n = Resolve(n); return n != nil && n.Kind == yaml.SequenceNode }

// IsNull reports whether n is absent or a YAML null.
func IsNull(n *yaml.Node) bool {
	n = Resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// IsMergeKey reports whether key is a `<<` merge key.
func IsMergeKey(key *yaml.Node) bool {
	return key.Kind == yaml.ScalarNode && key.Value == MergeKey && (key.Tag == "!!merge" || key.Tag == "")
}

// Pair is one key/value entry of a mapping.
type Pair struct{ Key, Value *yaml.Node }

// Pairs returns the effective entries of mapping m: its own keys in order,
// then keys brought in by `<<` merge keys that m does not set itself.
func Pairs(m *yaml.Node) []Pair {
	m = Resolve(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	own := make([]Pair, 0, len(m.Content)/2)
	var merged []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if IsMergeKey(k) {
			merged = append(merged, v)
			continue
		}
		own = append(own, Pair{k, v})
	}
	if len(merged) == 0 {
		return own
	}
	seen := make(map[string]bool, len(own))
	for _, p := range own {
		seen[p.Key.Value] = true
	}
	var sources []*yaml.Node
	for _, v := range merged {
		v = Resolve(v)
		if v.Kind == yaml.SequenceNode {
			sources = append(sources, v.Content...)
		} else {
			sources = append(sources, v)
		}
	}
	out := own
	for _, src := range sources {
		for p := range Entries(src) {
			if !seen[p.Key.Value] {
				seen[p.Key.Value] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// Entries yields the effective entries of mapping m, those Pairs returns
// in the same order, without building a slice of them when m has no merge
// keys: for callers that only loop over a mapping's entries.
func Entries(m *yaml.Node) iter.Seq[Pair] {
	return func(yield func(Pair) bool) {
		m := Resolve(m)
		if m == nil || m.Kind != yaml.MappingNode {
			return
		}
		if hasMergeKey(m) {
			for _, p := range Pairs(m) {
				if !yield(p) {
					return
				}
			}
			return
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			if !yield(Pair{m.Content[i], m.Content[i+1]}) {
				return
			}
		}
	}
}

// Get returns the value of key in mapping m (honouring merge keys), or nil.
func Get(m *yaml.Node, key string) *yaml.Node {
	m = Resolve(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	merges := false
	for i := 0; i+1 < len(m.Content); i += 2 {
		if IsMergeKey(m.Content[i]) {
			merges = true
		} else if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	if merges {
		for p := range Entries(m) {
			if p.Key.Value == key {
				return p.Value
			}
		}
	}
	return nil
}

// GetKey returns the key node and value of key among m's own entries.
func GetKey(m *yaml.Node, key string) (k, v *yaml.Node) {
	m = Resolve(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && !IsMergeKey(m.Content[i]) {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// GetPair returns the key node and value of key among m's effective
// entries: its own key first, else the one its `<<` merge keys bring in
// (earlier merge sources first), so positions point at the real node.
func GetPair(m *yaml.Node, key string) (k, v *yaml.Node) {
	if k, v = GetKey(m, key); k != nil {
		return k, v
	}
	if !hasMergeKey(Resolve(m)) {
		return nil, nil
	}
	for p := range Entries(m) {
		if p.Key.Value == key {
			return p.Key, p.Value
		}
	}
	return nil, nil
}

// DropMerged makes the `<<` merge keys of mapping m stop bringing in keys:
// each merge source that would bring one in is replaced, in m only, by a
// flattened copy without them; the shared anchored node is left as it is.
// It reports whether it changed m.
func DropMerged(m *yaml.Node, keys ...string) bool {
	if m == nil || m.Kind != yaml.MappingNode {
		return false
	}
	brings := func(src *yaml.Node) bool {
		for _, key := range keys {
			if k, _ := GetPair(src, key); k != nil {
				return true
			}
		}
		return false
	}
	without := func(src *yaml.Node) *yaml.Node {
		c := Flatten(src)
		for _, key := range keys {
			Delete(c, key)
		}
		return c
	}
	changed := false
	for i := 0; i+1 < len(m.Content); i += 2 {
		if !IsMergeKey(m.Content[i]) {
			continue
		}
		v := Resolve(m.Content[i+1])
		switch {
		case v == nil:
		case v.Kind == yaml.SequenceNode:
			var items []*yaml.Node
			for j, item := range v.Content {
				if !brings(item) {
					continue
				}
				if items == nil {
					items = append([]*yaml.Node(nil), v.Content...)
				}
				items[j] = without(item)
			}
			if items != nil {
				seq := *v
				seq.Anchor, seq.Content = "", items
				m.Content[i+1] = &seq
				changed = true
			}
		case brings(v):
			m.Content[i+1] = without(v)
			changed = true
		}
	}
	return changed
}

func hasMergeKey(m *yaml.Node) bool {
	if m == nil || m.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if IsMergeKey(m.Content[i]) {
			return true
		}
	}
	return false
}

// Set sets key to v in mapping m, in place if present, appended otherwise.
func Set(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && !IsMergeKey(m.Content[i]) {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, Str(key), v)
}

// Delete removes key from mapping m and returns the removed value. m gets
// a new array of its other entries, of their exact size: the old one may
// be shared (a copy of m's node holds it too), so it is left as it is,
// and it is not kept, so it holds the removed entry alive for nobody.
func Delete(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && !IsMergeKey(m.Content[i]) {
			v := m.Content[i+1]
			kept := make([]*yaml.Node, len(m.Content)-2)
			copy(kept, m.Content[:i])
			copy(kept[i:], m.Content[i+2:])
			m.Content = kept
			return v
		}
	}
	return nil
}

// Copy returns a deep copy of n with aliases replaced by copies of their
// targets and anchors dropped, so the copy can live anywhere in a document.
func Copy(n *yaml.Node) *yaml.Node {
	n = Resolve(n)
	if n == nil {
		return nil
	}
	c := *n
	c.Anchor = ""
	c.Alias = nil
	if len(n.Content) > 0 {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, child := range n.Content {
			c.Content[i] = Copy(child)
		}
	}
	return &c
}

// Flatten returns a copy of n with aliases expanded and `<<` merge keys
// applied, so later edits see every effective key as an own key.
func Flatten(n *yaml.Node) *yaml.Node {
	n = Resolve(n)
	if n == nil {
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		c := *n
		c.Anchor, c.Alias = "", nil
		pairs := Pairs(n)
		c.Content = make([]*yaml.Node, 0, 2*len(pairs))
		for _, p := range pairs {
			c.Content = append(c.Content, Copy(p.Key), Flatten(p.Value))
		}
		return &c
	case yaml.SequenceNode, yaml.DocumentNode:
		c := *n
		c.Anchor, c.Alias = "", nil
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, child := range n.Content {
			c.Content[i] = Flatten(child)
		}
		return &c
	}
	return Copy(n)
}

// Str returns a plain string scalar.
func Str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

// Null returns a null scalar.
func Null() *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
}

// Int returns an integer scalar.
func Int(i int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(i)}
}

// Bool returns a boolean scalar.
func Bool(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

// Map returns a mapping of the given key/value pairs.
func Map(kv ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: kv}
}

// Seq returns a sequence of the given items.
func Seq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: items}
}

// Scalar returns the scalar text of n, and whether n is a scalar.
func Scalar(n *yaml.Node) (string, bool) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode {
		return "", false
	}
	return n.Value, true
}

// Walk calls fn on n and every node below it once, aliases not followed.
func Walk(n *yaml.Node, fn func(*yaml.Node)) {
	if n == nil {
		return
	}
	fn(n)
	for _, c := range n.Content {
		Walk(c, fn)
	}
}

// KindName names a node's kind for error messages.
func KindName(n *yaml.Node) string {
	n = Resolve(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "a scalar"
	}
	return "a document"
}

// Value converts n to plain Go values as yaml.v3's Decode into an any
// does (map[string]any, []any, string, int, float64, bool, nil), without
// its reflection for the common scalars; aliases and merge keys are
// followed.
func Value(n *yaml.Node) (any, error) {
	n = Resolve(n)
	if n == nil {
		return nil, nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		pairs := Pairs(n)
		m := make(map[string]any, len(pairs))
		for _, p := range pairs {
			v, err := Value(p.Value)
			if err != nil {
				return nil, err
			}
			m[p.Key.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := Value(c)
			if err != nil {
				return nil, err
			}
			s[i] = v
		}
		return s, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return n.Value, nil
		case "!!null":
			return nil, nil
		case "!!bool":
			switch n.Value {
			case "true", "True", "TRUE":
				return true, nil
			case "false", "False", "FALSE":
				return false, nil
			}
		case "!!int":
			// As yaml.v3 (and docker) read it: mode: 0400 is 256.
			if i, err := IntValue(n); err == nil && int64(int(i)) == i {
				return int(i), nil
			}
		}
	}
	var v any
	err := n.Decode(&v)
	return v, err
}

// IntValue reads an !!int scalar as yaml.v3 (and docker, and podlike's
// yaml.v2) do: a leading zero makes it octal (YAML 1.1: 010 is 8), and
// 0x10, 0o10 and 1_000 are integers too. Callers read the text of a
// string scalar (a quoted or interpolated "010") their own way.
func IntValue(n *yaml.Node) (int64, error) {
	if !leadingZero(n.Value) {
		if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
			return i, nil
		}
	}
	var i int64
	err := n.Decode(&i)
	return i, err
}

// leadingZero reports whether the integer s has a zero before other
// digits (after its sign), as octal numbers are written in YAML 1.1.
func leadingZero(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	return len(s) > 1 && s[0] == '0'
}

// Equal reports whether two nodes hold the same YAML value (aliases
// followed; styles, comments and positions ignored).
func Equal(a, b *yaml.Node) bool {
	a, b = Resolve(a), Resolve(b)
	if a == nil || b == nil {
		return a == b
	}
	if a.Kind != b.Kind {
		return false
	}
	if a.Kind == yaml.ScalarNode {
		return a.Value == b.Value && a.ShortTag() == b.ShortTag()
	}
	if len(a.Content) != len(b.Content) {
		return false
	}
	for i := range a.Content {
		if !Equal(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}
