package load

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/podtemplate/podtemplate/transform/diag"
)

// FuzzLoad parses and interpolates arbitrary files: never a panic, and
// every failure a positioned diag error.
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
			err = Interpolate(file, map[string]string{"A": "1"}, nil)
		}
		var d *diag.Error
		if err != nil && !errors.As(err, &d) {
			t.Fatalf("not a diag error: %T %v", err, err)
		}
	})
}
