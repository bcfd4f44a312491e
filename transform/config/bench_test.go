package config

import (
	"testing"

	"github.com/podtemplate/podtemplate/internal/benchgen"
	"github.com/podtemplate/podtemplate/transform/load"
)

func BenchmarkCollect3000(b *testing.B) {
	dir := b.TempDir()
	if _, err := benchgen.Write(dir, 3000); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		files, err := load.Files(load.Options{Files: []string{"stack.yml"}, Cwd: dir, Env: map[string]string{}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := Collect(files); err != nil {
			b.Fatal(err)
		}
		Strip(files)
	}
}
