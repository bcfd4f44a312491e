package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/load"
)

// FuzzCollect decodes arbitrary x-podlike and x-jobs configuration: never a
// panic, every failure a diag error (or a list of them).
func FuzzCollect(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/*/*/stack.yml")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := load.Parse("stack.yml", t.TempDir(), data)
		if err != nil {
			return
		}
		cfg, err := Collect([]*load.File{file})
		if err == nil {
			Strip([]*load.File{file})
			services := map[string]bool{}
			for _, name := range cfg.PodOrder {
				services[name] = true
			}
			err = cfg.Finish(services, map[string]any{"X": 1})
		}
		var d *diag.Error
		var l diag.List
		if err != nil && !errors.As(err, &d) && !errors.As(err, &l) {
			t.Fatalf("not a diag error: %T %v", err, err)
		}
	})
}
