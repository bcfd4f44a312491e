package model

// The unexported steps of compose-go v2.16.2's loader that Project needs,
// in the loader's words where they matter (the same error texts, the same
// corner cases), reduced to what a single decoded file with Project's
// options reaches. project_test.go checks the result against the loader.

import (
	"fmt"
	"path"
	"reflect"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/consts"
	"github.com/compose-spec/compose-go/v2/override"
	"github.com/compose-spec/compose-go/v2/tree"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/go-viper/mapstructure/v2"
)

// stringKeys is the loader's convertToStringKeysRecursive followed by its
// fixEmptyNotNull: mappings get string keys (any other key is an error
// naming where), and every sequence is a fresh, non-nil []any.
func stringKeys(value any, prefix string) (any, error) {
	at := func(key string) string {
		if prefix == "" {
			return key
		}
		return prefix + "." + key
	}
	switch v := value.(type) {
	case map[string]any:
		for k, e := range v {
			c, err := stringKeys(e, at(k))
			if err != nil {
				return nil, err
			}
			v[k] = c
		}
		return v, nil
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			s, ok := k.(string)
			if !ok {
				where := "at top level"
				if prefix != "" {
					where = "in " + prefix
				}
				return nil, fmt.Errorf("non-string key %s: %#v", where, k)
			}
			c, err := stringKeys(e, at(s))
			if err != nil {
				return nil, err
			}
			m[s] = c
		}
		return m, nil
	case []any:
		l := make([]any, len(v))
		for i, e := range v {
			c, err := stringKeys(e, fmt.Sprintf("%s[%d]", prefix, i))
			if err != nil {
				return nil, err
			}
			l[i] = c
		}
		return l, nil
	}
	return value, nil
}

// plainKeys are service keys that none of the path patterns of
// compose-go v2.16.2's canonical transformations (transform/canonical.go),
// default values (transform/defaults.go) and checks (validation) reaches,
// but deploy, which the last two do reach; they hold most of a service's
// values. The differential test covers each, so a transformation a newer
// compose-go adds shows there.
var plainKeys = []string{"environment", "labels", "healthcheck", "logging", "command", "entrypoint",
	"image", "annotations", "sysctls", "extra_hosts", "cap_add", "cap_drop", "tmpfs", "expose", "hostname",
	"user", "working_dir", "stop_grace_period", "stop_signal", "restart", "container_name", "security_opt",
	"profiles", "links", "init", "read_only", "tty", "stdin_open", "privileged"}

// skipping runs step, one of compose-go's walks of the whole model, on
// dict without the services' plain keys and extension fields (and deploy
// when withDeploy is false), which it would leave as they are: such a
// walk matches every node against each of its path patterns, splitting
// both into parts each time, and took most of the time of building a
// project.
func skipping(dict map[string]any, withDeploy bool, step func(map[string]any) (map[string]any, error)) (map[string]any, error) {
	services, _ := dict["services"].(map[string]any)
	held := make(map[string]map[string]any, len(services))
	for name, s := range services {
		svc, ok := s.(map[string]any)
		if !ok {
			continue
		}
		h := map[string]any{}
		for k, v := range svc {
			if strings.HasPrefix(k, "x-") {
				h[k] = v
			}
		}
		for _, k := range plainKeys {
			if v, ok := svc[k]; ok {
				h[k] = v
			}
		}
		if v, ok := svc["deploy"]; ok && !withDeploy {
			h["deploy"] = v
		}
		for k := range h {
			delete(svc, k)
		}
		held[name] = h
	}
	dict, err := step(dict)
	if err != nil {
		return nil, err
	}
	services, _ = dict["services"].(map[string]any)
	for name, h := range held {
		svc := services[name].(map[string]any)
		for k, v := range h {
			svc[k] = v
		}
	}
	return dict, nil
}

