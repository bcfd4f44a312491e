package codec

import (
	"fmt"
	"math/rand/v2"
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

// checkFast: where ParseFast accepts src, its tree is yaml.v3's, with its
// nodes allocated as a small tree's and as a large one's.
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
	for _, small := range []int{0, 1 << 30} {
		other, ok := parseFast(src, 0, small)
		if !ok {
			t.Fatalf("%s: not parsed with small %d", name, small)
		}
		if err := sameNodes(other, &v3, ""); err != nil {
			t.Fatalf("%s: trees differ with small %d: %v\n%s", name, small, err, src)
		}
		checkCapped(t, name, other)
	}
	return true
}

// checkCapped checks that every Content slice of the tree is full, so an
// append cannot write into a neighbour's.
func checkCapped(t *testing.T, name string, n *yaml.Node) {
	t.Helper()
	if len(n.Content) != cap(n.Content) {
		t.Fatalf("%s: a Content slice of %d nodes has room for %d", name, len(n.Content), cap(n.Content))
	}
	for _, c := range n.Content {
		checkCapped(t, name, c)
	}
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

// checkPlainTag compares the parser's tag of plain scalar v with yaml.v3's.
func checkPlainTag(t *testing.T, v string) {
	t.Helper()
	n := yaml.Node{Kind: yaml.ScalarNode, Value: v}
	if got, want := tags[plainTag(v)], n.ShortTag(); got != want {
		t.Fatalf("plainTag(%q) = %s, yaml.v3 says %s", v, got, want)
	}
}

// TestPlainTagMatchesYAMLv3 checks the parser's shortcuts in resolving
// plain scalars against yaml.v3: every string of up to four characters
// from the ones that matter, words, dates and random longer strings.
func TestPlainTagMatchesYAMLv3(t *testing.T) {
	for _, v := range []string{"true", "True", "TRUE", "tRue", "false", "FALSE", "null", "Null", "NULL", "nULL", "~", "~x", "yes", "no", "on", "off", "y", "n",
		"-logs -pids=false", "10000:8080", "1.25", "-1", "+1", "-0", "007", "08", "0x1F", "0o17", "0b101", "-0b101", "-0o17", "1_000", "9223372036854775807",
		"9223372036854775808", "18446744073709551615", "18446744073709551616", "123456789012345678", "1234567890123456789", "2024-01-02", "2024-1-2 10:00:00",
		"2024-01-02T10:00:00Z", "2024-01-02x", "+.inf", "-.Inf", ".NaN", ".nan", "-.nan", "1e5", "1E+5", ".5", "1.", "0x", "0xg", "1__2", "+_1", "-_", "._5"} {
		checkPlainTag(t, v)
	}
	const alphabet = "01._-+eExXobBaf:iInN T"
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		if prefix != "" {
			checkPlainTag(t, prefix)
		}
		if n == 0 {
			return
		}
		for i := 0; i < len(alphabet); i++ {
			gen(prefix+alphabet[i:i+1], n-1)
		}
	}
	gen("", 4)
	const wide = "0123456789._-+eExXobBafFAinINnN:tTzZ "
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 100000; i++ {
		b := make([]byte, 1+r.IntN(14))
		for j := range b {
			b[j] = wide[r.IntN(len(wide))]
		}
		checkPlainTag(t, string(b))
	}
}
