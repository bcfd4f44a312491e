// Package merge applies the spec's merge rules when a later template's
// result is merged into the earlier result: a key already set keeps its
// value, except that collections combine.
package merge

import (
	"strings"

	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// Into merges over into base (both mappings) and returns base:
//   - a key base lacks is added;
//   - map into map merges recursively;
//   - list into list appends;
//   - a map into a list of KEY=VALUE strings (or the reverse) converts the
//     list to a map first, then merges;
//   - a scalar into a list appends it;
//   - anything else keeps base's value.
func Into(base, over *yaml.Node) *yaml.Node {
	if base == nil || yamlx.IsNull(base) {
		return over
	}
	if over == nil {
		return base
	}
	for _, p := range yamlx.Pairs(over) {
		cur := yamlx.Get(base, p.Key.Value)
		if cur == nil || yamlx.IsNull(cur) {
			yamlx.Set(base, p.Key.Value, p.Value)
			continue
		}
		yamlx.Set(base, p.Key.Value, Value(cur, p.Value))
	}
	return base
}

// Value combines two values for one key with the rules of Into.
func Value(base, over *yaml.Node) *yaml.Node {
	base, over = yamlx.Resolve(base), yamlx.Resolve(over)
	switch {
	case yamlx.IsNull(over):
		return base
	case base.Kind == yaml.MappingNode && over.Kind == yaml.MappingNode:
		return Into(base, over)
	case base.Kind == yaml.SequenceNode && over.Kind == yaml.SequenceNode:
		base.Content = append(base.Content, over.Content...)
		return base
	case base.Kind == yaml.SequenceNode && over.Kind == yaml.MappingNode:
		if m, ok := keyValueMap(base); ok {
			return Into(m, over)
		}
	case base.Kind == yaml.MappingNode && over.Kind == yaml.SequenceNode:
		if m, ok := keyValueMap(over); ok {
			return Into(base, m)
		}
	case base.Kind == yaml.SequenceNode && over.Kind == yaml.ScalarNode:
		base.Content = append(base.Content, over)
		return base
	}
	return base
}

// keyValueMap converts a list of KEY=VALUE strings to a mapping; ok is
// false when the list is not such a list: an item that is not a string or
// not KEY[=VALUE], or no item with "=" at all (a command's arguments are
// not settings).
func keyValueMap(seq *yaml.Node) (*yaml.Node, bool) {
	withValue := false
	for _, it := range seq.Content {
		it = yamlx.Resolve(it)
		if it.Kind != yaml.ScalarNode {
			return nil, false
		}
		key, _, hasValue := strings.Cut(it.Value, "=")
		if !isKey(key) {
			return nil, false
		}
		withValue = withValue || hasValue
	}
	if !withValue {
		return nil, false
	}
	return yamlx.KeyValueMap(seq), true
}

// isKey reports whether s is an environment variable or label key:
// [A-Za-z_][A-Za-z0-9_.-]* (a byte loop: no regular expression to
// compile at every start).
func isKey(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return s != ""
}