// promoteAliases moves the extension fields compose accepts as aliases of
// newer attributes (x-develop, and x-initialSync in its watch rules) to
// those attributes, merged under them when both are set.
func promoteAliases(dict map[string]any) error {
	services, _ := dict["services"].(map[string]any)
	for name, s := range services {
		svc, ok := s.(map[string]any)
		if !ok {
			continue
		}
		p := tree.NewPath("services").Next(name)
		if err := promote(svc, "x-develop", "develop", p); err != nil {
			return err
		}
		develop, _ := svc["develop"].(map[string]any)
		watch, _ := develop["watch"].([]any)
		for _, w := range watch {
			if rule, ok := w.(map[string]any); ok {
				if err := promote(rule, "x-initialSync", "initial_sync", p.Next("develop").Next("watch").Next(tree.PathMatchList)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func promote(v map[string]any, from, to string, p tree.Path) error {
	ext, ok := v[from]
	if !ok {
		return nil
	}
	delete(v, from)
	if v[to] == nil {
		v[to] = ext
		return nil
	}
	merged, err := override.MergeYaml(deepClone(ext), v[to], p.Next(to))
	if err != nil {
		return err
	}
	v[to] = merged
	return nil
}

func deepClone(value any) any {
	switch v := value.(type) {
	case []any:
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = deepClone(e)
		}
		return c
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, e := range v {
			c[k] = deepClone(e)
		}
		return c
	}
	return value
}

// omitEmpty drops the empty entries of services' and jobs' dns lists.
func omitEmpty(dict map[string]any) {
	for _, key := range []string{"services", "jobs"} {
		containers, _ := dict[key].(map[string]any)
		for _, c := range containers {
			container, _ := c.(map[string]any)
			dns, ok := container["dns"].([]any)
			if !ok {
				continue
			}
			kept := make([]any, 0, len(dns))
			for _, e := range dns {
				if s, ok := e.(string); e != nil && (!ok || s != "") {
					kept = append(kept, e)
				}
			}
			container["dns"] = kept
		}
	}
}

// resolveEnvironment is the loader's ResolveEnvironment: bare names in
// environment lists, and secrets' and configs' environment:, take their
// values from env.
func resolveEnvironment(dict map[string]any, env types.Mapping) {
	for _, key := range []string{"services", "jobs"} {
		containers, ok := dict[key].(map[string]any)
		if !ok {
			continue
		}
		for _, c := range containers {
			container, ok := c.(map[string]any)
			if !ok {
				continue
			}
			list, ok := container["environment"].([]any)
			if !ok {
				continue
			}
			envs := []any{}
			for _, e := range list {
				name, ok := e.(string)
				if !ok {
					continue
				}
				if v, ok := env[name]; ok {
					envs = append(envs, name+"="+v)
				} else {
					envs = append(envs, name)
				}
			}
			container["environment"] = envs
		}
	}
	for _, key := range []string{"secrets", "configs"} {
		resources, ok := dict[key].(map[string]any)
		if !ok {
			continue
		}
		for _, r := range resources {
			resource, ok := r.(map[string]any)
			if !ok {
				continue
			}
			name, ok := resource["environment"].(string)
			if !ok {
				continue
			}
			if v, ok := env[name]; ok {
				if key == "secrets" {
					resource[types.SecretConfigXValue] = v
				} else {
					resource["content"] = v
				}
			}
		}
	}
}

// dependency is what the loader's Normalize records for a service another
// one needs (links, service: namespaces, volumes_from).
func dependency(restart bool) map[string]any {
	return map[string]any{"condition": types.ServiceConditionStarted, "restart": restart, "required": true}
}

// normalize is the loader's Normalize: implicit default networks, build
// defaults, environment variables resolved from env, depends_on implied by
// links, namespaces and volumes_from, clean volume targets, pre_start hooks
// completed from their service, and resources named after their keys.
// Type assertions panic where the loader's do; Project recovers.
func normalize(dict map[string]any, env types.Mapping) error {
	normalizeNetworks(dict)
	lookup := func(s string) (string, bool) {
		v, ok := env[s]
		return v, ok
	}
	for _, key := range []string{"services", "jobs"} {
		d, ok := dict[key]
		if !ok {
			continue
		}
		for _, s := range d.(map[string]any) {
			container := s.(map[string]any)
			if container["pull_policy"] == types.PullPolicyIfNotPresent {
				container["pull_policy"] = types.PullPolicyMissing
			}
			if b, ok := container["build"]; ok {
				build := b.(map[string]any)
				if build["context"] == nil {
					build["context"] = "."
				}
				if build["dockerfile"] == nil && build["dockerfile_inline"] == nil {
					build["dockerfile"] = "Dockerfile"
				}
				if a, ok := build["args"]; ok {
					build["args"], _ = resolve(a, lookup, false)
				}
			}
			if e, ok := container["environment"]; ok {
				container["environment"], _ = resolve(e, lookup, true)
			}
			dependsOn := map[string]any{}
			if d, ok := container["depends_on"]; ok {
				dependsOn = d.(map[string]any)
			}
			need := func(name string, restart bool) {
				if _, ok := dependsOn[name]; !ok {
					dependsOn[name] = dependency(restart)
				}
			}
			if l, ok := container["links"]; ok {
				for _, e := range l.([]any) {
					link := e.(string)
					if parts := strings.Split(link, ":"); len(parts) == 2 {
						link = parts[0]
					}
					need(link, true)
				}
			}
			for _, namespace := range []string{"network_mode", "ipc", "pid", "uts", "cgroup"} {
				if n, ok := container[namespace]; ok {
					if ref := n.(string); strings.HasPrefix(ref, types.ServicePrefix) {
						need(ref[len(types.ServicePrefix):], true)
					}
				}
			}
			if v, ok := container["volumes"]; ok {
				for _, volume := range v.([]any) {
					vol := volume.(map[string]any)
					vol["target"] = path.Clean(vol["target"].(string))
				}
			}
			if n, ok := container["volumes_from"]; ok {
				for _, v := range n.([]any) {
					if vol := v.(string); !strings.HasPrefix(vol, types.ContainerPrefix) {
						need(strings.Split(vol, ":")[0], false)
					}
				}
			}
			if len(dependsOn) > 0 {
				container["depends_on"] = dependsOn
			}
			if err := resolvePreStartHooks(container); err != nil {
				return err
			}
		}
	}
	setNameFromKey(dict)
	return nil
}

// resolvePreStartHooks completes each pre_start hook with its service's
// container attributes (but volumes), the hook's own winning.
func resolvePreStartHooks(service map[string]any) error {
	hooks, ok := service["pre_start"].([]any)
	if !ok || len(hooks) == 0 {
		return nil
	}
	base := map[string]any{}
	for k, v := range service {
		if k != "volumes" && containerSpecKeys()[k] {
			base[k] = v
		}
	}
	for i, h := range hooks {
		hook, ok := h.(map[string]any)
		if !ok {
			continue
		}
		merged, err := override.Merge(
			map[string]any{"services": map[string]any{"hook": deepClone(base)}},
			map[string]any{"services": map[string]any{"hook": hook}},
		)
		if err != nil {
			return fmt.Errorf("resolving pre_start hook specification: %w", err)
		}
		hooks[i] = merged["services"].(map[string]any)["hook"]
	}
	return nil
}

func containerSpecKeys() map[string]bool {
	keys := make(map[string]bool, len(types.ContainerSpecAttributes))
	for _, k := range types.ContainerSpecAttributes {
		keys[k] = true
	}
	return keys
}

// normalizeNetworks connects services without networks (nor a
// network_mode) to the default network, declared when used.
func normalizeNetworks(dict map[string]any) {
	networks := map[string]any{}
	if n, ok := dict["networks"]; ok {
		networks = n.(map[string]any)
	}
	usesDefault := false
	for _, key := range []string{"services", "jobs"} {
		s, ok := dict[key]
		if !ok {
			continue
		}
		for _, c := range s.(map[string]any) {
			container := c.(map[string]any)
			if _, ok := container["provider"]; ok {
				continue
			}
			if _, ok := container["network_mode"]; ok {
				continue
			}
			n, ok := container["networks"]
			switch {
			case !ok || len(n.(map[string]any)) == 0:
				container["networks"] = map[string]any{"default": nil}
				usesDefault = true
			default:
				if _, ok := n.(map[string]any)["default"]; ok {
					usesDefault = true
				}
			}
		}
	}
	if _, ok := networks["default"]; !ok && usesDefault {
		networks["default"] = nil
	}
	if len(networks) > 0 {
		dict["networks"] = networks
	}
}

// resolve gives variables without a value theirs from fn; keepEmpty keeps
// those fn does not know.
func resolve(a any, fn func(string) (string, bool), keepEmpty bool) (any, bool) {
	switch v := a.(type) {
	case []any:
		var resolved []any
		for _, val := range v {
			if r, ok := resolve(val, fn, keepEmpty); ok {
				resolved = append(resolved, r)
			}
		}
		return resolved, true
	case map[string]any:
		resolved := map[string]any{}
		for key, val := range v {
			if val != nil {
				resolved[key] = val
				continue
			}
			if s, ok := fn(key); ok {
				resolved[key] = s
			} else if keepEmpty {
				resolved[key] = nil
			}
		}
		return resolved, true
	case string:
		if strings.Contains(v, "=") {
			return v, true
		}
		if val, ok := fn(v); ok {
			return v + "=" + val, true
		}
		if keepEmpty {
			return v, true
		}
		return "", false
	default:
		return v, false
	}
}

// setNameFromKey names the networks, volumes, configs and secrets without
// a name: after their key, prefixed with the project's name unless
// external.
func setNameFromKey(dict map[string]any) {
	for _, r := range []string{"networks", "volumes", "configs", "secrets"} {
		a, ok := dict[r]
		if !ok {
			continue
		}
		toplevel := a.(map[string]any)
		for key, r := range toplevel {
			resource := map[string]any{}
			if r != nil {
				resource = r.(map[string]any)
			}
			if resource["name"] == nil {
				if x, ok := resource["external"]; ok && isTrue(x) {
					resource["name"] = key
				} else {
					resource["name"] = fmt.Sprintf("%s_%s", dict["name"], key)
				}
			}
			toplevel[key] = resource
		}
	}
}

func isTrue(x any) bool {
	b, _ := strconv.ParseBool(fmt.Sprint(x))
	return b
}

// userDefinedKeys are where x- keys are names the user chose, not
// extension fields.
var userDefinedKeys = []tree.Path{"services", "services.*.depends_on", "volumes", "networks", "secrets", "configs"}

// processExtensions moves each mapping's x- fields under its
// #extensions key, where compose-go's types decode them.
func processExtensions(dict map[string]any, p tree.Path) {
	extras := map[string]any{}
	names := false // (the loader checks this for each key)
	for _, uk := range userDefinedKeys {
		if p.Matches(uk) {
			names = true
			break
		}
	}
	for key, value := range dict {
		if !names && strings.HasPrefix(key, "x-") {
			extras[key] = value
			delete(dict, key)
			continue
		}
		switch v := value.(type) {
		case map[string]any:
			processExtensions(v, p.Next(key))
		case []any:
			for i, e := range v {
				if m, ok := e.(map[string]any); ok {
					processExtensions(m, p.Next(strconv.Itoa(i)))
				}
			}
		}
	}
	if len(extras) > 0 {
		dict[consts.Extensions] = extras
	}
}

// decode is the loader's Transform: mapstructure with the types' own
// decoders and the loader's hooks. The loader also asks for the decoding's
// metadata, which it never reads and which costs an allocation a key.
func decode(source, target any) error {
	d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(nameServices, decoderHook, cast, secretConfigDecoderHook),
		Result:     target,
		TagName:    "yaml",
		Squash:     true,
	})
	if err != nil {
		return err
	}
	return d.Decode(source)
}

var (
	servicesType = reflect.TypeOf(types.Services{})
	jobsType     = reflect.TypeOf(types.Jobs{})
	secretType   = reflect.TypeOf(types.SecretConfig{})
)

// nameServices gives each service (and job) its name: key.
func nameServices(from, to reflect.Value) (any, error) {
	if to.Type() == servicesType || to.Type() == jobsType {
		name := reflect.ValueOf("name")
		iter := from.MapRange()
		for iter.Next() {
			iter.Value().Elem().SetMapIndex(name, iter.Key())
		}
	}
	return from.Interface(), nil
}

type decoder interface {
	DecodeMapstructure(any) error
}

// decoderHook lets the types that have a DecodeMapstructure method decode
// themselves.
func decoderHook(from, to reflect.Value) (any, error) {
	u, ok := to.Interface().(decoder)
	if !ok {
		if to.CanAddr() {
			u, ok = to.Addr().Interface().(decoder)
		}
		if !ok {
			return from.Interface(), nil
		}
	}
	if to.Type().Kind() == reflect.Pointer && to.IsNil() {
		to.Set(reflect.New(to.Type().Elem()))
		u = to.Interface().(decoder)
	}
	if err := u.DecodeMapstructure(from.Interface()); err != nil {
		return to.Interface(), err
	}
	return to.Interface(), nil
}

// cast converts strings to the numbers and booleans fields want, and ints
// to strings.
func cast(from, to reflect.Value) (any, error) {
	switch from.Type().Kind() {
	case reflect.String:
		s := from.String()
		switch to.Kind() {
		case reflect.Bool:
			return toBoolean(s)
		case reflect.Int:
			return strconv.Atoi(s)
		case reflect.Int64:
			return strconv.ParseInt(s, 10, 64)
		case reflect.Float32:
			f, err := strconv.ParseFloat(s, 32)
			if err != nil {
				return nil, err
			}
			return float32(f), nil
		case reflect.Float64:
			return strconv.ParseFloat(s, 64)
		}
	case reflect.Int:
		if to.Kind() == reflect.String {
			return strconv.FormatInt(from.Int(), 10), nil
		}
	}
	return from.Interface(), nil
}

// toBoolean reads YAML 1.1 booleans too, as the loader does (it warns
// through logrus, which podtemplate silences).
func toBoolean(value string) (any, error) {
	switch strings.ToLower(value) {
	case "true", "y", "yes", "on":
		return true, nil
	case "false", "n", "no", "off":
		return false, nil
	}
	return nil, fmt.Errorf("invalid boolean: %s", value)
}

// secretConfigDecoderHook gives a secret the value resolveEnvironment
// found for it.
func secretConfigDecoderHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() == reflect.Map && to == secretType {
		if v, ok := data.(map[string]any); ok {
			if ext, ok := v[consts.Extensions].(map[string]any); ok {
				if val, ok := ext[types.SecretConfigXValue].(string); ok {
					v["Content"] = val
					delete(ext, types.SecretConfigXValue)
					if len(ext) == 0 {
						delete(v, consts.Extensions)
					}
				}
			}
		}
	}
	return data, nil
}
