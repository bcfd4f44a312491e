package load

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/podtemplate/podtemplate/transform/internal/codec"
)

// TestPartsAsOneWalk checks that walking a large stack's services in
// concurrent parts finds what one walk finds: the first problem in
// document order, every interpolation problem in order, the same unset
// variables and the same values.
func TestPartsAsOneWalk(t *testing.T) {
	stack := func(dupAt, badAt []int, anchorAt int) string {
		var b strings.Builder
		b.WriteString("version: \"3.8\"\nservices:\n")
		for i := 0; i < 1500; i++ {
			fmt.Fprintf(&b, "  s%d:\n    image: \"app:${TAG_%d}\"\n    environment:\n      A: \"$${ESCAPED}\"\n", i, i%7)
			for _, d := range dupAt {
				if d == i {
					b.WriteString("    image: twice\n")
				}
			}
			for _, d := range badAt {
				if d == i {
					b.WriteString("    command: \"${BAD\"\n")
				}
			}
			if i == anchorAt {
				b.WriteString("    labels: &l\n      a: b\n")
			}
			b.WriteString("    deploy:\n      replicas: ${N}\n")
		}
		b.WriteString("networks:\n  n:\n    external: ${EXT}\n")
		return b.String()
	}
	env := map[string]string{"TAG_1": "1", "N": "3", "EXT": "true"}
	run := func(procs int, text string) string {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		f, err := Parse("stack.yml", "/", []byte(text))
		if err != nil {
			return "parse: " + err.Error()
		}
		var warnings []string
		err = Interpolate(f, env, func(w string) { warnings = append(warnings, w) })
		var out strings.Builder
		fmt.Fprintf(&out, "anchors %v\nerr %v\nwarnings %q\n", f.Anchors, err, warnings)
		var b bytes.Buffer
		if werr := codec.Write(&b, f.Root); werr != nil {
			t.Fatal(werr)
		}
		out.WriteString(b.String())
		return out.String()
	}
	for _, tc := range []struct {
		name         string
		dupAt, badAt []int
		anchorAt     int
	}{
		{name: "clean", anchorAt: -1},
		{name: "anchor in a late part", anchorAt: 1400},
		{name: "duplicates in two parts", dupAt: []int{1200, 300}, anchorAt: -1},
		{name: "bad values in two parts", badAt: []int{100, 1300, 900}, anchorAt: -1},
	} {
		text := stack(tc.dupAt, tc.badAt, tc.anchorAt)
		one, parts := run(1, text), run(2, text)
		if one != parts {
			t.Errorf("%s: two parts differ from one walk:\n%s\n---\n%s", tc.name, head(one), head(parts))
		}
	}
}

func head(s string) string {
	if len(s) > 600 {
		return s[:600] + "..."
	}
	return s
}
