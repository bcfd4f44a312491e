package render

import (
	"testing"
)

// BenchmarkRenderTemplate executes and parses one sidecar template, as
// the build stage does for every service.
func BenchmarkRenderTemplate(b *testing.B) {
	e, err := New([]Template{{Key: "k", Name: "sidecars.yml", Body: "proxy:\n  image: nginx:1.25\n  environment:\n    UPSTREAM: \"127.0.0.1:{{ .Args.Port }}\"\n  command: [\"nginx\", \"-g\", \"daemon off;\"]\nmetrics:\n  image: prom/statsd-exporter:v0.26.0\n  labels:\n    shard: \"{{ .Args.Shard }}\"\n"}}, false)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		data := map[string]any{"Args": map[string]any{"Port": 8080, "Shard": i}}
		if _, err := e.Mapping("k", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNew is the set-up of a render's templates: the function map,
// the parse and the sandbox's guards.
func BenchmarkNew(b *testing.B) {
	src := []Template{{Key: "k", Name: "sidecars.yml", Body: "proxy:\n  image: nginx:1.25\n  labels:\n    team: \"{{ .Args.Team | lower | quote }}\"\n    port: \"{{ .Args.Port | toString }}\"\n"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(src, false); err != nil {
			b.Fatal(err)
		}
	}
}
