// Package transform is the compiler: it runs the stages load -> collect
// config -> load templates -> render -> merge -> build services -> emit,
// each in its own sub-package, one way through.
package transform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/podtemplate/podtemplate/transform/assemble"
	"github.com/podtemplate/podtemplate/transform/config"
	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/emit"
	"github.com/podtemplate/podtemplate/transform/inputs"
	"github.com/podtemplate/podtemplate/transform/load"
	"github.com/podtemplate/podtemplate/transform/model"
	"github.com/podtemplate/podtemplate/transform/override"
	"github.com/podtemplate/podtemplate/transform/render"
	"github.com/podtemplate/podtemplate/transform/retrieve"
	"github.com/podtemplate/podtemplate/transform/validation"
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
	Set             []string          // --set Key.Sub=value (Helm's rules, see inputs.SetValues)
	SetString       []string          // --set-string
	SetFile         []string          // --set-file KEY=PATH
	SetJSON         []string          // --set-json KEY=JSON
	ArgsFiles       []string          // --args-file FILE (YAML mapping)
	Strict          bool              // a missing key in a template is an error
	ControllerImage string            // default controller image
	Library         []string          // --library files or folders of named templates
	Format          emit.Format       // yaml (default) or json
	Cwd             string            // working directory; os.Getwd when empty
	OutDir          string            // folder the output is deployed from; Cwd when empty
	Loaders         retrieve.Loaders  // HTTP and built-in template loaders
	Warn            func(string)      // receives warnings (unset variables...)
	// TemplateTimeout bounds the template stage (all executions and the
	// services built from them); 0 means no bound but ctx's.
	TemplateTimeout time.Duration
	// KeepGoing reports the problems of every stage it can reach (validate)
	// instead of stopping after the first stage with problems.
	KeepGoing bool
}

