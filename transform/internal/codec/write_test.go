package codec

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// sameValue checks that Write's output reads back as the value of src.
func sameValue(t *testing.T, name string, src []byte) {
	t.Helper()
	var doc yaml.Node
	if yaml.Unmarshal(src, &doc) != nil || len(doc.Content) == 0 {
		return
	}
	var want any
	if doc.Decode(&want) != nil {
		return
	}
	body := yamlx.Flatten(doc.Content[0])
	// Inputs yaml.v3 itself cannot write back faithfully are out of scope.
	if ref, err := yaml.Marshal(body); err != nil {
		return
	} else if var_ := any(nil); yaml.Unmarshal(ref, &var_) != nil || !reflect.DeepEqual(var_, want) {
		return
	}
	var b bytes.Buffer
	if err := Write(&b, body); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var got any
	if err := yaml.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%s: output does not parse: %v\n%s", name, err, b.String())
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: output reads back differently:\n%s\nwant %#v\ngot  %#v", name, b.String(), want, got)
	}
}

func TestWriteKeepsValues(t *testing.T) {
	files, _ := filepath.Glob("../../../testdata/*/*/*.yml")
	more, _ := filepath.Glob("../../../testdata/*/*/*/*.yml")
	files = append(files, more...)
	if len(files) < 50 {
		t.Fatalf("only %d corpus files", len(files))
	}
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), ".") {
			continue // a temporary file of a test running beside this one
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sameValue(t, f, data)
	}
}

func TestWriteScalars(t *testing.T) {
	for _, s := range []string{
		"a: 'true'\nb: '1.5'\nc: '0x1F'\nd: 'yes'\ne: '2024-01-02'\nf: ''\ng: ' x'\nh: 'a: b'\ni: '#x'\nj: '- x'\nk: -logs\nl: '<<'\nm: 'x #y'\nn: '@x'\no: '~'\np: null\nq:\n",
		"lit: |\n  a\n  b\nstrip: |-\n  a\nkeep: |+\n  a\n\nlead: \"  spaced\\nsecond\"\ntrail: \"x \\ny\"\ntab: \"a\\tb\\nc\"\nctl: \"\\x01\"\nuni: \"h\\u00e9llo ✓\"\n",
		"flow: [a, 'b,c', {k: v}]\nfm: {a: [1, 2], 'b c': \"x\\ny\"}\nempty: []\nem: {}\nnested:\n  - - a\n    - b\n  - k: v\n    l: [x]\n",
		"# head\nkey: value # line\nmap: # on key\n  # inner\n  a: 1\nseq:\n  # before item\n  - x\n",
	} {
		sameValue(t, s, []byte(s))
	}
}

func FuzzWrite(f *testing.F) {
	files, _ := filepath.Glob("../../../testdata/*/*/*.yml")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		sameValue(t, "fuzz", data)
	})
}

// TestValueMatchesDecode checks Value against yaml.v3's Decode on the corpus.
func TestValueMatchesDecode(t *testing.T) {
	files, _ := filepath.Glob("../../../testdata/*/*/*.yml")
	srcs := []string{"a: 1\nb: -2\nc: 0x1F\nd: 1_000\ne: 1.5\nf: .inf\ng: true\nh: ~\ni: '3'\nj: 2024-01-02\nk: [1, x, {y: z}]\nl: &x {m: 1}\nn: {<<: *x, o: 2}\n"}
	for _, f := range files {
		if data, err := os.ReadFile(f); err == nil {
			srcs = append(srcs, string(data))
		}
	}
	for _, src := range srcs {
		var doc yaml.Node
		if yaml.Unmarshal([]byte(src), &doc) != nil || len(doc.Content) == 0 {
			continue
		}
		var want any
		if doc.Content[0].Decode(&want) != nil {
			continue
		}
		got, err := yamlx.Value(doc.Content[0])
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Value differs from Decode for:\n%s\ngot  %#v\nwant %#v", src, got, want)
		}
	}
}

func benchDoc(b *testing.B) (string, *yaml.Node) {
	src := "svc:\n  image: example/app:3\n  ports:\n    - \"10003:8080\"\n  labels:\n    com.example.index: \"3\"\n  environment:\n    INDEX: \"3\"\n    LOG_LEVEL: info\n  command: [\"nginx\", \"-g\", \"daemon off;\"]\n  deploy:\n    replicas: 1\n"
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		b.Fatal(err)
	}
	return src, doc.Content[0]
}

// BenchmarkWrite and BenchmarkParseFast measure the fast paths on one
// service definition; compare with the yaml.v3 benchmarks beside them.
func BenchmarkWrite(b *testing.B) {
	_, n := benchDoc(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var buf bytes.Buffer
		_ = Write(&buf, n)
	}
}

func BenchmarkWriteYAMLv3(b *testing.B) {
	_, n := benchDoc(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_, _ = yaml.Marshal(n)
	}
}

func BenchmarkParseFast(b *testing.B) {
	src, _ := benchDoc(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, ok := ParseFast(src); !ok {
			b.Fatal("not parsed")
		}
	}
}

func BenchmarkParseYAMLv3(b *testing.B) {
	src, _ := benchDoc(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var n yaml.Node
		_ = yaml.Unmarshal([]byte(src), &n)
	}
}

// The regular expressions isNumber and isTimestamp stand for.
var (
	numberRe    = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$|^[-+]?0[xob][0-9a-fA-F_]+$|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$`)
	timestampRe = regexp.MustCompile(`^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}`)
)

func checkNumberAndTimestamp(t *testing.T, v string) {
	t.Helper()
	if got, want := isNumber(v), numberRe.MatchString(v); got != want {
		t.Fatalf("isNumber(%q) = %v, the expression says %v", v, got, want)
	}
	if got, want := isTimestamp(v), timestampRe.MatchString(v); got != want {
		t.Fatalf("isTimestamp(%q) = %v, the expression says %v", v, got, want)
	}
}

// TestNumberAndTimestampMatchExpressions checks the hand-written scalar
// checks against the regular expressions: every string of up to five
// characters from the ones that matter, the special values, and random
// longer strings.
func TestNumberAndTimestampMatchExpressions(t *testing.T) {
	for _, v := range []string{"", ".nan", "-.nan", ".NaN", ".inf", "+.Inf", "-.INF", ".INf", "0x", "0x1F", "-0b101", "0o17", "0x_", "1_000.5e+10",
		"1.", ".5", ".", "-", "+1", "1e", "1e+", "1E-7", "2024-01-02", "2024-1-2x", "2024-01-", "2024-123-4", "12:30", "1.2.3", "0.5_", "٣"} {
		checkNumberAndTimestamp(t, v)
	}
	const alphabet = "019._-+eExobaf"
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		checkNumberAndTimestamp(t, prefix)
		if n == 0 {
			return
		}
		for i := 0; i < len(alphabet); i++ {
			gen(prefix+alphabet[i:i+1], n-1)
		}
	}
	gen("", 5)
	const wide = "0123456789._-+eExXobBafFAinINnN: "
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		b := make([]byte, 1+r.IntN(12))
		for j := range b {
			b[j] = wide[r.IntN(len(wide))]
		}
		checkNumberAndTimestamp(t, string(b))
	}
	for i := 0; i < 20000; i++ {
		checkNumberAndTimestamp(t, fmt.Sprintf("%04d-%d-%d%s", r.IntN(10000), r.IntN(100), r.IntN(100), wide[:r.IntN(4)]))
	}
}
