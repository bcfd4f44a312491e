package load

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/podtemplate/podtemplate/internal/benchgen"
	"gopkg.in/yaml.v3"
)

// sameTree compares two trees field by field.
func sameTree(a, b *yaml.Node, path string) error {
	if a.Kind != b.Kind || a.Tag != b.Tag || a.Value != b.Value || a.Style != b.Style || a.Anchor != b.Anchor ||
		a.Line != b.Line || a.Column != b.Column || a.HeadComment != b.HeadComment || a.LineComment != b.LineComment ||
		a.FootComment != b.FootComment || len(a.Content) != len(b.Content) {
		return fmt.Errorf("%s: %+v, yaml.v3 %+v", path, *a, *b)
	}
	for i := range a.Content {
		if err := sameTree(a.Content[i], b.Content[i], fmt.Sprintf("%s/%d", path, i)); err != nil {
			return err
		}
	}
	return nil
}

// TestParseAsYAMLv3 checks that Parse gives yaml.v3's tree for every
// stack file of the test data, small ones (parsed by codec.ParseFast where
// it can) and a benchgen stack large enough to be split.
func TestParseAsYAMLv3(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/*/*/*.yml")
	dir := t.TempDir()
	if _, err := benchgen.Write(dir, 1000); err != nil {
		t.Fatal(err)
	}
	compared := 0
	for _, name := range append(files, filepath.Join(dir, "stack.yml")) {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var doc yaml.Node
		dec := yaml.NewDecoder(bytes.NewReader(data))
		if dec.Decode(&doc) != nil || dec.Decode(new(yaml.Node)) == nil {
			continue
		}
		f, err := Parse(name, ".", data)
		if err != nil {
			continue // checks beyond the syntax (keys, aliases)
		}
		if err := sameTree(f.Doc, &doc, name); err != nil {
			t.Error(err)
		}
		compared++
	}
	if compared < 100 {
		t.Errorf("only %d files compared", compared)
	}
}

// BenchmarkParse10 parses a 10-service stack (below the size Split
// parses in parallel runs).
func BenchmarkParse10(b *testing.B) {
	data := benchgen.Stack(10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("stack.yml", ".", data); err != nil {
			b.Fatal(err)
		}
	}
}
