package render

import (
	"strings"
	"testing"
)

// TestOutputErrorLine checks the line an invalid template output's error
// quotes: the line of the block yaml.v3 was reading (it counts a parser
// error's line from 0), or the last line when the block runs to the end.
func TestOutputErrorLine(t *testing.T) {
	for _, c := range []struct{ out, want string }{
		{"c: {image: x\n", `(line 1 of the output: "c: {image: x")`},
		{"c: {image: x", `(line 1 of the output: "c: {image: x")`},
		{"a: 1\nc: {image: x\n", `(line 2 of the output: "c: {image: x")`},
		{"a: 1\nb: 2\nc: [x, y\nd: 4\n", `(line 3 of the output: "c: [x, y")`},
		{"a: 1\nb: [c\n", `(line 2 of the output: "b: [c")`},
		{"a: 1\n b: 2\n", `(line 2 of the output: " b: 2")`},
	} {
		_, err := ParseOutput("t", c.out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %s", c.out, err, c.want)
		}
	}
}
