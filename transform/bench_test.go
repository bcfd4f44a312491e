package transform_test

import (
	"context"
	"testing"

	"github.com/podtemplate/podtemplate/internal/benchgen"
	"github.com/podtemplate/podtemplate/transform"
)

func benchRender(b *testing.B, n int) {
	dir := b.TempDir()
	path, err := benchgen.Write(dir, n)
	if err != nil {
		b.Fatal(err)
	}
	opts := transform.Options{Files: []string{path}, Cwd: dir, Env: map[string]string{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := transform.Render(context.Background(), opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRender1000(b *testing.B)  { benchRender(b, 1000) }
func BenchmarkRender3000(b *testing.B)  { benchRender(b, 3000) }
func BenchmarkRender10000(b *testing.B) { benchRender(b, 10000) }
