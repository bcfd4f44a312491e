package model

import (
	"reflect"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// TestFieldKeysForEveryField checks fieldKeysFor against the YAML tags of
// every field reflect.VisibleFields lists for ServiceConfig (the fields it
// embeds included), and that names that are no field have none.
func TestFieldKeysForEveryField(t *testing.T) {
	n := 0
	for _, f := range reflect.VisibleFields(reflect.TypeOf(types.ServiceConfig{})) {
		want := ""
		if !f.Anonymous {
			if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); tag != "-" {
				want = tag
			}
		}
		if got := fieldKeysFor(f.Name); got != want {
			t.Errorf("%s: %q, want %q", f.Name, got, want)
		}
		if want != "" {
			n++
		}
	}
	if n < 50 {
		t.Errorf("only %d fields with a YAML key", n)
	}
	for _, name := range []string{"", "NoSuchField", "ContainerSpec", "image"} {
		if got := fieldKeysFor(name); got != "" {
			t.Errorf("%q: %q", name, got)
		}
	}
}
