package config

import (
	"testing"

	"github.com/podtemplate/podtemplate/transform/load"
	"github.com/podtemplate/podtemplate/transform/yamlx"
)

// TestRootMergeKey checks that top-level merge keys bring x-podlike and
// x-jobs in as docker's loader sees them (own key first, then the first
// source), and that Strip makes them stop bringing them in, in the root
// only: the anchored mappings and the root's old entries stay as they
// were, a merge key left with nothing to bring goes, and the others keep
// their other keys.
func TestRootMergeKey(t *testing.T) {
	f, err := load.Parse("stack.yml", "/stacks", []byte(`version: "3.8"
x-a: &a
  x-podlike:
    web: {pod: {inline: "a: {}"}}
x-b: &b
  x-podlike:
    api: {pod: {inline: "b: {}"}}
  x-jobs:
    migrate: {attempts: 5}
  networks:
    front: {}
<<: [*a, *b]
x-jobs:
  migrate: {attempts: 2}
services:
  web: {image: nginx}
  api: {image: nginx}
  migrate: {image: app}
`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Collect([]*load.File{f})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.PodOrder; len(got) != 1 || got[0] != "web" {
		t.Errorf("pods %v, want [web]: the first source's x-podlike wins", got)
	}
	if got := c.JobOrder; len(got) != 1 || got[0] != "migrate" {
		t.Errorf("jobs %v, want [migrate]: the own key wins", got)
	}
	if opts := c.Jobs["migrate"].levels.top.opts; opts["attempts"] == nil || opts["attempts"].Value != "2" {
		t.Errorf("migrate's attempts are not the own key's")
	}
	if p := c.Pods["web"].Pos; p.Line != 4 || p.Column != 5 {
		t.Errorf("web configured at %d:%d, want the anchored text's 4:5", p.Line, p.Column)
	}

	old := f.Root.Content
	before := append(old[:0:0], old...)
	anchored := yamlx.Resolve(yamlx.Get(f.Root, "x-b"))
	anchoredLen := len(anchored.Content)
	keys := Strip([]*load.File{f})
	for i := range before {
		if old[i] != before[i] {
			t.Fatalf("Strip changed the root's old array at %d", i)
		}
	}
	if len(anchored.Content) != anchoredLen {
		t.Errorf("Strip changed the anchored mapping")
	}
	for _, key := range []string{PodlikeKey, JobsKey} {
		if k, _ := yamlx.GetPair(f.Root, key); k != nil {
			t.Errorf("the root still brings %s, from line %d", key, k.Line)
		}
	}
	if yamlx.Get(f.Root, "networks") == nil {
		t.Errorf("the root's merge key no longer brings networks")
	}
	merges := 0
	for i := 0; i < len(f.Root.Content); i += 2 {
		if yamlx.IsMergeKey(f.Root.Content[i]) {
			merges++
			if items := yamlx.Resolve(f.Root.Content[i+1]); items.Kind != yamlx.Seq().Kind || len(items.Content) != 1 {
				t.Errorf("the merge key brings %d sources, want 1 (x-a's brought nothing else)", len(items.Content))
			}
		}
	}
	if merges != 1 {
		t.Errorf("%d merge keys at the top level, want 1", merges)
	}
	if len(keys[0]) != 1 || keys[0][0].Value != JobsKey {
		t.Errorf("removed keys %v, want the own x-jobs only (the merge key stays)", keys[0])
	}
}
