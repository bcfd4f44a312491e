package assemble

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/podtemplate/podtemplate/transform/config"
	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/model"
	"github.com/podtemplate/podtemplate/transform/render"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// Stack is what the build stage works from.
type Stack struct {
	// Root is the merged top-level mapping; its pod and job services are
	// replaced, and jobs created from templates alone appended.
	Root   *yaml.Node
	Config *config.Config
	// Shared says services may hold aliases or merge keys, and aliases
	// elsewhere may point into them (a single file with anchors).
	Shared          bool
	Project         *model.ProjectView // .Project, when templates read it
	Typed           model.Services     // .Service of each pod and job
	Engine          *render.Engine
	ControllerImage string
	// Dir is the folder the services' relative paths resolve against.
	Dir string
	// Env is the deploying environment (variables without a value in a
	// component take their value from it).
	Env map[string]string
	// Check returns docker's objections to a built service (none when
	// docker stack deploy accepts it); nil checks nothing.
	Check func(name string, svc *yaml.Node) []string

	lookup func(string) (string, bool) // Env's, made once (see Services)
}

// Finish receives each built service (key is its name's node) in the
// worker that built it, and returns the node to put in the tree: the emit
// stage's chance to finish and encode services in parallel.
type Finish func(key, svc *yaml.Node) (*yaml.Node, error)

// Built names what the build made, in output order.
type Built struct {
	Pods, Jobs []string
}

// Services replaces every pod and job service in s.Root and appends the
// jobs created from templates. Services are built in parallel (each on its
// own nodes) and handed to finish at once, so their nodes can be dropped;
// results are placed in input order, so the output does not depend on
// scheduling. Every failing service is reported, as a diag.List.
func Services(s Stack, finish Finish) (*Built, error) {
	cfg := s.Config
	if len(cfg.Pods)+len(cfg.Jobs) == 0 {
		return &Built{}, nil
	}
	// One function for every pod (a method value would be a new closure,
	// with a copy of s, for each).
	env := s.Env
	s.lookup = func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
	services := yamlx.Resolve(yamlx.Get(s.Root, "services"))
	if services == nil || yamlx.IsNull(services) {
		services = yamlx.Map()
		yamlx.Set(s.Root, "services", services)
	}
	index := map[string]int{}
	var names []string
	for i := 0; i+1 < len(services.Content); i += 2 {
		name := services.Content[i].Value
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
	if s.Shared {
		// Aliases elsewhere into the services being rebuilt must stay valid.
		var originals []*yaml.Node
		for _, name := range names {
			if i, ok := index[name]; ok {
				originals = append(originals, services.Content[i])
			}
		}
		config.ExpandAliasesInto(s.Root, originals)
	}

	built := make([]*yaml.Node, len(names))
	refs := make([][]string, len(names))
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
				var key, orig *yaml.Node
				j, inTree := index[name]
				if inTree {
					key, orig = services.Content[j-1], services.Content[j]
				} else {
					key = yamlx.Str(name)
				}
				svc, volumeRefs, err := s.service(name, orig)
				refs[i] = volumeRefs
				if err == nil && s.Check != nil {
					err = s.refused(name, s.Check(name, svc))
				}
				if err == nil && finish != nil {
					svc, err = finish(key, svc)
				}
				if inTree && err == nil {
					// In place at once (each worker its own slot), so the
					// original's nodes can be collected during the build.
					services.Content[j] = svc
				}
				built[i], errs[i] = svc, err
			}
		}()
	}
	wg.Wait()
	var list diag.List
	out := &Built{}
	var volumeRefs []string
	for i, name := range names {
		if errs[i] != nil {
			list.Add(errs[i])
			continue
		}
		volumeRefs = append(volumeRefs, refs[i]...)
		if _, ok := index[name]; !ok {
			services.Content = append(services.Content, yamlx.Str(name), built[i])
		}
		if cfg.Pods[name] != nil {
			out.Pods = append(out.Pods, name)
		}
		if cfg.Jobs[name] != nil {
			out.Jobs = append(out.Jobs, name)
		}
	}
	if err := list.Err(); err != nil {
		return nil, err
	}
	LabelVolumeRefs(s.Root, volumeRefs)
	return out, nil
}

