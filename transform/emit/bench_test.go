package emit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/podtemplate/podtemplate/internal/benchgen"
	"gopkg.in/yaml.v3"
)

// BenchmarkEncode3000 writes a 3000-service stack (no pre-encoded entries:
// the pass-through path).
func BenchmarkEncode3000(b *testing.B) {
	dir := b.TempDir()
	if _, err := benchgen.Write(dir, 3000); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "stack.yml"))
	if err != nil {
		b.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Encode(&doc, YAML); err != nil {
			b.Fatal(err)
		}
	}
}
