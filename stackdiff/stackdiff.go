// Package stackdiff compares a rendered stack file with the stack running
// on a Swarm, service by service, as `podtemplate diff` and
// `deploy --dry-run` show it.
//
// The rendered file is read and converted to service specs by docker/cli's
// own compose loader and converter (the converter through the copy in
// internal/dockercli, which links without the rest of the docker CLI), as
// `docker stack deploy` does; the
// running specs come from the Engine API. Both are then normalised so that
// what Swarm and docker stack deploy add by themselves (network IDs for
// names, the image digest pinned at the first deploy, the force-update
// counter, defaults the daemon fills in) is not reported as a change.
package stackdiff

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/docker/cli/cli/compose/loader"
	composetypes "github.com/docker/cli/cli/compose/types"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/podtemplate/podtemplate/internal/dockercli/convert"
	"gopkg.in/yaml.v3"
)

// Change says how a service would change.
type Change string

// The changes a deploy can make to a service.
const (
	Unchanged Change = "unchanged"
	Changed   Change = "changed"
	Added     Change = "added"   // in the stack file, not running
	Removed   Change = "removed" // running, not in the stack file (deploy --prune removes it)
)

// ServiceDiff is one service's difference.
type ServiceDiff struct {
	// Name is the service's name in the stack file (without the stack
	// prefix).
	Name string
	// Change is how the service would change.
	Change Change
	// Unified is the unified diff of the normalised definitions, running
	// first ("" when unchanged).
	Unified string
}

// Result is the difference between a stack file and a running stack.
type Result struct {
	// Stack is the stack name.
	Stack string
	// Services holds every service of either side, in name order.
	Services []ServiceDiff
}

// Changed reports whether any service would change.
func (r Result) Changed() bool {
	for _, s := range r.Services {
		if s.Change != Unchanged {
			return true
		}
	}
	return false
}

// Options are the inputs of Compare.
type Options struct {
	// Stack is the deployed stack's name.
	Stack string
	// File is the rendered stack file (YAML or JSON).
	File []byte
	// WorkingDir resolves the file's relative paths, as docker stack
	// deploy -c - resolves them from its working directory.
	WorkingDir string
	// Env is the environment for the loader's interpolation (nil: the
	// process environment).
	Env map[string]string
}

