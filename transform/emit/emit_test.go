package emit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// TestEncodeMatchesOneEncode checks that writing big mappings entry by entry
// gives exactly what one yaml.v3 Encode of the whole document gives, on
// every input of the golden and error corpora.
func TestEncodeMatchesOneEncode(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/*/*/*.yml")
	files = append(files, "testdata/comments.yml")
	if len(files) == 0 {
		t.Fatal("no corpus files found")
	}
	checked := 0
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), ".") {
			continue // a temporary file of a test running beside this one
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc yaml.Node
		if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
			continue
		}
		whole, err := encodeNode(&doc)
		if err != nil {
			continue
		}
		parts, err := encodeYAML(&doc)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !bytes.Equal(whole, parts) {
			t.Errorf("%s: entry-by-entry encoding differs:\\n--- whole\\n%s\\n--- parts\\n%s", f, whole, parts)
		}
		checked++
	}
	t.Logf("%d files compared", checked)
}

// TestShift checks that an encoded service moves by whole indentation
// steps, blank lines (of a block scalar) left blank.
func TestShift(t *testing.T) {
	text := "    web:\n      note: |\n        one\n\n        three\n"
	if got, want := shift(text, 2), "      web:\n        note: |\n          one\n\n          three\n"; got != want {
		t.Errorf("shift +2:\n%s\nwant:\n%s", got, want)
	}
	if got, want := shift(text, -2), "  web:\n    note: |\n      one\n\n      three\n"; got != want {
		t.Errorf("shift -2:\n%s\nwant:\n%s", got, want)
	}
	if got := shift(text, 0); got != text {
		t.Errorf("shift 0 changed the text:\n%s", got)
	}
}

// TestReindent checks that services encoded at another indentation are
// moved to the encoder's two spaces, their own nesting kept.
func TestReindent(t *testing.T) {
	for indent, text := range map[int]string{
		4: "    web:\n      note: |\n        one\n\n        three\n",
		1: " web:\n   note: |\n     one\n\n     three\n",
	} {
		svc := &yaml.Node{Kind: yaml.ScalarNode, Tag: encodedTag, Value: text}
		root := yamlx.Map(yamlx.Str("services"), yamlx.Map(yamlx.Str("web"), svc))
		reindent(root, indent)
		if want := "  web:\n    note: |\n      one\n\n      three\n"; svc.Value != want {
			t.Errorf("indent %d:\n%s\nwant:\n%s", indent, svc.Value, want)
		}
	}
}
