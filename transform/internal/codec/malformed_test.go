package codec

import (
	"bytes"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestWritersRefuseMalformedTrees: a tree no YAML text can hold (a build
// that added entries to a scalar labels) is an error for both writers,
// never text such as "labels:\nhello".
func TestWritersRefuseMalformedTrees(t *testing.T) {
	str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
	scalarWithEntries := str("hello")
	scalarWithEntries.Content = []*yaml.Node{str("k"), str("v")}
	cases := map[string]struct {
		tree *yaml.Node
		want string
	}{
		"scalar with entries": {&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str("labels"), scalarWithEntries}}, `the scalar "hello" holds 2 child nodes`},
		"odd mapping":         {&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str("a"), {Kind: yaml.MappingNode, Content: []*yaml.Node{str("k")}}}}, "a mapping holds 1 nodes"},
		"missing node":        {&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{str("a"), nil}}, "missing node"},
		"dangling alias":      {&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{{Kind: yaml.AliasNode, Value: "x"}}}, `the alias "x" points nowhere`},
	}
	for name, c := range cases {
		var b bytes.Buffer
		err := Write(&b, c.tree)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Write gave %v (text %q); want an error containing %q", name, err, b.String(), c.want)
		}
		if name == "missing node" {
			continue // JSON writes a missing node as null
		}
		if _, err := JSON(c.tree, ""); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: JSON gave %v; want an error containing %q", name, err, c.want)
		}
	}
}
