package emit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/podtemplate/podtemplate/internal/benchgen"
	"gopkg.in/yaml.v3"
)

// benchStack writes a benchgen stack of n services in a temporary folder
// and returns the folder, the file's text and its document node.
func benchStack(b *testing.B, n int) (dir string, data []byte, doc *yaml.Node) {
	b.Helper()
	dir = b.TempDir()
	if _, err := benchgen.Write(dir, n); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "stack.yml"))
	if err != nil {
		b.Fatal(err)
	}
	doc = new(yaml.Node)
	if err := yaml.Unmarshal(data, doc); err != nil {
		b.Fatal(err)
	}
	return dir, data, doc
}

// BenchmarkEncode3000 writes a 3000-service stack (no pre-encoded entries:
// the pass-through path).
func BenchmarkEncode3000(b *testing.B) {
	_, _, doc := benchStack(b, 3000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Encode(doc, YAML); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkService3000 encodes the 3000 services of the stack as rebuilt
// services spliced into the input's text, as a render does.
func BenchmarkService3000(b *testing.B) {
	dir, data, doc := benchStack(b, 3000)
	root := doc.Content[0]
	services := root.Content[3]
	o := New(root, YAML, Options{InDir: dir, OutDir: filepath.Join(dir, "out"), EscapeDollars: true}, &Input{Text: data, Root: root})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j+1 < len(services.Content); j += 2 {
			if _, err := o.Service(services.Content[j], services.Content[j+1]); err != nil {
				b.Fatal(err)
			}
		}
	}
}
