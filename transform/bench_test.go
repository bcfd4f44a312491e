package transform_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// BenchmarkRenderPassThrough3000 renders 3000 services without extension
// fields, which the output copies from the input.
func BenchmarkRenderPassThrough3000(b *testing.B) {
	dir := b.TempDir()
	var s strings.Builder
	s.WriteString("version: \"3.8\"\nservices:\n")
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&s, "  svc%d:\n    image: example/app:1.%d\n    ports:\n      - \"%d:80\"\n    environment:\n      SHARD: \"%d\"\n      LOG_LEVEL: info\n    labels:\n      com.example.shard: \"%d\"\n    deploy:\n      replicas: 2\n      resources:\n        limits:\n          memory: 64M\n\n", i, i%10, 10000+i, i, i)
	}
	path := filepath.Join(dir, "stack.yml")
	if err := os.WriteFile(path, []byte(s.String()), 0o644); err != nil {
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

func BenchmarkRender10(b *testing.B) { benchRender(b, 10) }
