package load

import (
	"testing"

	"github.com/podtemplate/podtemplate/internal/benchgen"
)

func BenchmarkLoad3000(b *testing.B) {
	dir := b.TempDir()
	if _, err := benchgen.Write(dir, 3000); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Files(Options{Files: []string{"stack.yml"}, Cwd: dir, Env: map[string]string{}}, nil); err != nil {
			b.Fatal(err)
		}
	}
}
