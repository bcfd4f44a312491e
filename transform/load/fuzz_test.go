package load

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// FuzzLoad parses and interpolates arbitrary files: never a panic, every
// failure a positioned diag error, and every file that loads expands its
// aliases in bounded time and memory. The seeds are every stack file of
// testdata, with the hostile corpus's cycles and bombs.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/*/*/*.yml")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("stack.yml", t.TempDir(), data)
		if err == nil {
			// A file that loads has no alias cycle and no bomb: expanding
			// every alias ends, and within the budget.
			n := 0
			yamlx.Walk(yamlx.Flatten(file.Root), func(*yaml.Node) { n++ })
			if n > 10*yamlx.MaxExpanded {
				t.Fatalf("aliases expand to %d nodes", n)
			}
			err = Interpolate(file, map[string]string{"A": "1"}, nil)
		}
		var d *diag.Error
		var l diag.List
		if err != nil && !errors.As(err, &d) && !errors.As(err, &l) {
			t.Fatalf("not a diag error: %T %v", err, err)
		}
	})
}
