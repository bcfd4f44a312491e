package assemble

import (
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// entries returns the effective entries of mapping m as a flat key,
// value, key, value list. A mapping without merge keys (template outputs
// and services are flattened before the build) is read in place, so the
// build's many walks over small mappings allocate nothing; the list must
// not be changed.
func entries(m *yaml.Node) []*yaml.Node {
	m = yamlx.Resolve(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if yamlx.IsMergeKey(m.Content[i]) {
			pairs := yamlx.Pairs(m)
			flat := make([]*yaml.Node, 0, 2*len(pairs))
			for _, p := range pairs {
				flat = append(flat, p.Key, p.Value)
			}
			return flat
		}
	}
	return m.Content[:len(m.Content)&^1]
}

// plainStr reports whether n is written exactly as yamlx.Str(n.Value)
// would be: a string scalar of plain style without anchor or comments.
// Such a node can stand where the build would otherwise make a new one.
func plainStr(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!str" && n.Style == 0 && n.Anchor == "" &&
		n.HeadComment == "" && n.LineComment == "" && n.FootComment == ""
}

// keyNode is a key node for an entry copied from key: key itself where it
// is a plain string, else a new one (styles and comments of the input's
// keys are not carried over).
func keyNode(key *yaml.Node) *yaml.Node {
	if plainStr(key) {
		return key
	}
	return yamlx.Str(key.Value)
}

// setKey is yamlx.Set with the key node given: key (or, when it is not a
// plain string, a copy) becomes the new entry's key.
func setKey(m, key, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key.Value && !yamlx.IsMergeKey(m.Content[i]) {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, keyNode(key), v)
}