// Compare converts opts.File into service specs as docker stack deploy
// would and compares them with the running stack's services.
func Compare(ctx context.Context, api client.APIClient, opts Options) (Result, error) {
	desired, err := Desired(ctx, api, opts)
	if err != nil {
		return Result{}, err
	}
	running, err := Running(ctx, api, opts.Stack)
	if err != nil {
		return Result{}, err
	}
	netNames, err := networkNames(ctx, api)
	if err != nil {
		return Result{}, err
	}
	names := map[string]bool{}
	for n := range desired {
		names[n] = true
	}
	for n := range running {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	res := Result{Stack: opts.Stack}
	for _, name := range sorted {
		want, inFile := desired[name]
		have, isRunning := running[name]
		full := opts.Stack + "_" + name
		var a, b string
		d := ServiceDiff{Name: name}
		switch {
		case inFile && isRunning:
			adjustAsDeploy(&want, have.Spec)
			a, err = definition(have.Spec, netNames)
			if err == nil {
				b, err = definition(want, netNames)
			}
			d.Change = Changed
			d.Unified = unified(a, b, full+" (running)", full+" (stack file)")
		case inFile:
			b, err = definition(want, netNames)
			d.Change = Added
			d.Unified = unified("", b, "/dev/null", full+" (stack file)")
		default:
			a, err = definition(have.Spec, netNames)
			d.Change = Removed
			d.Unified = unified(a, "", full+" (running)", "/dev/null (not in the stack file: deploy --prune removes it)")
		}
		if err != nil {
			return Result{}, fmt.Errorf("service %s: %w", name, err)
		}
		if d.Unified == "" {
			d.Change = Unchanged
		}
		res.Services = append(res.Services, d)
	}
	return res, nil
}

// Desired loads the stack file with docker/cli's compose loader and
// converts it to service specs with its converter, keyed by the service
// name in the file.
func Desired(ctx context.Context, api client.APIClient, opts Options) (map[string]swarm.ServiceSpec, error) {
	dict, err := loader.ParseYAML(opts.File)
	if err != nil {
		return nil, fmt.Errorf("reading the rendered stack: %w", err)
	}
	env := opts.Env
	if env == nil {
		env = map[string]string{}
		for _, kv := range os.Environ() {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
	}
	wd := opts.WorkingDir
	if wd == "" {
		if wd, err = os.Getwd(); err != nil {
			return nil, err
		}
	}
	cfg, err := loader.Load(composetypes.ConfigDetails{
		WorkingDir:  wd,
		ConfigFiles: []composetypes.ConfigFile{{Filename: "-", Config: dict}},
		Environment: env,
	})
	if err != nil {
		return nil, fmt.Errorf("reading the rendered stack as docker stack deploy does: %w", err)
	}
	specs, err := convert.Services(ctx, convert.NewNamespace(opts.Stack), cfg, api)
	if err != nil {
		return nil, fmt.Errorf("converting the rendered stack as docker stack deploy does: %w", err)
	}
	return specs, nil
}

// Running returns the stack's services, keyed by their name in the stack
// file.
func Running(ctx context.Context, api client.APIClient, stack string) (map[string]swarm.Service, error) {
	list, err := api.ServiceList(ctx, swarm.ServiceListOptions{
		Filters: filters.NewArgs(filters.Arg("label", convert.LabelNamespace+"="+stack)),
	})
	if err != nil {
		return nil, fmt.Errorf("listing the services of stack %s: %w", stack, err)
	}
	out := make(map[string]swarm.Service, len(list))
	for _, s := range list {
		out[strings.TrimPrefix(s.Spec.Name, stack+"_")] = s
	}
	return out, nil
}

func networkNames(ctx context.Context, api client.APIClient) (map[string]string, error) {
	list, err := api.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing networks: %w", err)
	}
	names := make(map[string]string, len(list))
	for _, n := range list {
		names[n.ID] = n.Name
	}
	return names, nil
}

// adjustAsDeploy makes the changes docker stack deploy makes to a spec
// before it updates an existing service: an image unchanged since the
// last deploy keeps the reference Swarm stored (with its digest), and
// the force-update counter is kept.
func adjustAsDeploy(want *swarm.ServiceSpec, have swarm.ServiceSpec) {
	if want.TaskTemplate.ContainerSpec != nil && have.TaskTemplate.ContainerSpec != nil &&
		want.TaskTemplate.ContainerSpec.Image == have.Labels[convert.LabelImage] {
		want.TaskTemplate.ContainerSpec.Image = have.TaskTemplate.ContainerSpec.Image
	}
	want.TaskTemplate.ForceUpdate = have.TaskTemplate.ForceUpdate
}

// definition is the normalised spec as YAML with sorted keys.
func definition(spec swarm.ServiceSpec, netNames map[string]string) (string, error) {
	spec = normalise(spec, netNames)
	data, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	if m, ok := v.(map[string]any); ok {
		if tt, ok := m["TaskTemplate"].(map[string]any); ok {
			delete(tt, "ForceUpdate")
		}
	}
	v = prune(readableDurations(v, ""))
	if v == nil {
		return "", nil
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return b.String(), nil
}

// durationKey reports whether the spec field key holds nanoseconds (a
// switch, not a map: a map literal is built by the package's initialiser
// at every start).
func durationKey(key string) bool {
	switch key {
	case "Delay", "Window", "Monitor", "Interval", "Timeout", "StartPeriod", "StartInterval", "StopGracePeriod":
		return true
	}
	return false
}

// readableDurations writes durations as 5s rather than 5000000000.
func readableDurations(v any, key string) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = readableDurations(x, k)
		}
	case []any:
		for i, x := range v {
			v[i] = readableDurations(x, "")
		}
	case json.Number:
		if n, err := v.Int64(); err == nil && durationKey(key) {
			return time.Duration(n).String()
		}
		if n, err := v.Int64(); err == nil {
			return n
		}
		f, _ := v.Float64()
		return f
	}
	return v
}