// Result is a rendered stack.
type Result struct {
	Output   []byte   // the stack file, in the requested format
	Services []string // every service, in output order
	Jobs     []string // job services, in output order
	Pods     []string // controller services, in output order
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
	in, err := inputs.Options{Env: opts.Env, EnvFiles: opts.EnvFiles, ArgsFiles: opts.ArgsFiles, Set: opts.Set,
		SetString: opts.SetString, SetFile: opts.SetFile, SetJSON: opts.SetJSON, Library: opts.Library}.Resolve(opts.Cwd)
	if err != nil {
		return nil, err
	}
	// validate (KeepGoing) reports every problem of every stage it can
	// reach; render stops after the first stage with problems, reporting
	// all of that stage's.
	var problems diag.List
	failed := func(err error) bool {
		problems.Add(err)
		return err != nil && !opts.KeepGoing
	}
	files, err := load.Files(load.Options{Files: opts.Files, Stdin: opts.Stdin, Env: in.Env, NoInterpolate: opts.NoInterpolate, Cwd: opts.Cwd}, opts.Warn)
	if files == nil || failed(err) {
		return nil, orderedErr(append(problems, err), files)
	}
	cfg, err := config.Collect(files)
	if failed(err) {
		return nil, orderedErr(problems, files)
	}
	removed := config.Strip(files)
	// The stages from merging to the typed model only read the stripped
	// files and the configuration: they run beside validate, which takes
	// as long at scale, and their problems are taken in order after its.
	// Templates fetched over HTTP are fetched only once validate passed.
	ahead := make(chan *prepared, 1)
	go func() { ahead <- prepare(ctx, files, cfg, in, opts) }()
	validated := validate(files, cfg, in.Env, opts)
	p := <-ahead
	if failed(validated) {
		return nil, orderedErr(problems, files)
	}
	merged := p.merged
	if failed(p.mergeErr) || merged == nil {
		return nil, orderedErr(problems, files)
	}
	if failed(p.namesErr) || p.services == nil {
		return nil, orderedErr(problems, files)
	}
	if failed(p.finishErr) {
		return nil, orderedErr(problems, files)
	}
	if p.fetch {
		p.templatesOn(ctx, files, cfg, in, opts)
	}
	if failed(p.retrieveErr) {
		return nil, orderedErr(problems, files)
	}
	engine := p.engine
	if failed(p.engineErr) || (len(problems) > 0 && !opts.KeepGoing) || engine == nil {
		// (Without templates nothing is built: validate has reported.)
		return nil, orderedErr(problems, files)
	}
	project, typed, err := p.project, p.typed, p.modelErr
	if err != nil {
		if len(problems) > 0 {
			// Invalid services, already reported, stop the typed model.
			return nil, orderedErr(problems, files)
		}
		return nil, err
	}
	outDir := opts.OutDir
	if outDir == "" {
		outDir = opts.Cwd
	}
	out := emit.New(merged, opts.Format, emit.Options{InDir: files[0].Dir, OutDir: outDir, EscapeDollars: !opts.NoInterpolate},
		&emit.Input{Text: files[0].Text, Root: files[0].Root, Removed: removed[0], Merged: len(files) > 1, BOM: files[0].BOM})
	var built *assemble.Built
	err = runTemplates(ctx, opts.TemplateTimeout, engine, func() (err error) {
		built, err = assemble.Services(assemble.Stack{
			Root: merged, Config: cfg, Project: project, Typed: typed, Engine: engine, ControllerImage: opts.ControllerImage,
			Dir: files[0].Dir, Env: in.Env,
			// Only one file can hold aliases: several are flattened when merged.
			Shared: len(files) == 1 && files[0].Anchors,
			Check:  builtCheck(files, merged, in.Env, opts.NoInterpolate),
		}, out.Service)
		return err
	})
	if len(problems) > 0 {
		// validate goes on to build the services, for the problems of
		// those that had none so far.
		problems.Add(unreported(err, problems))
		return nil, orderedErr(problems, files)
	}
	if err != nil {
		return nil, err
	}
	text, err := out.Write(files[0].Doc, merged)
	if err != nil {
		return nil, &diag.Error{Msg: "writing the output", Err: err}
	}
	res := &Result{Output: text, Pods: built.Pods, Jobs: built.Jobs}
	for _, p := range yamlx.Pairs(yamlx.Get(merged, "services")) {
		res.Services = append(res.Services, p.Key.Value)
	}
	return res, nil
}

// prepared is what the stages from merging the files to the typed model
// made, each with its problems; it stops where Render would stop (as if
// validate passed).
type prepared struct {
	merged    *yaml.Node
	mergeErr  error
	services  map[string]bool
	namesErr  error
	finishErr error
	// sources are every template source of the stack (cfg.Sources).
	sources []*config.Source
	// fetch says the templates (and what follows) are left for
	// templatesOn once validate passed: some are fetched over HTTP.
	fetch       bool
	retrieveErr error
	engine      *render.Engine
	engineErr   error
	project     *model.ProjectView
	typed       model.Services
	modelErr    error
}

// prepare runs the stages from merging the files to the typed model.
func prepare(ctx context.Context, files []*load.File, cfg *config.Config, in *inputs.Values, opts Options) *prepared {
	p := &prepared{}
	stop := func(err error) bool { return err != nil && !opts.KeepGoing }
	if p.merged, p.mergeErr = mergeFiles(files, cfg, in.Env, opts); stop(p.mergeErr) || p.merged == nil {
		return p
	}
	if p.services, p.namesErr = config.ServiceNames(files[0].Name, p.merged); stop(p.namesErr) || p.services == nil {
		return p
	}
	if p.finishErr = cfg.Finish(p.services, in.Args); stop(p.finishErr) {
		return p
	}
	p.sources = cfg.Sources(in.Library)
	for _, src := range p.sources {
		for ; src != nil; src = src.Fallback {
			p.fetch = p.fetch || src.Kind == config.KindHTTP
		}
	}
	if !p.fetch {
		p.templatesOn(ctx, files, cfg, in, opts)
	}
	return p
}

