package merge

import (
	"regexp"
	"strings"
	"testing"

	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

func node(t *testing.T, s string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(s), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

func text(t *testing.T, n *yaml.Node) string {
	t.Helper()
	n.Style = yaml.FlowStyle
	b, err := yaml.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestInto(t *testing.T) {
	for _, tc := range []struct{ name, base, over, want string }{
		{"new key added", `{a: 1}`, `{b: 2}`, `{a: 1, b: 2}`},
		{"scalar kept", `{a: 1}`, `{a: 2}`, `{a: 1}`},
		{"map into map merges", `{e: {A: "1"}}`, `{e: {A: "2", B: "3"}}`, `{e: {A: "1", B: "3"}}`},
		{"list into list appends", `{v: [a, b]}`, `{v: [c]}`, `{v: [a, b, c]}`},
		{"map into KEY=VALUE list", `{e: [A=1, B]}`, `{e: {A: "9", C: "3"}}`, `{e: {A: "1", B: null, C: "3"}}`},
		{"map into a command list kept", `{c: [run, --fast]}`, `{c: {x: y}}`, `{c: [run, --fast]}`},
		{"KEY=VALUE list into map", `{e: {A: "1"}}`, `{e: [A=9, C=3]}`, `{e: {A: "1", C: "3"}}`},
		{"string into list appends", `{c: [a]}`, `{c: b}`, `{c: [a, b]}`},
		{"list into scalar kept", `{c: a}`, `{c: [b]}`, `{c: a}`},
		{"map into scalar kept", `{c: a}`, `{c: {b: 1}}`, `{c: a}`},
		{"map into non-KV list kept", `{p: [{target: 80}]}`, `{p: {a: 1}}`, `{p: [{target: 80}]}`},
		{"null base takes over", `{a: null}`, `{a: [1]}`, `{a: [1]}`},
		{"null over keeps base", `{a: [1]}`, `{a: null}`, `{a: [1]}`},
		{"nested three levels", `{d: {r: {c: none}}}`, `{d: {r: {c: any, d: 5s}, m: global}}`, `{d: {r: {c: none, d: 5s}, m: global}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := text(t, Into(node(t, tc.base), node(t, tc.over)))
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// FuzzInto merges arbitrary mappings: never a panic, and every key of
// either side is in the result.
func FuzzInto(f *testing.F) {
	f.Add("{a: 1, e: [A=1]}", "{e: {B: 2}, c: [x]}")
	f.Add("{v: [a]}", "{v: b}")
	f.Add("{m: {x: {y: 1}}}", "{m: {x: {z: [1]}}}")
	f.Fuzz(func(t *testing.T, a, b string) {
		var da, db yaml.Node
		if yaml.Unmarshal([]byte(a), &da) != nil || yaml.Unmarshal([]byte(b), &db) != nil {
			return
		}
		if len(da.Content) == 0 || len(db.Content) == 0 || da.Content[0].Kind != yaml.MappingNode || db.Content[0].Kind != yaml.MappingNode {
			return
		}
		base, over := da.Content[0], db.Content[0]
		keys := map[string]bool{}
		for _, n := range []*yaml.Node{base, over} {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value != "<<" {
					keys[n.Content[i].Value] = true
				}
			}
		}
		out := Into(base, over)
		for k := range keys {
			found := false
			for i := 0; i+1 < len(out.Content); i += 2 {
				found = found || out.Content[i].Value == k
			}
			if !found {
				t.Fatalf("key %q lost", k)
			}
		}
		if _, err := yaml.Marshal(out); err != nil {
			t.Fatalf("result does not encode: %v", err)
		}
	})
}

// BenchmarkInto merges a template result into a service definition.
func BenchmarkInto(b *testing.B) {
	var base, over yaml.Node
	_ = yaml.Unmarshal([]byte("image: a\nenvironment: [A=1, B=2]\nlabels: {x: y}\nvolumes: [d:/d]\ndeploy: {replicas: 2, restart_policy: {condition: any}}\n"), &base)
	_ = yaml.Unmarshal([]byte("environment: {C: '3'}\nlabels: {z: w}\nvolumes: [e:/e]\ndeploy: {restart_policy: {delay: 5s}}\n"), &over)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Into(yamlx.Copy(base.Content[0]), yamlx.Copy(over.Content[0]))
	}
}

// TestIsKey checks the byte loop against the regular expression it
// replaces.
func TestIsKey(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)
	for _, s := range []string{"", "A", "_", "a1", "1a", "a.b-c_d", "a b", "a=b", ".a", "-a", "é", "aé", "A_Z.9-", "a\n", "Zz09", "a/b", "a:b"} {
		if got, want := isKey(s), re.MatchString(s); got != want {
			t.Errorf("isKey(%q) = %v, want %v", s, got, want)
		}
	}
}
