package yamlx

import (
	"testing"

	"gopkg.in/yaml.v3"
)

func parse(t *testing.T, text string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatal(err)
	}
	return Body(&doc)
}

const mergeDoc = `
a: &a {x: from-a, y: from-a, only-a: 1}
b: &b {x: from-b, z: from-b, only-b: 2}
nested: &nested {<<: *a, n: 1}
own:
  <<: [*a, *b]
  x: own
list:
  <<: [*a, *b]
reversed:
  <<: [*b, *a]
deep:
  <<: *nested
`

func TestGetPairMergePrecedence(t *testing.T) {
	root := parse(t, mergeDoc)
	cases := []struct {
		svc, key, want string
		line           int
	}{
		{"own", "x", "own", 7},
		{"list", "x", "from-a", 2},
		{"list", "z", "from-b", 3},
		{"reversed", "x", "from-b", 3},
		{"reversed", "y", "from-a", 2},
		{"deep", "y", "from-a", 2},
	}
	for _, c := range cases {
		k, v := GetPair(Get(root, c.svc), c.key)
		if k == nil {
			t.Errorf("%s.%s: not found", c.svc, c.key)
			continue
		}
		if v.Value != c.want || k.Line != c.line {
			t.Errorf("%s.%s = %q at line %d; want %q at line %d", c.svc, c.key, v.Value, k.Line, c.want, c.line)
		}
	}
	if k, _ := GetPair(Get(root, "own"), "missing"); k != nil {
		t.Errorf("missing key found at line %d", k.Line)
	}
}

func TestDropMergedLeavesTheAnchoredNode(t *testing.T) {
	root := parse(t, mergeDoc)
	for _, svc := range []string{"own", "list", "reversed", "deep"} {
		m := Resolve(Get(root, svc))
		if !DropMerged(m, "x", "y") {
			t.Errorf("%s: DropMerged reported no change", svc)
		}
		for _, key := range []string{"x", "y"} {
			if k, v := GetPair(m, key); k != nil && !(svc == "own" && key == "x" && v.Value == "own") {
				t.Errorf("%s still merges %s = %q", svc, key, v.Value)
			}
		}
		if v := Get(m, "only-a"); v == nil || v.Value != "1" {
			t.Errorf("%s lost only-a", svc)
		}
	}
	if v := Get(Get(root, "list"), "only-b"); v == nil || v.Value != "2" {
		t.Errorf("list lost only-b")
	}
	for _, anchored := range []string{"a", "b", "nested"} {
		if Get(root, anchored) == nil {
			t.Fatalf("%s missing", anchored)
		}
	}
	if v := Get(root, "a"); Get(v, "x").Value != "from-a" || Get(v, "y") == nil {
		t.Errorf("the anchored node a was changed")
	}
	if Get(Get(root, "nested"), "y") == nil {
		t.Errorf("the anchored node nested was changed")
	}
	if DropMerged(Resolve(Get(root, "list")), "never") {
		t.Errorf("DropMerged changed a mapping that merges no such key")
	}
}

// TestEntriesMatchPairs checks that Entries yields what Pairs returns, and
// stops when the loop does.
func TestEntriesMatchPairs(t *testing.T) {
	root := parse(t, mergeDoc+"plain: {p: 1, q: 2, r: 3}\n")
	for _, p := range append(Pairs(root), Pair{Value: root}, Pair{Value: Str("scalar")}, Pair{Value: nil}) {
		var got []Pair
		for e := range Entries(p.Value) {
			got = append(got, e)
		}
		want := Pairs(p.Value)
		if len(got) != len(want) {
			t.Fatalf("%v: Entries yields %d entries, Pairs %d", p.Key, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%v: entry %d is %v, Pairs says %v", p.Key, i, got[i].Key.Value, want[i].Key.Value)
			}
		}
		for e := range Entries(p.Value) {
			if e != want[0] {
				t.Fatalf("first entry differs")
			}
			break
		}
	}
}
