package transform

import (
	"context"
	"testing"

	"github.com/podtemplate/podtemplate/internal/benchgen"
	"github.com/podtemplate/podtemplate/transform/assemble"
	"github.com/podtemplate/podtemplate/transform/config"
	"github.com/podtemplate/podtemplate/transform/emit"
	"github.com/podtemplate/podtemplate/transform/load"
	"github.com/podtemplate/podtemplate/transform/model"
	"github.com/podtemplate/podtemplate/transform/render"
	"github.com/podtemplate/podtemplate/transform/retrieve"
	"gopkg.in/yaml.v3"
)

// stageRun is Render's state between its stages, for BenchmarkStages3000.
type stageRun struct {
	opts      Options
	files     []*load.File
	cfg       *config.Config
	removed   [][]*yaml.Node
	merged    *yaml.Node
	templates []render.Template
	engine    *render.Engine
	project   *model.ProjectView
	typed     model.Services
	out       *emit.Output
}

// stages are Render's steps in order, on the error-free path.
func (r *stageRun) stages() []struct {
	name string
	do   func() error
} {
	ctx := context.Background()
	return []struct {
		name string
		do   func() error
	}{
		{"load", func() (err error) {
			r.files, err = load.Files(load.Options{Files: r.opts.Files, Env: r.opts.Env, Cwd: r.opts.Cwd}, nil)
			return err
		}},
		{"config", func() (err error) {
			r.cfg, err = config.Collect(r.files)
			r.removed = config.Strip(r.files)
			return err
		}},
		{"validate", func() error { return validate(r.files, r.cfg, r.opts.Env, r.opts) }},
		{"merge", func() (err error) {
			if r.merged, err = mergeFiles(r.files, r.cfg, r.opts.Env, r.opts); err != nil {
				return err
			}
			services, err := config.ServiceNames(r.files[0].Name, r.merged)
			if err != nil {
				return err
			}
			return r.cfg.Finish(services, nil)
		}},
		{"retrieve", func() (err error) {
			r.templates, err = retrieve.Templates(ctx, r.cfg.Sources(nil), r.opts.Loaders)
			return err
		}},
		{"parse-templates", func() (err error) {
			r.engine, err = render.New(r.templates, false)
			return err
		}},
		{"model", func() (err error) {
			r.project, r.typed, err = typedModel(ctx, r.files, r.merged, r.cfg, r.engine, r.opts.Env, false)
			return err
		}},
		{"build", func() error {
			f := r.files[0]
			r.out = emit.New(r.merged, emit.YAML, emit.Options{InDir: f.Dir, OutDir: r.opts.Cwd, EscapeDollars: true},
				&emit.Input{Text: f.Text, Root: f.Root, Removed: r.removed[0]})
			_, err := assemble.Services(assemble.Stack{Root: r.merged, Config: r.cfg, Project: r.project, Typed: r.typed,
				Engine: r.engine, Dir: f.Dir, Env: r.opts.Env, Shared: f.Anchors}, r.out.Service)
			return err
		}},
		{"write", func() error {
			_, err := r.out.Write(r.files[0].Doc, r.merged)
			return err
		}},
	}
}

// BenchmarkStages3000 times each stage of a 3000-service render on its
// own (the stages before it run untimed), so a change to one stage shows
// in its own figure. BenchmarkRender3000 times them together.
func BenchmarkStages3000(b *testing.B) {
	dir := b.TempDir()
	path, err := benchgen.Write(dir, 3000)
	if err != nil {
		b.Fatal(err)
	}
	opts := Options{Files: []string{path}, Cwd: dir, Env: map[string]string{}}
	for k, st := range (&stageRun{}).stages() {
		b.Run(st.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				stages := (&stageRun{opts: opts}).stages()
				for _, before := range stages[:k] {
					if err := before.do(); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				if err := stages[k].do(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