// templatesOn loads and parses the templates and builds the typed model.
func (p *prepared) templatesOn(ctx context.Context, files []*load.File, cfg *config.Config, in *inputs.Values, opts Options) {
	var templates []render.Template
	if templates, p.retrieveErr = retrieve.Templates(ctx, p.sources, opts.Loaders); p.retrieveErr != nil && !opts.KeepGoing {
		return
	}
	if p.engine, p.engineErr = render.New(templates, opts.Strict); p.engine == nil || (p.engineErr != nil && !opts.KeepGoing) {
		return
	}
	if opts.NoInterpolate {
		p.engine.EscapeOutput()
	}
	p.project, p.typed, p.modelErr = typedModel(ctx, files, p.merged, cfg, p.engine, in.Env, opts.NoInterpolate)
}

// typedModel builds compose-go's typed services (and project) for the pods
// and jobs, from only what their templates read.
func typedModel(ctx context.Context, files []*load.File, merged *yaml.Node, cfg *config.Config, engine *render.Engine, env map[string]string, noInterpolate bool) (*model.ProjectView, model.Services, error) {
	if len(cfg.Pods)+len(cfg.Jobs) == 0 {
		return nil, model.Services{}, nil
	}
	uses := engine.Uses()
	need := model.Need{Project: uses.Project, WholeService: uses.WholeService, ServiceFields: uses.ServiceFields}
	names := append(append([]string(nil), cfg.PodOrder...), cfg.JobOrder...)
	view := merged
	if noInterpolate && (need.Project || need.WholeService || len(need.ServiceFields) > 0) {
		view = load.Lenient(merged, env)
	}
	return model.Typed(ctx, view, names, need, files[0].Dir, load.Describe(files))
}

// builtCheck checks the services the build makes as validate checks the
// input. Left for the deploy to interpolate, a service is checked with
// what the environment gives now; a problem is reported only when no
// variable is left unresolved (a template's replicas: ${N} is the
// deploy's to fill).
func builtCheck(files []*load.File, merged *yaml.Node, env map[string]string, noInterpolate bool) func(string, *yaml.Node) []string {
	check := validation.NewBuiltChecker(files, merged, env).Check
	if !noInterpolate {
		return check
	}
	return func(name string, svc *yaml.Node) []string {
		root := load.Lenient(yamlx.Map(yamlx.Str("services"), yamlx.Map(yamlx.Str(name), svc)), env)
		view := yamlx.Get(yamlx.Get(root, "services"), name)
		msgs := check(name, view)
		if len(msgs) > 0 && holdsDollar(view) {
			return nil
		}
		return msgs
	}
}

// holdsDollar reports whether a scalar under n holds a $.
func holdsDollar(n *yaml.Node) bool {
	found := false
	yamlx.Walk(n, func(x *yaml.Node) {
		found = found || (x.Kind == yaml.ScalarNode && strings.Contains(x.Value, "$"))
	})
	return found
}

// TimeoutError is the template stage running out of its time budget.
type TimeoutError struct{ Budget time.Duration }

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("the templates ran longer than %s (--template-timeout): does a template loop?", e.Budget)
}

// runTemplates runs the template stage build and returns as soon as ctx is
// done or the budget is spent. text/template cannot be interrupted: the
// engine is stopped, so an execution ends at its next function call, list
// item or include, but one that loops without any of them would run on,
// so the stage runs in its own goroutine and is abandoned. The process
// exits right after, and the stage has no side effect to undo: it only
// builds nodes in memory, and the output is written after it returns.
func runTemplates(ctx context.Context, budget time.Duration, engine *render.Engine, build func() error) error {
	if budget > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, budget, &TimeoutError{Budget: budget})
		defer cancel()
	}
	release := engine.Bind(ctx)
	defer release()
	done := make(chan error, 1)
	go func() { done <- dropRepeats(build()) }()
	select {
	case err := <-done:
		if ctx.Err() != nil {
			return stopCause(ctx)
		}
		return err
	case <-ctx.Done():
		return stopCause(ctx)
	}
}

