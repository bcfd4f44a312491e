package yamlx

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestPlaceError checks the three kinds of yaml.v3 error PlaceError
// reads: a refused character, a scanner error and a parser error.
func TestPlaceError(t *testing.T) {
	for _, tc := range []struct {
		text string
		want ErrorPlace
	}{
		{"a: 1\nb: x\x00\n", ErrorPlace{Line: 2, Column: 5, Msg: "control characters are not allowed"}},
		{"a: 1\nb: c: d\n", ErrorPlace{Line: 2, Msg: "mapping values are not allowed in this context"}},
		{"a: 1\nb:\n  c: [1\n  d: 2\n", ErrorPlace{Line: 3, Block: true, Msg: "did not find expected ',' or ']'"}},
		// A block that runs to the end: yaml.v3 names the end, one past the last line.
		{"services: {web: {image: x}\n", ErrorPlace{Line: 1, Block: true, Msg: "did not find expected ',' or '}'"}},
		// A block starting on the first line: yaml.v3 names the problem's line.
		{"services: {web: {image: x}\nfoo: 1\nbar: 2\n", ErrorPlace{Line: 2, Block: true, Msg: "did not find expected ',' or '}'"}},
		// The parser's other errors count their line from 0 too.
		{"version: \"3.8\"\nservices:\n  web:\n    image: !x!y nginx\n", ErrorPlace{Line: 4, Msg: "found undefined tag handle"}},
		{"# c\n%YAML 1.1\n%YAML 1.1\n--- a\n", ErrorPlace{Line: 3, Msg: "found duplicate %YAML directive"}},
		{"# c\n%TAG !a! tag:a,2000:\n%TAG !a! tag:b,2000:\n--- a\n", ErrorPlace{Line: 3, Msg: "found duplicate %TAG directive"}},
		{"# c\n%YAML 1.2\n--- a\n", ErrorPlace{Line: 2, Msg: "found incompatible YAML document"}},
		// The scanner's "did not find expected ..." errors count from 1.
		{"a: 1\nb: \"\\x4\"\nc: 3\n", ErrorPlace{Line: 2, Msg: "did not find expected hexdecimal number"}},
		{"a: 1\nb: !a!\nc: 3\n", ErrorPlace{Line: 2, Msg: "did not find expected tag URI"}},
	} {
		var n yaml.Node
		err := yaml.Unmarshal([]byte(tc.text), &n)
		if err == nil {
			t.Fatalf("%q parsed", tc.text)
		}
		if got := PlaceError([]byte(tc.text), err); got != tc.want {
			t.Errorf("PlaceError(%q, %q) = %+v, want %+v", tc.text, err, got, tc.want)
		}
	}
	// A second document without "---" after directives: the parser's
	// "did not find expected <document start>", from the second Decode.
	text := "a: 1\n...\n%YAML 1.1\nb\nc\n"
	dec := yaml.NewDecoder(strings.NewReader(text))
	var n yaml.Node
	if err := dec.Decode(&n); err != nil {
		t.Fatal(err)
	}
	err := dec.Decode(&n)
	want := ErrorPlace{Line: 4, Msg: "did not find expected <document start>"}
	if err == nil {
		t.Fatalf("%q parsed", text)
	}
	if got := PlaceError([]byte(text), err); got != want {
		t.Errorf("PlaceError(%q, %q) = %+v, want %+v", text, err, got, want)
	}
}
