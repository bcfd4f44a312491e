// Package transform is the compiler: it runs the stages load -> collect
// config -> load templates -> render -> merge -> build services -> emit,
// each in its own sub-package, one way through.
package transform

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/podtemplate/podtemplate/transform/assemble"
	"github.com/podtemplate/podtemplate/transform/config"
	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/emit"
	"github.com/podtemplate/podtemplate/transform/load"
	"github.com/podtemplate/podtemplate/transform/model"
	"github.com/podtemplate/podtemplate/transform/override"
	"github.com/podtemplate/podtemplate/transform/render"
	"github.com/podtemplate/podtemplate/transform/retrieve"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// Options is everything a render needs.
type Options struct {
	Files           []string          // input files; "-" is Stdin
	Stdin           io.Reader         // read for "-"
	Env             map[string]string // environment; nil means the process environment
	EnvFiles        []string          // --env-file, read before Env (Env wins)
	NoInterpolate   bool              // leave ${VAR} for the deploy
	Set             []string          // --set Key.Sub=value
	ArgsFiles       []string          // --args-file FILE (YAML mapping)
	Strict          bool              // a missing key in a template is an error
	ControllerImage string            // default controller image
	Library         []string          // --library files or folders of named templates
	Format          emit.Format       // yaml (default) or json
	Cwd             string            // working directory; os.Getwd when empty
	OutDir          string            // folder the output is deployed from; Cwd when empty
	Loaders         retrieve.Loaders  // HTTP and built-in template loaders
	Warn            func(string)      // receives warnings (unset variables...)
}

// Result is a rendered stack.
type Result struct {
	Doc    *yaml.Node // the output document
	Output []byte     // Doc encoded in the requested format
	Jobs   []string   // job services, in output order
	Pods   []string   // controller services, in output order
}

// Render compiles the stack. On error nothing is returned but the error,
// a diag.List when several problems were found.
func Render(ctx context.Context, opts Options) (*Result, error) {
	if opts.Cwd == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		opts.Cwd = wd
	}
	env, err := environment(opts)
	if err != nil {
		return nil, err
	}
	files, err := load.Files(load.Options{Files: opts.Files, Stdin: opts.Stdin, Env: env, NoInterpolate: opts.NoInterpolate, Cwd: opts.Cwd}, opts.Warn)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Collect(files)
	if err != nil {
		return nil, err
	}
	config.Strip(files)
	merged := override.Files(load.Roots(files))
	servicesNode := yamlx.Resolve(yamlx.Get(merged, "services"))
	if servicesNode != nil && !yamlx.IsNull(servicesNode) && servicesNode.Kind != yaml.MappingNode {
		return nil, diag.At(files[0].Name, servicesNode).Errorf("services is %s; expected a mapping of service names", yamlx.KindName(servicesNode))
	}
	services := map[string]bool{}
	for _, p := range yamlx.Pairs(servicesNode) {
		services[p.Key.Value] = true
	}
	cmdline, err := commandLineArgs(opts)
	if err != nil {
		return nil, err
	}
	if err := cfg.Finish(services, cmdline); err != nil {
		return nil, err
	}
	libSources, err := librarySources(opts, cfg)
	if err != nil {
		return nil, err
	}

	inDir := files[0].Dir
	engine, err := loadTemplates(ctx, cfg, libSources, opts)
	if err != nil {
		return nil, err
	}
	var project *model.ProjectView
	typed := map[string]types.ServiceConfig{}
	if len(cfg.Pods)+len(cfg.Jobs) > 0 {
		uses := engine.Uses()
		need := model.Need{Project: uses.Project, WholeService: uses.WholeService, ServiceFields: uses.ServiceFields}
		names := append(append([]string(nil), cfg.PodOrder...), cfg.JobOrder...)
		view := merged
		if opts.NoInterpolate && (need.Project || need.WholeService || len(need.ServiceFields) > 0) {
			view = load.Lenient(merged, env)
		}
		project, typed, err = model.Typed(ctx, view, names, need, inDir, load.Describe(files))
		if err != nil {
			return nil, err
		}
	}

	outDir := opts.OutDir
	if outDir == "" {
		outDir = opts.Cwd
	}
	emitOpts := emit.Options{InDir: inDir, OutDir: outDir, EscapeDollars: !opts.NoInterpolate}
	res := &Result{}
	if err := buildServices(files, cfg, merged, servicesNode, project, typed, engine, opts, emitOpts, res); err != nil {
		return nil, err
	}
	emit.Finish(merged, emitOpts)
	doc := files[0].Doc
	doc.Content[0] = merged
	out, err := emit.Encode(doc, opts.Format)
	if err != nil {
		return nil, &diag.Error{Msg: "writing the output", Err: err}
	}
	res.Doc, res.Output = doc, out
	return res, nil
}

