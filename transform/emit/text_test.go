package emit

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/podtemplate/podtemplate/internal/benchgen"
)

// newTextRef is newText's line index as a look at every byte, the
// reference TestNewTextMatchesReference compares it with.
func newTextRef(b []byte) (*text, bool) {
	if bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) || bytes.Contains(b, []byte("\xc2\x85")) ||
		bytes.Contains(b, []byte("\xe2\x80\xa8")) || bytes.Contains(b, []byte("\xe2\x80\xa9")) {
		return nil, false
	}
	n := bytes.Count(b, []byte("\n")) + 1
	t := &text{b: b, starts: make([]int32, 1, n), flags: make([]uint8, 0, n), nl: "\n"}
	var flags uint8
	for i, c := range b {
		switch {
		case c == '\n':
			t.flags = append(t.flags, flags)
			flags = 0
			t.starts = append(t.starts, int32(i+1))
		case c == '\r':
			if i+1 >= len(b) || b[i+1] != '\n' {
				return nil, false
			}
		case c == '$':
			flags |= hasDollar
		case c >= utf8.RuneSelf:
			flags |= nonASCII
		}
	}
	t.flags = append(t.flags, flags)
	if i := bytes.IndexByte(b, '\n'); i > 0 && b[i-1] == '\r' {
		t.nl = "\r\n"
	}
	return t, true
}

func checkText(t *testing.T, b []byte) {
	t.Helper()
	got, gok := newText(b)
	want, wok := newTextRef(b)
	if gok != wok || gok && !reflect.DeepEqual(got, want) {
		t.Fatalf("newText(%q) = %+v %v, want %+v %v", b, got, gok, want, wok)
	}
}

// TestNewTextMatchesReference compares the line index with the byte by
// byte reference on the corpus and on random text of line breaks,
// carriage returns, dollars and non-ASCII bytes.
func TestNewTextMatchesReference(t *testing.T) {
	files, _ := filepath.Glob("../testdata/*/*/*.yml")
	for _, f := range files {
		if data, err := os.ReadFile(f); err == nil {
			checkText(t, data)
		}
	}
	for _, s := range []string{"", "\n", "\r\n", "\r", "a\r", "a\rb\n", "a\r\r\n", "x$\ny\r\n$", "é\n", "abcdefgh\xc3\xa9\n"} {
		checkText(t, []byte(s))
	}
	const alphabet = "ab $\n\r\xc3\xa9\x80:"
	r := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 50000; i++ {
		b := make([]byte, r.IntN(40))
		for j := range b {
			b[j] = alphabet[r.IntN(len(alphabet))]
		}
		checkText(t, b)
	}
}

// BenchmarkNewText indexes the 3000-service stack.
func BenchmarkNewText(b *testing.B) {
	data := benchgen.Stack(3000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := newText(data); !ok {
			b.Fatal("not indexed")
		}
	}
}
