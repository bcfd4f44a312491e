package codec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podtemplate/podtemplate/internal/benchgen"
	"gopkg.in/yaml.v3"
)

// sameTree compares two node trees field by field: kinds, tags, values,
// styles, anchors, positions and comments.
func sameTree(a, b *yaml.Node, path string) error {
	if a == nil || b == nil {
		if a != b {
			return fmt.Errorf("%s: one side is nil", path)
		}
		return nil
	}
	if a.Kind != b.Kind || a.Tag != b.Tag || a.Value != b.Value || a.Style != b.Style || a.Anchor != b.Anchor ||
		a.Line != b.Line || a.Column != b.Column || a.HeadComment != b.HeadComment || a.LineComment != b.LineComment ||
		a.FootComment != b.FootComment || len(a.Content) != len(b.Content) {
		return fmt.Errorf("%s: %+v\n != %+v", path, *a, *b)
	}
	for i := range a.Content {
		if err := sameTree(a.Content[i], b.Content[i], fmt.Sprintf("%s/%d(%s)", path, i, a.Content[i].Value)); err != nil {
			return err
		}
	}
	return nil
}

// checkSplit parses data whole and split; where the split parse accepts
// the file, both trees must be identical.
func checkSplit(t *testing.T, name string, data []byte, parts, maxLines int) bool {
	t.Helper()
	var whole yaml.Node
	wholeErr := yaml.Unmarshal(data, &whole)
	split, ok := parseSplit(data, parts, maxLines)
	if !ok {
		return false
	}
	if wholeErr != nil {
		t.Fatalf("%s: split parse accepted a file that does not parse: %v", name, wholeErr)
	}
	if err := sameTree(&whole, split, ""); err != nil {
		t.Fatalf("%s (%d parts, runs of %d lines): trees differ: %v", name, parts, maxLines, err)
	}
	return true
}

func TestSplitParseMatchesWholeParse(t *testing.T) {
	files, _ := filepath.Glob("../../../testdata/*/*/*.yml")
	accepted := 0
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), ".") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, parts := range []int{2, 3} {
			for _, maxLines := range []int{4, runLines} {
				if checkSplit(t, f, data, parts, maxLines) {
					accepted++
				}
			}
		}
	}
	data := benchgen.Stack(500)
	for _, maxLines := range []int{50, runLines} {
		if !checkSplit(t, "benchgen", data, 2, maxLines) {
			t.Fatal("the benchmark workload is not split")
		}
	}
	t.Logf("%d corpus parses compared", accepted)
	if accepted < 20 {
		t.Errorf("only %d corpus files were split; the comparison covers too little", accepted)
	}
}

func TestSplitDeclines(t *testing.T) {
	for name, src := range map[string]string{
		"comment between services":  "services:\n  a:\n    image: x\n  # b next\n  b:\n    image: y\n",
		"alias across the cut":      "services:\n  a: &a\n    image: x\n  b: *a\n",
		"flow services":             "services: {a: {image: x}, b: {image: y}}\n",
		"one service":               "services:\n  a:\n    image: x\n",
		"two documents":             "services:\n  a: {}\n  b: {}\n---\nx: 1\n",
		"comment after services":    "services:\n  a:\n    image: x\n  b:\n    image: |\n      y\n# c\n",
		"flow mapping as a service": "services:\n  a:\n    image: x\n  {b: {image: y}}\n",
		"anchor line":               "services:\n  a:\n    image: x\n    user: u\n    init: true\n  &x\n  b:\n    image: y\n",
		"lone carriage return":      "services:\n  a:\n    image: x\n    user: u\n    init: true\r0\n  b:\n    image: y\n",
		"next line (NEL)":           "services:\n  a:\n    image: x\n    user: u\n    init: true\u00850\n  b:\n    image: y\n",
		"line separator":            "services:\n  a:\n    image: x\n    user: u\n    init: \"true\u2028\"\n  b:\n    image: y\n",
		"tag line":                  "services:\n  a:\n    image: x\n    user: u\n    init: true\n  !!map\n  b:\n    image: y\n",
	} {
		if _, ok := parseSplit([]byte(src), 2, runLines); ok {
			t.Errorf("%s: split parse accepted", name)
		}
	}
}

func FuzzSplitParse(f *testing.F) {
	files, _ := filepath.Glob("../../../testdata/*/*/*.yml")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSplit(t, "fuzz", data, 2, 3)
	})
}
