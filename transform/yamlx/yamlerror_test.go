package yamlx

import (
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
}
