package codec

import (
	"bytes"
	"testing"

	"github.com/podtemplate/podtemplate/internal/benchgen"
	"github.com/podtemplate/podtemplate/transform/yamlx"
)

// benchStack is the 3000-service stack of scripts/bench.sh.
func benchStack(*testing.B) []byte { return benchgen.Stack(3000) }

// benchOutputs are the outputs of the benchmark workload's templates for
// one service: what a render parses for every service.
var benchOutputs = []string{
	"pod:\n  image: rycus86/podlike:0.5.1\n  command: -logs -pids=false\n  labels:\n    pod.owner: \"team3\"\n",
	"app:\n  image: example/app:3\n  environment:\n    - SERVICE=svc00003\n    - SHARD=3\n",
	"proxy:\n  image: nginx:1.25\n  environment:\n    UPSTREAM: \"127.0.0.1:8080\"\n  command: [\"nginx\", \"-g\", \"daemon off;\"]\nmetrics:\n  image: prom/statsd-exporter:v0.26.0\n  command: [\"--statsd.listen-udp=:9125\"]\n  labels:\n    shard: \"3\"\n",
}

// BenchmarkParseFastStack3000 parses the whole 3000-service stack with the
// fast parser on one core (the split parse runs it on each run of
// services).
func BenchmarkParseFastStack3000(b *testing.B) {
	src := string(benchStack(b))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := ParseFast(src); !ok {
			b.Fatal("not parsed")
		}
	}
}

// BenchmarkParseFastOutputs parses one service's template outputs.
func BenchmarkParseFastOutputs(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, src := range benchOutputs {
			if _, ok := ParseFast(src); !ok {
				b.Fatal("not parsed")
			}
		}
	}
}

// BenchmarkSplit3000 is the input stack's parse as a render does it.
func BenchmarkSplit3000(b *testing.B) {
	data := benchStack(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := Split(data); !ok {
			b.Fatal("not split")
		}
	}
}

// BenchmarkWriteStack3000 writes the parsed 3000-service stack, service by
// service, as the splice path writes rebuilt services.
func BenchmarkWriteStack3000(b *testing.B) {
	doc, ok := ParseFast(string(benchStack(b)))
	if !ok {
		b.Fatal("not parsed")
	}
	services := yamlx.Get(yamlx.Body(doc), "services")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j+1 < len(services.Content); j += 2 {
			buf := GetBuffer()
			if err := WriteStyled(buf, yamlx.Map(services.Content[j], services.Content[j+1]), 2, Style{}); err != nil {
				b.Fatal(err)
			}
			_ = buf.String()
			PutBuffer(buf)
		}
	}
}

// BenchmarkWriteLiterals writes labels holding literal blocks, as pod
// labels hold their components.
func BenchmarkWriteLiterals(b *testing.B) {
	doc, ok := ParseFast("labels:\n  pod.owner: \"team3\"\n")
	if !ok {
		b.Fatal("not parsed")
	}
	labels := yamlx.Get(yamlx.Body(doc), "labels")
	for _, out := range benchOutputs {
		labels.Content = append(labels.Content, yamlx.Str("pod.component.x"), yamlx.Str(out))
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf.Reset()
		if err := Write(&buf, doc.Content[0]); err != nil {
			b.Fatal(err)
		}
	}
}
