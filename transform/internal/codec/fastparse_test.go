package codec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// sameNodes compares two trees field by field.
func sameNodes(a, b *yaml.Node, path string) error {
	if a.Kind != b.Kind || a.Tag != b.Tag || a.Value != b.Value || a.Style != b.Style || a.Anchor != b.Anchor ||
		a.Line != b.Line || a.Column != b.Column || a.HeadComment != b.HeadComment || a.LineComment != b.LineComment ||
		a.FootComment != b.FootComment || len(a.Content) != len(b.Content) {
		return fmt.Errorf("%s:\nfast %+v\nv3   %+v", path, *a, *b)
	}
	for i := range a.Content {
		if err := sameNodes(a.Content[i], b.Content[i], fmt.Sprintf("%s/%d", path, i)); err != nil {
			return err
		}
	}
	return nil
}

// checkFast: where ParseFast accepts src, its tree is yaml.v3's.
func checkFast(t *testing.T, name, src string) bool {
	t.Helper()
	fast, ok := ParseFast(src)
	if !ok {
		return false
	}
	var v3 yaml.Node
	if err := yaml.Unmarshal([]byte(src), &v3); err != nil {
		t.Fatalf("%s: accepted what yaml.v3 rejects (%v):\n%s", name, err, src)
	}
	if err := sameNodes(fast, &v3, ""); err != nil {
		t.Fatalf("%s: trees differ: %v\n%s", name, err, src)
	}
	return true
}

func TestParseFastMatchesYAMLv3(t *testing.T) {
	accepted := 0
	for _, src := range []string{
		"a: 1\nb: x\n",
		"svc:\n  image: nginx:1.25\n  ports:\n    - \"80:80\"\n    - 443\n  environment:\n    - A=1\n",
		"app:\n  command: [\"nginx\", \"-g\", \"daemon off;\"]\n  labels: {a: '1', b: \"x y\"}\n",
		"list:\n- a\n- b: c\n  d: e\n- - x\n  - y\n",
		"k: -logs\nv: 1.5\nt: true\nn: null\nd: 2024-01-02\no: 0o17\nh: 0x1F\ns: 'it''s'\n",
		"  indented:\n    x: 1\n",
		"e: []\nf: {}\n",
		"a:\n  - {x: 1, y: [1, 2]}\n",
		"x: a:b\ny: http://h:1/p\n",
	} {
		if !checkFast(t, src, src) {
			t.Errorf("not accepted:\n%s", src)
		}
		accepted++
	}
	files, _ := filepath.Glob("../../../testdata/*/*/*.yml")
	more, _ := filepath.Glob("../../../testdata/*/*/*/*.yml")
	for _, f := range append(files, more...) {
		if strings.HasPrefix(filepath.Base(f), ".") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if checkFast(t, f, string(data)) {
			accepted++
		}
	}
	t.Logf("%d inputs parsed by both and compared", accepted)
}

func TestParseFastDeclines(t *testing.T) {
	for _, src := range []string{
		"a: # c\n", "a: &x 1\n", "a: |\n  x\n", "a:\n", "a: b: c\n", "a: x\n  y\n", "a: [1,\n 2]\n",
		"- a\nb: c\n", "a: 1\n---\nb: 2\n", "a: 'x\n", "a: [1, 2,]\n", "a: \"x\\ny\"\n",
	} {
		if _, ok := ParseFast(src); ok {
			t.Errorf("accepted %q", src)
		}
	}
}

func FuzzParseFast(f *testing.F) {
	files, _ := filepath.Glob("../../../testdata/*/*/*.yml")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(string(data))
		}
	}
	f.Add("a:\n  - {x: 1, y: [1, 2]}\n")
	f.Fuzz(func(t *testing.T, src string) {
		checkFast(t, "fuzz", src)
	})
}