// service builds one pod or job service from orig, its node in the merged
// tree, which the build may take over: the service is replaced. It also
// returns the top-level volumes that need podlike's volume-ref label.
func (s Stack) service(name string, orig *yaml.Node) (*yaml.Node, []string, error) {
	svc := orig
	if s.Shared {
		svc = yamlx.Flatten(orig)
	}
	if svc == nil || yamlx.IsNull(svc) {
		svc = nil
	} else if svc.Kind != yaml.MappingNode {
		return nil, nil, &diag.Error{Service: name, Msg: fmt.Sprintf("the service is %s; expected a mapping", yamlx.KindName(svc))}
	}
	typed, ok := s.Typed[name]
	if !ok {
		typed = types.ServiceConfig{Name: name}
	}
	job, pod := s.Config.Jobs[name], s.Config.Pods[name]
	var jobView *config.JobView
	if job != nil {
		v := job.View()
		jobView = &v
		r := &Renderer{Engine: s.Engine, Svc: name, Data: map[string]any{"Service": typed, "Args": job.Args, "Project": s.Project, "Job": jobView}}
		var err error
		if svc, err = JobService(svc, job, r); err != nil {
			return nil, nil, err
		}
	}
	var podMain string
	var volumeRefs []string
	if pod != nil {
		if svc == nil {
			svc = yamlx.Map()
		}
		r := &Renderer{Engine: s.Engine, Svc: name, Data: map[string]any{"Service": typed, "Args": pod.Args, "Project": s.Project, "Job": jobView}}
		built, err := BuildPod(PodInput{Name: name, Service: svc, Pod: pod, R: r, ControllerImage: s.ControllerImage,
			Dir: s.Dir, Lookup: s.lookup, Volumes: yamlx.Get(s.Root, "volumes")})
		if err != nil {
			return nil, nil, err
		}
		svc, podMain, volumeRefs = built.Controller, built.Main, built.VolumeRefs
	}
	if job != nil {
		if err := ApplyJob(svc, job, podMain); err != nil {
			// What the job's keys hold came from its templates: the
			// input's were validated.
			var d *diag.Error
			if names, pos := s.templates(name); len(names) > 0 && errors.As(err, &d) && d.Template == "" {
				d.Template = strings.Join(names, ", ")
				d.File, d.Line, d.Column = pos.File, pos.Line, pos.Column
			}
			return nil, nil, err
		}
	}
	return svc, volumeRefs, nil
}

// refused reports docker's objections msgs to the built service name:
// templates made it, so the error names them and is placed at the first
// one's item in the stack.
func (s Stack) refused(name string, msgs []string) error {
	if len(msgs) == 0 {
		return nil
	}
	names, pos := s.templates(name)
	var list diag.List
	for _, m := range msgs {
		e := pos.Errorf("the service its templates build is not valid for docker stack deploy: %s", m).WithService(name)
		e.Template = strings.Join(names, ", ")
		list.Add(e)
	}
	return list.Err()
}

// templates names the templates that build service name, and where the
// stack names the first (else where it configures the pod or job).
func (s Stack) templates(name string) ([]string, diag.Pos) {
	var srcs []*config.Source
	if job := s.Config.Jobs[name]; job != nil {
		srcs = append(srcs, job.Templates...)
	}
	if pod := s.Config.Pods[name]; pod != nil {
		for _, list := range [][]*config.Source{pod.Pod, pod.Init, pod.Transformer, pod.Templates, pod.Copy} {
			srcs = append(srcs, list...)
		}
	}
	var names []string
	var pos diag.Pos
	for _, src := range srcs {
		if n := s.Engine.Name(src.Key()); n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
		if pos.File == "" {
			pos = src.Pos
		}
	}
	if pos.File == "" {
		if job := s.Config.Jobs[name]; job != nil {
			pos = job.Pos
		} else if pod := s.Config.Pods[name]; pod != nil {
			pos = pod.Pos
		}
	}
	return names, pos
}