// environment is the process environment (or opts.Env) over the env files.
func environment(opts Options) (map[string]string, error) {
	base := opts.Env
	if base == nil {
		base = map[string]string{}
		for _, kv := range os.Environ() {
			if k, v, ok := strings.Cut(kv, "="); ok {
				base[k] = v
			}
		}
	}
	if len(opts.EnvFiles) == 0 {
		return base, nil
	}
	paths := make([]string, len(opts.EnvFiles))
	for i, f := range opts.EnvFiles {
		paths[i] = f
		if !filepath.IsAbs(f) {
			paths[i] = filepath.Join(opts.Cwd, f)
		}
		if _, err := os.Stat(paths[i]); err != nil {
			return nil, &diag.Error{File: f, Msg: "cannot read the env file", Err: err}
		}
	}
	fromFiles, err := dotenv.GetEnvFromFile(base, paths)
	if err != nil {
		return nil, &diag.Error{Msg: "reading --env-file", Err: err}
	}
	env := make(map[string]string, len(base)+len(fromFiles))
	for k, v := range fromFiles {
		env[k] = v
	}
	for k, v := range base {
		env[k] = v
	}
	return env, nil
}

// commandLineArgs merges --args-file mappings, then --set values on top.
func commandLineArgs(opts Options) (map[string]any, error) {
	var args map[string]any
	for _, f := range opts.ArgsFiles {
		path := f
		if !filepath.IsAbs(path) {
			path = filepath.Join(opts.Cwd, path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, &diag.Error{File: f, Msg: "cannot read the args file", Err: err}
		}
		var n yaml.Node
		if err := yaml.Unmarshal(data, &n); err != nil {
			return nil, &diag.Error{File: f, Msg: "invalid YAML", Err: err}
		}
		body := yamlx.Body(&n)
		if body == nil || yamlx.IsNull(body) {
			continue
		}
		if body.Kind != yaml.MappingNode {
			return nil, diag.At(f, body).Errorf("args file holds %s; expected a mapping", yamlx.KindName(body))
		}
		var m map[string]any
		if err := yamlx.Flatten(body).Decode(&m); err != nil {
			return nil, diag.At(f, body).Wrap(err, "args file")
		}
		args = config.MergeArgs(args, m)
	}
	for _, s := range opts.Set {
		m, err := ParseSet(s)
		if err != nil {
			return nil, err
		}
		args = config.MergeArgs(args, m)
	}
	return args, nil
}

// ParseSet reads one --set Key.Sub=value into a nested mapping. The value
// is typed as a YAML scalar (3 is a number, true a boolean); quote it in
// YAML ('"3"') to keep a string.
func ParseSet(s string) (map[string]any, error) {
	path, value, ok := strings.Cut(s, "=")
	if !ok || path == "" {
		return nil, &diag.Error{Msg: fmt.Sprintf("--set %q: expected Key.Sub=value", s)}
	}
	keys := strings.Split(path, ".")
	for _, k := range keys {
		if k == "" {
			return nil, &diag.Error{Msg: fmt.Sprintf("--set %q: empty key in %q", s, path)}
		}
	}
	var v any = value
	var typed any
	if value != "" && yaml.Unmarshal([]byte(value), &typed) == nil {
		switch typed.(type) {
		case string, int, int64, uint64, float64, bool, nil:
			v = typed
		}
	}
	if value == "" {
		v = ""
	}
	m := map[string]any{keys[len(keys)-1]: v}
	for i := len(keys) - 2; i >= 0; i-- {
		m = map[string]any{keys[i]: m}
	}
	return m, nil
}

// librarySources are the named-template libraries: --library paths (files,
// or every file of a folder) and x-podlike.library items.
func librarySources(opts Options, cfg *config.Config) ([]*config.Source, error) {
	var out []*config.Source
	for _, p := range opts.Library {
		path := p
		if !filepath.IsAbs(path) {
			path = filepath.Join(opts.Cwd, path)
		}
		st, err := os.Stat(path)
		if err != nil {
			return nil, &diag.Error{File: p, Msg: "cannot read the --library path", Err: err}
		}
		if !st.IsDir() {
			out = append(out, &config.Source{Kind: config.KindFile, Path: path, Pos: diag.Pos{File: p}})
			continue
		}
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, &diag.Error{File: p, Msg: "cannot read the --library folder", Err: err}
		}
		for _, e := range entries {
			if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				out = append(out, &config.Source{Kind: config.KindFile, Path: filepath.Join(path, e.Name()), Pos: diag.Pos{File: p}})
			}
		}
	}
	return append(out, cfg.Library...), nil
}

