package yamlx

import (
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"weak"

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

// checkKeysRef is CheckKeys' duplicate check as a map of every mapping's
// keys, the reference for its comparisons in small mappings.
func checkKeysRef(m *yaml.Node) *yaml.Node {
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if IsMergeKey(k) {
			continue
		}
		if seen[k.Value] {
			return k
		}
		seen[k.Value] = true
	}
	return nil
}

// TestCheckKeysDuplicates compares CheckKeys with the reference on
// mappings of up to twice smallMapping keys drawn from a few names, merge
// keys among them.
func TestCheckKeysDuplicates(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	names := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "<<"}
	for i := 0; i < 20000; i++ {
		m := Map()
		for j := r.IntN(2*smallMapping + 2); j > 0; j-- {
			k := Str(names[r.IntN(len(names))])
			if k.Value == MergeKey && r.IntN(2) == 0 {
				k.Tag = "!!merge"
			}
			m.Content = append(m.Content, k, Map())
		}
		want := checkKeysRef(m)
		got := CheckKeys(m)
		if (got == nil) != (want == nil) || got != nil && got.Node != want {
			t.Fatalf("CheckKeys on %d keys: %v, want the duplicate %v", len(m.Content)/2, got, want)
		}
	}
}

// BenchmarkCheckKeys checks the keys of one service's template outputs
// (see the codec's benchmarks), as a render does for every output.
func BenchmarkCheckKeys(b *testing.B) {
	var docs []*yaml.Node
	for _, src := range []string{
		"pod:\n  image: rycus86/podlike:0.5.1\n  command: -logs -pids=false\n  labels:\n    pod.owner: \"team3\"\n",
		"app:\n  image: example/app:3\n  environment:\n    - SERVICE=svc00003\n    - SHARD=3\n",
		"proxy:\n  image: nginx:1.25\n  environment:\n    UPSTREAM: \"127.0.0.1:8080\"\n  command: [\"nginx\", \"-g\", \"daemon off;\"]\nmetrics:\n  image: prom/statsd-exporter:v0.26.0\n  command: [\"--statsd.listen-udp=:9125\"]\n  labels:\n    shard: \"3\"\n",
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
			b.Fatal(err)
		}
		docs = append(docs, Body(&doc))
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, d := range docs {
			if p := CheckKeys(d); p != nil {
				b.Fatal(p.Msg)
			}
		}
	}
}

// TestDeleteReleasesTheRemovedEntry checks that what Delete removed is
// not kept alive by m's array, wherever the entry was, and that a node
// sharing m's old array still sees its entries.
func TestDeleteReleasesTheRemovedEntry(t *testing.T) {
	for _, at := range []int{0, 1, 2} {
		m := Map(Str("a"), Str("1"), Str("b"), Str("2"), Str("c"), Map(Str("big"), Str("subtree")))
		key := []string{"a", "b", "c"}[at]
		shared := *m // holds the same array
		before := append([]*yaml.Node(nil), m.Content...)
		removed := weak.Make(m.Content[2*at+1])
		removedKey := weak.Make(m.Content[2*at])
		if v := Delete(m, key); v == nil {
			t.Fatalf("Delete(%q) found nothing", key)
		}
		if len(m.Content) != 4 || Get(m, key) != nil {
			t.Fatalf("Delete(%q) left %d nodes", key, len(m.Content))
		}
		for i, n := range shared.Content {
			if n != before[i] {
				t.Fatalf("Delete(%q) changed the array another node holds at %d", key, i)
			}
		}
		shared.Content, before = nil, nil
		runtime.GC()
		if removed.Value() != nil || removedKey.Value() != nil {
			t.Errorf("Delete(%q): the removed entry is still reachable from m", key)
		}
		runtime.KeepAlive(m)
	}
}

func TestKeyIssueFindsByteOrderMarks(t *testing.T) {
	for key, bad := range map[string]bool{"image": false, "\uFEFFimage": true, "ima\uFEFFge": true, "imagé": false, "\u00EFimage": false} {
		if got := KeyIssue(Str(key)) != ""; got != bad {
			t.Errorf("KeyIssue(%q) reports a problem: %v, want %v", key, got, bad)
		}
	}
}

