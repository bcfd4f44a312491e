package linediff

import (
	"reflect"
	"strings"
	"testing"
)

func TestHunks(t *testing.T) {
	cases := []struct {
		a, b string
		want []Hunk
	}{
		{"x y z", "x y z", nil},
		{"x y z", "x Y z", []Hunk{{1, 2, 1, 2}}},
		{"x y z", "x z", []Hunk{{1, 2, 1, 1}}},
		{"x z", "x y z", []Hunk{{1, 1, 1, 2}}},
		{"a b c d e", "a B c d E F", []Hunk{{1, 2, 1, 2}, {4, 5, 4, 6}}},
		{"", "a", []Hunk{{0, 0, 0, 1}}},
	}
	for _, tc := range cases {
		got := Hunks(strings.Fields(tc.a), strings.Fields(tc.b))
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q -> %q: got %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