// stopCause is a timeout as a clear error, or ctx's own error.
func stopCause(ctx context.Context) error {
	var te *TimeoutError
	if errors.As(context.Cause(ctx), &te) {
		return &diag.Error{Msg: te.Error()}
	}
	return ctx.Err()
}

// validate checks the files (interpolated, consumed extension fields
// removed) as docker stack deploy does and passes its warnings on.
func validate(files []*load.File, cfg *config.Config, env map[string]string, opts Options) error {
	vopts := validationOptions(cfg, env)
	check := files
	if opts.NoInterpolate {
		// The deploy interpolates: check what it will see here.
		check = make([]*load.File, len(files))
		for i, f := range files {
			c := *f
			c.Root = load.Lenient(f.Root, env)
			check[i] = &c
		}
	}
	warnings, err := validation.Check(check, vopts)
	if opts.Warn != nil {
		for _, w := range warnings {
			opts.Warn(w)
		}
	}
	return err
}

// mergeFiles merges several files the way docker stack deploy does. Left
// for the deploy to interpolate, they are merged by rules of our own
// (docker's loader needs the values).
func mergeFiles(files []*load.File, cfg *config.Config, env map[string]string, opts Options) (*yaml.Node, error) {
	if len(files) == 1 || opts.NoInterpolate {
		return override.Files(load.Roots(files)), nil
	}
	return validation.Merge(files, override.Files(load.Roots(files)), validationOptions(cfg, env))
}

// validationOptions tells validation which services become pods and jobs.
func validationOptions(cfg *config.Config, env map[string]string) validation.Options {
	vopts := validation.Options{Env: env, Pods: map[string]bool{}, Built: map[string]bool{}, MovesToComponent: assemble.MovesToComponent}
	if cfg != nil {
		for name := range cfg.Pods {
			vopts.Pods[name], vopts.Built[name] = true, true
		}
		for name := range cfg.Jobs {
			vopts.Built[name] = true
		}
	}
	return vopts
}

// unreported returns the problems in err about services that have none in
// earlier: a service an earlier stage found wrong fails later for the
// same reason.
func unreported(err error, earlier diag.List) error {
	if err == nil {
		return nil
	}
	flagged := map[string]bool{}
	for _, p := range earlier {
		var d *diag.Error
		if errors.As(p, &d) && d.Service != "" {
			flagged[d.Service] = true
		}
	}
	var all, out diag.List
	all.Add(err)
	for _, p := range all {
		var d *diag.Error
		if errors.As(p, &d) && d.Service != "" && flagged[d.Service] {
			continue
		}
		out = append(out, p)
	}
	return out.Err()
}

// orderedErr returns the problems sorted by file and position; of two at
// one place (a value that failed interpolation, then validation) only the
// first found is kept.
func orderedErr(problems diag.List, files []*load.File) error {
	var all diag.List
	for _, p := range problems {
		all.Add(p)
	}
	var out diag.List
	seen := map[diag.Pos]bool{}
	for _, p := range all {
		var d *diag.Error
		if errors.As(p, &d) && d.Line > 0 {
			at := diag.Pos{File: d.File, Line: d.Line, Column: d.Column}
			if seen[at] {
				continue
			}
			seen[at] = true
		}
		out = append(out, p)
	}
	validation.Sort(out, files)
	return out.Err()
}

// dropRepeats removes the executions that did not run because the total
// output budget was spent: the one that spent it says so.
func dropRepeats(err error) error {
	var list diag.List
	if !errors.As(err, &list) {
		if errors.Is(err, render.ErrBudgetSpent) {
			return &diag.Error{Msg: render.ErrBudgetSpent.Error()}
		}
		return err
	}
	var kept diag.List
	spent := false
	for _, e := range list {
		if errors.Is(e, render.ErrBudgetSpent) {
			spent = true
		} else {
			kept.Add(e)
		}
	}
	if spent {
		kept.Add(&diag.Error{Msg: render.ErrBudgetSpent.Error()})
	}
	return kept.Err()
}