// loadTemplates reads every distinct source once and parses it once.
func loadTemplates(ctx context.Context, cfg *config.Config, lib []*config.Source, opts Options) (*render.Engine, error) {
	all := append([]*config.Source(nil), lib...)
	for _, name := range cfg.PodOrder {
		p := cfg.Pods[name]
		for _, list := range [][]*config.Source{p.Pod, p.Init, p.Transformer, p.Templates, p.Copy} {
			all = append(all, list...)
		}
	}
	for _, name := range cfg.JobOrder {
		all = append(all, cfg.Jobs[name].Templates...)
	}
	texts, err := retrieve.Load(ctx, all, opts.Loaders)
	if err != nil {
		return nil, err
	}
	first := map[string]*config.Source{}
	for _, s := range all {
		if _, ok := first[s.Key()]; !ok {
			first[s.Key()] = s
		}
	}
	srcs := make([]render.Template, 0, len(texts))
	for k, t := range texts {
		srcs = append(srcs, render.Template{Key: k, Name: t.Name, Body: t.Body, Pos: first[k].Pos, Service: first[k].Service})
	}
	sort.Slice(srcs, func(i, j int) bool { return srcs[i].Key < srcs[j].Key })
	return render.New(srcs, opts.Strict)
}

// buildServices replaces every pod and job service in the merged tree and
// appends the jobs created from templates. Services are built in parallel
// (each on its own nodes) and, for YAML output, finished and encoded right
// away so their nodes can be dropped; results are placed in input order, so
// the output does not depend on scheduling.
func buildServices(files []*load.File, cfg *config.Config, merged, servicesNode *yaml.Node, project *model.ProjectView, typed map[string]types.ServiceConfig, engine *render.Engine, opts Options, emitOpts emit.Options, res *Result) error {
	if len(cfg.Pods)+len(cfg.Jobs) == 0 {
		return nil
	}
	if servicesNode == nil || yamlx.IsNull(servicesNode) {
		servicesNode = yamlx.Map()
		yamlx.Set(merged, "services", servicesNode)
	}
	index := map[string]int{}
	var names []string
	for i := 0; i+1 < len(servicesNode.Content); i += 2 {
		name := servicesNode.Content[i].Value
		index[name] = i + 1
		if cfg.Pods[name] != nil || cfg.Jobs[name] != nil {
			names = append(names, name)
		}
	}
	for _, name := range cfg.JobOrder {
		if !cfg.Jobs[name].InServices {
			names = append(names, name)
		}
	}
	// Only one file can hold aliases: several are flattened when merged.
	shared := len(files) == 1 && files[0].Anchors
	if shared {
		// Aliases elsewhere into the services being rebuilt must stay valid.
		var originals []*yaml.Node
		for _, name := range names {
			if i, ok := index[name]; ok {
				originals = append(originals, servicesNode.Content[i])
			}
		}
		config.ExpandAliasesInto(merged, originals)
	}

	early := opts.Format != emit.JSON && emit.EncodesEntries(merged)
	built := make([]*yaml.Node, len(names))
	errs := make([]error, len(names))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(names) {
					return
				}
				name := names[i]
				var orig *yaml.Node
				key := yamlx.Str(name)
				if j, ok := index[name]; ok {
					key, orig = servicesNode.Content[j-1], servicesNode.Content[j]
				}
				svc, err := buildService(name, orig, shared, cfg, project, typed[name], engine, opts)
				if err == nil && early {
					emit.FinishService(svc, emitOpts)
					svc, err = emit.EncodeEntry(key, svc)
				}
				if j, ok := index[name]; ok && err == nil && early {
					// In place at once (each worker its own slot), so the
					// original's nodes can be collected during the build.
					servicesNode.Content[j] = svc
				}
				built[i], errs[i] = svc, err
			}
		}()
	}
	wg.Wait()
	var list diag.List
	for i, name := range names {
		if errs[i] != nil {
			list.Add(errs[i])
			continue
		}
		if j, ok := index[name]; !ok {
			servicesNode.Content = append(servicesNode.Content, yamlx.Str(name), built[i])
		} else if !early {
			servicesNode.Content[j] = built[i]
		}
		if cfg.Pods[name] != nil {
			res.Pods = append(res.Pods, name)
		}
		if cfg.Jobs[name] != nil {
			res.Jobs = append(res.Jobs, name)
		}
	}
	return list.Err()
}