func TestReaderErrorAt(t *testing.T) {
	for _, tc := range []struct {
		data      string
		line, col int
	}{
		{"a: \"x\x00y\"\n", 1, 6},
		{"a: 1\nb: é\x01\n", 2, 5},
		{"a: 1\r\nb:\t\xff\n", 2, 4},
		{"a: \xc3\x28\n", 1, 4},
		{"a: \xed\xa0\x80\n", 1, 4}, // a surrogate
		{"a: \xe2\x82", 1, 4},       // cut short at the end
	} {
		var n yaml.Node
		err := yaml.Unmarshal([]byte(tc.data), &n)
		if err == nil {
			t.Fatalf("%q parsed", tc.data)
		}
		line, col, ok := readerErrorAt([]byte(tc.data), err.Error())
		if !ok || line != tc.line || col != tc.col {
			t.Errorf("%q (%v): %d:%d %v, want %d:%d", tc.data, err, line, col, ok, tc.line, tc.col)
		}
	}
	if _, _, ok := readerErrorAt([]byte("a: [\n"), "yaml: line 1: did not find expected node content"); ok {
		t.Error("a parser error was placed")
	}
	if _, _, ok := readerErrorAt([]byte("\xff\xfea\x00"), "yaml: control characters are not allowed"); ok {
		t.Error("a UTF-16 input was placed")
	}
}

func TestCheckAliasesBoundsText(t *testing.T) {
	// A kilobyte aliased 10^5 times: 111 111 nodes, under MaxExpanded,
	// but 100 MB of text.
	doc := "a: &a " + strings.Repeat("x", 1000) + "\n"
	prev := "a"
	for _, name := range []string{"b", "c", "d", "e", "f"} {
		doc += name + ": &" + name + " [" + strings.TrimSuffix(strings.Repeat("*"+prev+",", 10), ",") + "]\n"
		prev = name
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
		t.Fatal(err)
	}
	e := CheckAliases(&n)
	if e == nil || e.Node != nil || e.Bytes < 100_000_000 || !strings.Contains(e.Error(), "MiB of text from 1") {
		t.Fatalf("CheckAliases = %v", e)
	}
	// The same text written out is no bomb, however large, and aliases
	// that expand to less than MaxExpandedBytes are none either.
	big := "a: " + strings.Repeat("x", MaxExpandedBytes+1) + "\nb: [1, 2]\n"
	small := "a: &a " + strings.Repeat("x", 1000) + "\nb: [" + strings.TrimSuffix(strings.Repeat("*a,", 1000), ",") + "]\n"
	for name, doc := range map[string]string{"written out": big, "small": small} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
			t.Fatal(err)
		}
		if e := CheckAliases(&n); e != nil {
			t.Errorf("%s: %v", name, e)
		}
	}
}

// TestValueIntegersAsYAMLv3 reads integers as yaml.v3 (and so docker's
// loader) does: a leading zero is octal, so a secret's mode: 0400 is 256.
func TestValueIntegersAsYAMLv3(t *testing.T) {
	for _, text := range []string{"0400", "-0400", "+0755", "0", "-0", "42", "+42", "-17", "0o17", "0x1F", "1_000", "007"} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte("v: "+text), &doc); err != nil {
			t.Fatal(err)
		}
		got, err := Value(Get(Body(&doc), "v"))
		if err != nil {
			t.Fatal(err)
		}
		var want map[string]any
		if err := yaml.Unmarshal([]byte("v: "+text), &want); err != nil {
			t.Fatal(err)
		}
		if got != want["v"] {
			t.Errorf("%s: Value gives %#v, yaml.v3 %#v", text, got, want["v"])
		}
		if i, err := IntValue(Get(Body(&doc), "v")); err != nil || int(i) != want["v"] {
			t.Errorf("%s: IntValue gives %d, %v; yaml.v3 %#v", text, i, err, want["v"])
		}
	}
}