// normalise removes from a spec what Swarm sets by itself and what
// differs only in form.
func normalise(spec swarm.ServiceSpec, netNames map[string]string) swarm.ServiceSpec {
	spec.TaskTemplate.ForceUpdate = 0
	// Networks: the daemon stores IDs where the stack file names them;
	// the order carries no meaning.
	nets := append([]swarm.NetworkAttachmentConfig(nil), spec.TaskTemplate.Networks...)
	for i := range nets {
		if name, ok := netNames[nets[i].Target]; ok {
			nets[i].Target = name
		}
		aliases := append([]string(nil), nets[i].Aliases...)
		sort.Strings(aliases)
		nets[i].Aliases = aliases
	}
	sort.Slice(nets, func(i, j int) bool { return nets[i].Target < nets[j].Target })
	spec.TaskTemplate.Networks = nets
	// The endpoint mode defaults to vip, a port's protocol to tcp.
	if spec.EndpointSpec != nil {
		e := *spec.EndpointSpec
		if e.Mode == swarm.ResolutionModeVIP {
			e.Mode = ""
		}
		ports := append([]swarm.PortConfig(nil), e.Ports...)
		for i := range ports {
			if ports[i].Protocol == "" {
				ports[i].Protocol = swarm.PortConfigProtocolTCP
			}
		}
		e.Ports = ports
		spec.EndpointSpec = &e
	}
	// A service without a mode is replicated, and one replica by default.
	m := spec.Mode
	if m.Replicated == nil && m.Global == nil && m.ReplicatedJob == nil && m.GlobalJob == nil {
		m.Replicated = &swarm.ReplicatedService{}
	}
	if m.Replicated != nil && m.Replicated.Replicas == nil {
		one := uint64(1)
		m.Replicated = &swarm.ReplicatedService{Replicas: &one}
	}
	spec.Mode = m
	// The daemon's defaults, written out on the running side.
	if spec.TaskTemplate.Runtime == swarm.RuntimeContainer {
		spec.TaskTemplate.Runtime = ""
	}
	for _, u := range []**swarm.UpdateConfig{&spec.UpdateConfig, &spec.RollbackConfig} {
		if *u == nil {
			continue
		}
		c := **u
		if c.FailureAction == swarm.UpdateFailureActionPause {
			c.FailureAction = ""
		}
		if c.Order == swarm.UpdateOrderStopFirst {
			c.Order = ""
		}
		*u = &c
	}
	// A zero restart limit is no limit, written out or not.
	if rp := spec.TaskTemplate.RestartPolicy; rp != nil {
		r := *rp
		if r.MaxAttempts != nil && *r.MaxAttempts == 0 {
			r.MaxAttempts = nil
		}
		if r.Delay != nil && *r.Delay == 0 {
			r.Delay = nil
		}
		if r.Window != nil && *r.Window == 0 {
			r.Window = nil
		}
		spec.TaskTemplate.RestartPolicy = &r
	}
	if cs := spec.TaskTemplate.ContainerSpec; cs != nil {
		c := *cs
		if c.Isolation == "default" {
			c.Isolation = ""
		}
		spec.TaskTemplate.ContainerSpec = &c
	}
	return spec
}

// prune drops empty values (null, "", false, empty lists and mappings),
// which the two sides write differently for "not set".
func prune(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if p := prune(x); p == nil {
				delete(v, k)
			} else {
				v[k] = p
			}
		}
		if len(v) == 0 {
			return nil
		}
		return v
	case []any:
		out := v[:0]
		for _, x := range v {
			if p := prune(x); p != nil {
				out = append(out, p)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case string:
		if v == "" {
			return nil
		}
	case bool:
		if !v {
			return nil
		}
	}
	return v
}