// buildService builds one pod or job service from orig, its node in the
// merged tree, which the build may take over: the service is replaced.
// shared says orig may hold aliases or merge keys (a single file with
// anchors), which are expanded into a copy first.
func buildService(name string, orig *yaml.Node, shared bool, cfg *config.Config, project *model.ProjectView, typed types.ServiceConfig, engine *render.Engine, opts Options) (*yaml.Node, error) {
	svc := orig
	if shared {
		svc = yamlx.Flatten(orig)
	}
	if svc == nil || yamlx.IsNull(svc) {
		svc = nil
	} else if svc.Kind != yaml.MappingNode {
		return nil, &diag.Error{Service: name, Msg: fmt.Sprintf("the service is %s; expected a mapping", yamlx.KindName(svc))}
	}
	if typed.Name == "" {
		typed.Name = name
	}
	job, pod := cfg.Jobs[name], cfg.Pods[name]
	var jobView *config.JobView
	if job != nil {
		v := job.View()
		jobView = &v
		r := &assemble.Renderer{Engine: engine, Svc: name, Data: map[string]any{"Service": typed, "Args": job.Args, "Project": project, "Job": jobView}}
		var err error
		if svc, err = assemble.JobService(svc, job, r); err != nil {
			return nil, err
		}
	}
	if pod != nil {
		if svc == nil {
			svc = yamlx.Map()
		}
		r := &assemble.Renderer{Engine: engine, Svc: name, Data: map[string]any{"Service": typed, "Args": pod.Args, "Project": project, "Job": jobView}}
		var err error
		svc, err = assemble.BuildPod(assemble.PodInput{Name: name, Service: svc, Pod: pod, R: r, ControllerImage: opts.ControllerImage})
		if err != nil {
			return nil, err
		}
	}
	if job != nil {
		if err := assemble.ApplyJob(svc, job); err != nil {
			return nil, err
		}
	}
	return svc, nil
}
