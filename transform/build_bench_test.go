package transform

import (
	"testing"

	"github.com/podtemplate/podtemplate/internal/benchgen"
	"github.com/podtemplate/podtemplate/transform/render"
	"github.com/podtemplate/podtemplate/transform/yamlx"
)

// BenchmarkBuild3000 times the build stage (templates executed, pods
// assembled, services encoded) of a 3000-service render, with the stages
// before it run once: each iteration builds from a copy of the merged
// tree with a new template engine (its output cache starts empty, as in a
// render).
func BenchmarkBuild3000(b *testing.B) {
	dir := b.TempDir()
	path, err := benchgen.Write(dir, 3000)
	if err != nil {
		b.Fatal(err)
	}
	r := &stageRun{opts: Options{Files: []string{path}, Cwd: dir, Env: map[string]string{}}}
	stages := r.stages()
	if stages[7].name != "build" {
		b.Fatal("stage 7 is not build")
	}
	for _, st := range stages[:7] {
		if err := st.do(); err != nil {
			b.Fatal(err)
		}
	}
	merged := r.merged
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		r.merged = yamlx.Copy(merged)
		if r.engine, err = render.New(r.templates, false); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := stages[7].do(); err != nil {
			b.Fatal(err)
		}
	}
}
