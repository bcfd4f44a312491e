package model

import (
	"context"
	"reflect"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// ProjectView is the stack as templates see it (.Project): its services,
// networks, volumes, secrets, configs and extension fields. It is not
// compose-go's Project, whose environment and methods would let a template
// read the process environment and files.
type ProjectView struct {
	Name       string // always empty: the stack's name is given at deploy time
	Services   types.Services
	Networks   types.Networks
	Volumes    types.Volumes
	Secrets    types.Secrets
	Configs    types.Configs
	Extensions types.Extensions
}

// Need says which parts of compose-go's typed model templates can reach.
type Need struct {
	Project       bool            // the whole project (.Project, or data passed around)
	WholeService  bool            // whole services
	ServiceFields map[string]bool // else only these ServiceConfig fields
}

// Services maps each named service to its typed service as templates see
// it (.Service): a types.ServiceConfig value (never a pointer), boxed once
// here so that every template's data holds it without copying its 1.5 KB
// again. A service the model lacks has only its name.
type Services map[string]any

// Typed builds the typed services (and the project when needed) for the
// named services. Building compose-go's model is the costliest part of a
// render, so it is built from only the keys templates can reach; a field
// templates never read cannot change the output.
func Typed(ctx context.Context, merged *yaml.Node, names []string, need Need, workingDir, describe string) (*ProjectView, Services, error) {
	out := make(Services, len(names))
	if need.Project || need.WholeService {
		p, err := Project(ctx, merged, workingDir, describe)
		if err != nil {
			return nil, nil, err
		}
		for _, n := range names {
			s, ok := p.Services[n]
			if !ok || s.Name == "" {
				s.Name = n
			}
			out[n] = s
		}
		return &ProjectView{Name: "", Services: p.Services, Networks: p.Networks, Volumes: p.Volumes,
			Secrets: p.Secrets, Configs: p.Configs, Extensions: p.Extensions}, out, nil
	}
	keys := yamlKeys(need.ServiceFields)
	services := yamlx.Resolve(yamlx.Get(merged, "services"))
	if svcs, ok := stringFieldsOnly(services, names, need.ServiceFields); ok {
		return nil, svcs, nil
	}
	reduced := yamlx.Map()
	for _, n := range names {
		svc := yamlx.Get(services, n)
		if svc == nil {
			continue
		}
		m := yamlx.Map()
		for _, p := range yamlx.Pairs(svc) {
			if keys[p.Key.Value] || (keys["#extensions"] && strings.HasPrefix(p.Key.Value, "x-")) {
				m.Content = append(m.Content, p.Key, p.Value)
			}
		}
		reduced.Content = append(reduced.Content, yamlx.Str(n), m)
	}
	p, err := Project(ctx, yamlx.Map(yamlx.Str("services"), reduced), workingDir, describe)
	if err != nil {
		return nil, nil, err
	}
	for _, n := range names {
		s, ok := p.Services[n]
		if !ok || s.Name == "" {
			s.Name = n
		}
		out[n] = s
	}
	return nil, out, nil
}

// stringFieldsOnly fills the services directly when every field templates
// read is a plain string field (image, hostname, user...), which compose-go
// would copy unchanged: decoding whole services through compose-go costs
// far more than the render itself. ok is false when a field needs
// compose-go's parsing (ports, deploy, environment...).
func stringFieldsOnly(services *yaml.Node, names []string, fields map[string]bool) (Services, bool) {
	var idx [][]int
	var keys []string
	t := reflect.TypeOf(types.ServiceConfig{})
	for f := range fields {
		if f == "Name" {
			continue
		}
		sf, ok := t.FieldByName(f)
		if !ok || sf.Type.Kind() != reflect.String {
			return nil, false
		}
		idx = append(idx, sf.Index)
		keys = append(keys, fieldKeysFor(f))
	}
	byName := map[string]*yaml.Node{}
	for _, p := range yamlx.Pairs(services) {
		byName[p.Key.Value] = p.Value
	}
	out := make(Services, len(names))
	// One value is filled through reflect (which takes it to the heap)
	// and copied into each service's box.
	s := new(types.ServiceConfig)
	v := reflect.ValueOf(s).Elem()
	for _, n := range names {
		*s = types.ServiceConfig{Name: n}
		svc := byName[n]
		for i, k := range keys {
			val := yamlx.Resolve(yamlx.Get(svc, k))
			if val == nil || yamlx.IsNull(val) {
				continue
			}
			if val.Kind != yaml.ScalarNode {
				return nil, false
			}
			v.FieldByIndex(idx[i]).SetString(val.Value)
		}
		out[n] = *s
	}
	return out, true
}

// fieldKeysFor is the YAML key that feeds ServiceConfig field, "" when
// none does. Each is looked up when asked for: listing every field's
// (reflect.VisibleFields over ServiceConfig and what it embeds) was 5% of
// a 10-service render's instructions, where templates read a few.
func fieldKeysFor(field string) string {
	f, ok := serviceConfigType.FieldByName(field)
	if !ok || f.Anonymous {
		return ""
	}
	tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if tag == "-" {
		return ""
	}
	return tag
}

var serviceConfigType = reflect.TypeFor[types.ServiceConfig]()

// related are keys compose-go reads together when normalizing a field.
var related = map[string][]string{
	"deploy":       {"scale"},
	"scale":        {"deploy"},
	"networks":     {"network_mode"},
	"network_mode": {"networks"},
	"environment":  {"env_file"},
	"labels":       {"label_file"},
}

// yamlKeys maps ServiceConfig field names to the YAML keys that feed them.
func yamlKeys(fields map[string]bool) map[string]bool {
	keys := map[string]bool{}
	for f := range fields {
		k := fieldKeysFor(f)
		if k == "" || f == "Name" {
			continue
		}
		keys[k] = true
		for _, r := range related[k] {
			keys[r] = true
		}
	}
	return keys
}
