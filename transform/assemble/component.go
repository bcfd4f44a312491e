package assemble

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docker/cli/pkg/kvfile"
	units "github.com/docker/go-units"
	"github.com/podtemplate/podtemplate/transform/config"
	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// shape is the form podlike's controller (0.5.1) decodes a component key
// into. It decodes each component with yaml.v2's UnmarshalStrict, so a key
// it does not know, or a value of another shape, stops it at start-up and
// Swarm restarts the task forever (see PODLIKE.md).
type shape int

const (
	shapeString      shape = iota // scalar, written as a string
	shapeCommand                  // string, or list of strings
	shapeStringMap                // mapping of string values, or list of strings
	shapeStorageOpt               // mapping of string values only
	shapeEnvironment              // mapping of string values, or list of KEY=VALUE
	shapeEnvFile                  // inlined into environment at render time
	shapeVolumes                  // list of strings or mappings; binds absolute
	shapeBool                     // true or false
	shapeDuration                 // Go duration string
	shapeHealthcheck              // test, interval, timeout, start_period, retries, disable
	shapeInt                      // integer
	shapeNumber                   // integer or decimal
	shapeBytes                    // integer bytes ("512m" converted)
	shapeStringList               // list of strings
	shapeUlimits                  // name: int or {soft: int, hard: int}
	shapeLogging                  // {driver: string, options: {string: string}}
	shapeBlkio                    // weight and device lists
	shapeDependsOn                // list of names or name: {condition: ...}
	shapeTmpfs                    // mapping path: options
)

// componentShape is the shape podlike's controller decodes a component
// key into; ok is false for a key it does not read.
func componentShape(key string) (sh shape, ok bool) {
	switch key {
	case "image", "working_dir", "stop_signal", "user", "runtime", "userns_mode", "isolation", "cpuset",
		"mem_limit", "memswap_limit", "shm_size":
		return shapeString, true
	case "entrypoint", "command":
		return shapeCommand, true
	case "environment":
		return shapeEnvironment, true
	case "env_file":
		return shapeEnvFile, true
	case "labels", "sysctls":
		return shapeStringMap, true
	case "storage_opt":
		return shapeStorageOpt, true
	case "tmpfs":
		return shapeTmpfs, true
	case "volumes":
		return shapeVolumes, true
	case "privileged", "read_only", "stdin_open", "tty", "oom_kill_disable":
		return shapeBool, true
	case "stop_grace_period":
		return shapeDuration, true
	case "healthcheck":
		return shapeHealthcheck, true
	case "oom_score_adj", "cpu_shares", "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime",
		"cpu_count", "cpu_percent", "pids_limit", "mem_swappiness":
		return shapeInt, true
	case "cpus":
		return shapeNumber, true
	case "mem_reservation":
		return shapeBytes, true
	case "cap_add", "cap_drop", "group_add", "security_opt", "devices", "device_cgroup_rules":
		return shapeStringList, true
	case "ulimits":
		return shapeUlimits, true
	case "logging":
		return shapeLogging, true
	case "blkio_config":
		return shapeBlkio, true
	case "depends_on":
		return shapeDependsOn, true
	}
	return 0, false
}

// serviceOnly explains, for keys a component cannot have, where they
// belong instead ("" for other keys).
func serviceOnly(key string) string {
	switch key {
	case "ports":
		return "the controller owns the pod's network; set ports on the service"
	case "expose":
		return "the controller owns the pod's network; set expose on the service"
	case "networks":
		return "components join the controller's network; set networks on the service"
	case "hostname":
		return "components share the controller's hostname; set hostname on the service"
	case "extra_hosts":
		return "components share the controller's network; set extra_hosts on the service"
	case "dns":
		return "components share the controller's network; set dns on the service"
	case "dns_search":
		return "components share the controller's network; set dns_search on the service"
	case "restart":
		return "the controller stops the pod when a component exits; Swarm restarts the task (deploy.restart_policy on the service)"
	case "deploy":
		return "Swarm settings belong to the service"
	case "secrets":
		return "secrets are mounted on the service's task; set them on the service"
	case "configs":
		return "configs are mounted on the service's task; set them on the service"
	case "container_name":
		return "the controller names the component containers"
	}
	return ""
}

// componentEnv is what normalising needs besides the component: the
// folder relative paths are resolved against and the environment that
// fills variables without a value (as docker stack deploy fills them).
type componentEnv struct {
	dir    string
	lookup func(string) (string, bool)
}

// checkKeys rejects the keys podlike's controller does not read.
func checkKeys(comp *yaml.Node) error {
	kv := entries(comp)
	for i := 0; i+1 < len(kv); i += 2 {
		key := kv[i].Value
		if _, known := componentShape(key); known {
			continue
		}
		msg := fmt.Sprintf("key %q is not one podlike's controller accepts in a component (it would stop at start-up)", key)
		if why := serviceOnly(key); why != "" {
			msg += ": " + why
		}
		return fmt.Errorf("%s", msg)
	}
	return nil
}

// absolutePaths rewrites the relative bind sources and env_file paths of
// one template's component (or the service's keys) against dir, before
// templates from different folders merge. It returns a new mapping where
// something may change, else comp itself.
func absolutePaths(comp *yaml.Node, dir string) (*yaml.Node, error) {
	if !hasPaths(comp) {
		return comp, nil
	}
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: comp.Style}
	for _, kv := range yamlx.Pairs(comp) {
		v := yamlx.Resolve(kv.Value)
		switch kv.Key.Value {
		case "volumes":
			if !yamlx.IsNull(v) {
				nv, err := volumes(v, dir)
				if err != nil {
					return nil, fmt.Errorf("volumes %w", err)
				}
				v = nv
			}
		case "env_file":
			if !yamlx.IsNull(v) {
				nv, err := envFilePaths(v, dir)
				if err != nil {
					return nil, fmt.Errorf("env_file %w", err)
				}
				v = nv
			}
		}
		out.Content = append(out.Content, kv.Key, v)
	}
	return out, nil
}

// hasPaths says whether absolutePaths may change comp: it holds volumes
// or env_file, an alias or a merge key.
func hasPaths(comp *yaml.Node) bool {
	for i := 0; i+1 < len(comp.Content); i += 2 {
		k, v := comp.Content[i], comp.Content[i+1]
		if k.Value == "volumes" || k.Value == "env_file" || v.Kind == yaml.AliasNode || yamlx.IsMergeKey(k) {
			return true
		}
	}
	return false
}

// envFilePaths makes env_file paths absolute, as a list.
func envFilePaths(v *yaml.Node, dir string) (*yaml.Node, error) {
	var items []*yaml.Node
	switch v.Kind {
	case yaml.ScalarNode:
		items = []*yaml.Node{v}
	case yaml.SequenceNode:
		items = v.Content
	default:
		return nil, fmt.Errorf("is %s; expected a path or a list of paths", yamlx.KindName(v))
	}
	out := yamlx.Seq()
	for i, it := range items {
		p, ok := yamlx.Scalar(it)
		if !ok {
			return nil, fmt.Errorf("item %d is %s; expected a path", i+1, yamlx.KindName(it))
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		out.Content = append(out.Content, yamlx.Str(p))
	}
	return out, nil
}

// normalise brings a merged component into the shapes podlike's
// controller accepts, and inlines its env files. It returns a new mapping
// (the input's nodes may be shared with the controller or other
// components, so changed values are new nodes); an error names the key
// and says what was expected.
func normalise(comp *yaml.Node, env componentEnv) (*yaml.Node, error) {
	if err := checkKeys(comp); err != nil {
		return nil, err
	}
	kv := entries(comp)
	// While same, comp's entries are what out would hold so far, and out
	// is not built: a component in the controller's shapes (the common
	// case) is its own result.
	same := comp.Kind == yaml.MappingNode && comp.Tag == "!!map" && comp.Style == 0 && comp.Anchor == "" &&
		comp.HeadComment == "" && comp.LineComment == "" && comp.FootComment == "" && len(kv) == len(comp.Content)
	var out *yaml.Node
	if !same {
		out = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: make([]*yaml.Node, 0, len(kv))}
	}
	// differ starts out with the entries before at, kept as they were.
	differ := func(at int) {
		if !same {
			return
		}
		same = false
		out = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: make([]*yaml.Node, 0, len(kv))}
		for j := 0; j < at; j += 2 {
			setKey(out, kv[j], kv[j+1])
		}
	}
	var envFiles *yaml.Node
	for i := 0; i+1 < len(kv); i += 2 {
		key := kv[i].Value
		sh, _ := componentShape(key)
		v := yamlx.Resolve(kv[i+1])
		if yamlx.IsNull(v) {
			differ(i)
			continue // as if unset; yaml.v2 leaves the field empty too
		}
		if sh == shapeEnvFile {
			differ(i)
			envFiles = v
			continue
		}
		nv, err := normaliseValue(sh, v, env)
		if err != nil {
			return nil, fmt.Errorf("%s %w", key, err)
		}
		if same && (kv[i] != comp.Content[i] || !plainStr(kv[i]) || nv != comp.Content[i+1]) {
			differ(i)
		}
		if !same {
			setKey(out, kv[i], nv)
		}
	}
	if same {
		if !repeatsKey(kv) {
			return comp, nil
		}
		differ(len(kv))
	}
	if envFiles != nil {
		merged, err := inlineEnvFiles(envFiles, yamlx.Get(out, "environment"), env)
		if err != nil {
			return nil, fmt.Errorf("env_file: %w", err)
		}
		yamlx.Set(out, "environment", merged)
	}
	return out, nil
}

// repeatsKey says whether a key occurs twice in the flat key, value list kv.
func repeatsKey(kv []*yaml.Node) bool {
	for i := 0; i < len(kv); i += 2 {
		for j := i + 2; j < len(kv); j += 2 {
			if kv[i].Value == kv[j].Value {
				return true
			}
		}
	}
	return false
}

func normaliseValue(sh shape, v *yaml.Node, env componentEnv) (*yaml.Node, error) {
	switch sh {
	case shapeString:
		return scalarString(v)
	case shapeCommand:
		if v.Kind == yaml.ScalarNode {
			return scalarString(v)
		}
		return stringList(v)
	case shapeStringMap:
		if v.Kind == yaml.SequenceNode {
			return stringList(v)
		}
		return stringMap(v)
	case shapeStorageOpt:
		return stringMap(v)
	case shapeEnvironment:
		return environment(v, env)
	case shapeVolumes:
		return volumes(v, env.dir)
	case shapeBool:
		return boolean(v)
	case shapeDuration:
		return duration(v)
	case shapeHealthcheck:
		return healthcheck(v)
	case shapeInt:
		return integer(v)
	case shapeNumber:
		return number(v)
	case shapeBytes:
		return bytesInt(v)
	case shapeStringList:
		return stringList(v)
	case shapeUlimits:
		return ulimits(v)
	case shapeLogging:
		return logging(v)
	case shapeBlkio:
		return blkio(v)
	case shapeDependsOn:
		return v, nil // checked by checkDependsOn
	case shapeTmpfs:
		return tmpfs(v)
	}
	return v, nil
}

// isStr says scalarString returns n itself.
func isStr(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" }

func scalarString(v *yaml.Node) (*yaml.Node, error) {
	s, ok := yamlx.Scalar(v)
	if !ok {
		return nil, fmt.Errorf("is %s; expected a string", yamlx.KindName(v))
	}
	if v.ShortTag() == "!!str" {
		return v, nil
	}
	return yamlx.Str(s), nil
}

func stringList(v *yaml.Node) (*yaml.Node, error) {
	if v.Kind == yaml.ScalarNode {
		// A single string where a list is expected: the list of it.
		s, err := scalarString(v)
		if err != nil {
			return nil, err
		}
		return yamlx.Seq(s), nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("is %s; expected a list of strings", yamlx.KindName(v))
	}
	if unchanged(v, isStr) {
		return v, nil
	}
	out := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: v.Style}
	for i, it := range v.Content {
		s, err := scalarString(yamlx.Resolve(it))
		if err != nil {
			return nil, fmt.Errorf("item %d %w", i+1, err)
		}
		out.Content = append(out.Content, s)
	}
	return out, nil
}

// unchanged says a list or mapping v is what normalising it would build
// anew (the same kind, tag and style, plain string keys, no anchor, alias
// or comment on v) when every item or value passes ok: v itself can then
// be the result. Values are shared, never changed, by the build.
func unchanged(v *yaml.Node, ok func(*yaml.Node) bool) bool {
	if v.Anchor != "" || v.HeadComment != "" || v.LineComment != "" || v.FootComment != "" {
		return false
	}
	switch v.Kind {
	case yaml.SequenceNode:
		if v.Tag != "!!seq" {
			return false
		}
		for _, it := range v.Content {
			if !ok(it) {
				return false
			}
		}
		return true
	case yaml.MappingNode:
		if v.Tag != "!!map" || len(v.Content)%2 != 0 {
			return false
		}
		for i := 0; i < len(v.Content); i += 2 {
			if !plainStr(v.Content[i]) || !ok(v.Content[i+1]) {
				return false
			}
		}
		return true
	}
	return false
}

func stringMap(v *yaml.Node) (*yaml.Node, error) {
	if v.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("is %s; expected a mapping of strings", yamlx.KindName(v))
	}
	if unchanged(v, isStr) {
		return v, nil
	}
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: v.Style}
	for _, kv := range yamlx.Pairs(v) {
		val := yamlx.Resolve(kv.Value)
		if yamlx.IsNull(val) {
			val = yamlx.Str("")
		}
		s, err := scalarString(val)
		if err != nil {
			return nil, fmt.Errorf("%s %w", kv.Key.Value, err)
		}
		out.Content = append(out.Content, yamlx.Str(kv.Key.Value), s)
	}
	return out, nil
}

// environment writes every value as a string. A variable without a value
// takes the deploying environment's, and is left out where that is unset,
// as docker stack deploy does for services; the controller would set it
// to the empty string.
func environment(v *yaml.Node, env componentEnv) (*yaml.Node, error) {
	if unchanged(v, func(it *yaml.Node) bool {
		return isStr(it) && (v.Kind == yaml.MappingNode || (plainStr(it) && strings.Contains(it.Value, "=")))
	}) {
		return v, nil
	}
	switch v.Kind {
	case yaml.SequenceNode:
		out := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: v.Style}
		for i, it := range v.Content {
			s, ok := yamlx.Scalar(it)
			if !ok {
				return nil, fmt.Errorf("item %d is %s; expected KEY=VALUE", i+1, yamlx.KindName(it))
			}
			if !strings.Contains(s, "=") {
				val, found := env.lookup(s)
				if !found {
					continue
				}
				s += "=" + val
			}
			out.Content = append(out.Content, yamlx.Str(s))
		}
		return out, nil
	case yaml.MappingNode:
		out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: v.Style}
		for _, kv := range yamlx.Pairs(v) {
			val := yamlx.Resolve(kv.Value)
			if yamlx.IsNull(val) {
				s, found := env.lookup(kv.Key.Value)
				if !found {
					continue
				}
				out.Content = append(out.Content, yamlx.Str(kv.Key.Value), yamlx.Str(s))
				continue
			}
			s, err := scalarString(val)
			if err != nil {
				return nil, fmt.Errorf("%s %w", kv.Key.Value, err)
			}
			out.Content = append(out.Content, yamlx.Str(kv.Key.Value), s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("is %s; expected a mapping or a list of KEY=VALUE", yamlx.KindName(v))
}

// inlineEnvFiles reads the env files (relative to env.dir) as docker
// stack deploy reads them and merges their variables under environment,
// whose own values win. The controller would read the paths inside its
// own container, where they do not exist.
func inlineEnvFiles(files, environ *yaml.Node, env componentEnv) (*yaml.Node, error) {
	var paths []string
	switch files.Kind {
	case yaml.ScalarNode:
		paths = []string{files.Value}
	case yaml.SequenceNode:
		for i, it := range files.Content {
			s, ok := yamlx.Scalar(it)
			if !ok {
				return nil, fmt.Errorf("item %d is %s; expected a path", i+1, yamlx.KindName(it))
			}
			paths = append(paths, s)
		}
	default:
		return nil, fmt.Errorf("is %s; expected a path or a list of paths", yamlx.KindName(files))
	}
	out := yamlx.Map()
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			p = filepath.Join(env.dir, p)
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", shownPath(p), errors.Unwrap(err))
		}
		if !info.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is not a regular file", shownPath(p))
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", shownPath(p), errors.Unwrap(err))
		}
		lines, err := kvfile.ParseFromReader(f, env.lookup)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", shownPath(p), err)
		}
		for _, l := range lines {
			k, val, _ := strings.Cut(l, "=")
			yamlx.Set(out, k, yamlx.Str(val))
		}
	}
	for _, kv := range yamlx.Pairs(yamlx.KeyValueMap(environ)) {
		yamlx.Set(out, kv.Key.Value, kv.Value)
	}
	return out, nil
}

// shownPath is p relative to the working directory when it lies below it,
// as a user would write it.
func shownPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

// volumes makes relative bind sources absolute (relative to env.dir, as
// docker stack deploy does for services): the controller takes a source
// that does not start with "/" for a volume name.
func volumes(v *yaml.Node, dir string) (*yaml.Node, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("is %s; expected a list", yamlx.KindName(v))
	}
	out := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: v.Style}
	for i, it := range v.Content {
		it = yamlx.Resolve(it)
		switch it.Kind {
		case yaml.ScalarNode:
			vol := yamlx.ParseVolume(it.Value)
			if abs, ok := bindSource(vol.Source, dir); ok {
				it = yamlx.Str(abs + it.Value[len(vol.Source):])
			} else if it.ShortTag() != "!!str" {
				it = yamlx.Str(it.Value)
			}
		case yaml.MappingNode:
			src, _ := yamlx.Scalar(yamlx.Get(it, "source"))
			typ, _ := yamlx.Scalar(yamlx.Get(it, "type"))
			if abs, ok := bindSource(src, dir); ok && (typ == "" || typ == "bind") {
				c := yamlx.Copy(it)
				yamlx.Set(c, "source", yamlx.Str(abs))
				if typ == "" {
					yamlx.Set(c, "type", yamlx.Str("bind"))
				}
				it = c
			}
		default:
			return nil, fmt.Errorf("item %d is %s; expected a string or a mapping", i+1, yamlx.KindName(it))
		}
		out.Content = append(out.Content, it)
	}
	return out, nil
}

// bindSource returns the absolute form of a relative bind source ("." or
// "~" first, as Compose tells paths from volume names).
func bindSource(src, dir string) (string, bool) {
	switch {
	case src == "" || strings.HasPrefix(src, "/") || strings.Contains(src, "$"):
		return "", false
	case src == "~" || strings.HasPrefix(src, "~/"):
		home, err := os.UserHomeDir()
		if err != nil {
			return "", false
		}
		return filepath.Join(home, strings.TrimPrefix(src, "~")), true
	case strings.HasPrefix(src, "."):
		return filepath.Join(dir, src), true
	}
	return "", false
}

func boolean(v *yaml.Node) (*yaml.Node, error) {
	s, ok := yamlx.Scalar(v)
	if ok {
		switch strings.ToLower(s) {
		case "true", "yes", "on":
			return yamlx.Bool(true), nil
		case "false", "no", "off":
			return yamlx.Bool(false), nil
		}
	}
	return nil, fmt.Errorf("is %s; expected true or false", describe(v))
}

func duration(v *yaml.Node) (*yaml.Node, error) {
	s, ok := yamlx.Scalar(v)
	if !ok || v.ShortTag() != "!!str" {
		return nil, fmt.Errorf("is %s; expected a duration such as 10s or 1m30s", describe(v))
	}
	if _, err := time.ParseDuration(s); err != nil {
		return nil, fmt.Errorf("%q is not a duration; expected one such as 10s or 1m30s", s)
	}
	return v, nil
}

// integer reads an integer as podlike's controller would: an !!int as
// YAML does (010 is octal, 8), a string's text in base 10.
func integer(v *yaml.Node) (*yaml.Node, error) {
	s, ok := yamlx.Scalar(v)
	if ok {
		var n int64
		var err error
		if v = yamlx.Resolve(v); v.ShortTag() == "!!int" {
			n, err = yamlx.IntValue(v)
		} else {
			n, err = strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		}
		if err == nil {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(n, 10)}, nil
		}
	}
	return nil, fmt.Errorf("is %s; expected an integer", describe(v))
}

func number(v *yaml.Node) (*yaml.Node, error) {
	s, ok := yamlx.Scalar(v)
	if ok {
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(f, 'f', -1, 64)}, nil
		}
	}
	return nil, fmt.Errorf("is %s; expected a number", describe(v))
}

// bytesInt converts a size with units ("512m") to the integer bytes the
// controller wants.
func bytesInt(v *yaml.Node) (*yaml.Node, error) {
	s, ok := yamlx.Scalar(v)
	if ok {
		// RAMInBytes refuses a negative size, so a negative result is
		// one that overflowed int64 (99999999999g, 1e30); some platforms
		// saturate to MaxInt64 instead.
		if n, err := units.RAMInBytes(strings.TrimSpace(s)); err == nil && n >= 0 && n < math.MaxInt64 {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(n, 10)}, nil
		}
	}
	return nil, fmt.Errorf("is %s; expected a size such as 512m or a number of bytes", describe(v))
}

func healthcheck(v *yaml.Node) (*yaml.Node, error) {
	return fields(v, "test, interval, timeout, start_period, retries, disable", map[string]func(*yaml.Node) (*yaml.Node, error){
		"test":         func(n *yaml.Node) (*yaml.Node, error) { return normaliseValue(shapeCommand, n, componentEnv{}) },
		"interval":     duration,
		"timeout":      duration,
		"start_period": duration,
		"retries":      integer,
		"disable":      boolean,
	})
}

// fields normalises a mapping whose keys each have a shape of their own;
// any other key is an error listing the known ones.
func fields(v *yaml.Node, known string, shapes map[string]func(*yaml.Node) (*yaml.Node, error)) (*yaml.Node, error) {
	if v.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("is %s; expected a mapping", yamlx.KindName(v))
	}
	out := yamlx.Map()
	for _, kv := range yamlx.Pairs(v) {
		norm, ok := shapes[kv.Key.Value]
		if !ok {
			return nil, fmt.Errorf("key %q is not one the controller reads (%s)", kv.Key.Value, known)
		}
		nv, err := norm(yamlx.Resolve(kv.Value))
		if err != nil {
			return nil, fmt.Errorf("%s %w", kv.Key.Value, err)
		}
		yamlx.Set(out, kv.Key.Value, nv)
	}
	return out, nil
}

func ulimits(v *yaml.Node) (*yaml.Node, error) {
	if v.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("is %s; expected a mapping", yamlx.KindName(v))
	}
	out := yamlx.Map()
	for _, kv := range yamlx.Pairs(v) {
		val := yamlx.Resolve(kv.Value)
		if val.Kind == yaml.MappingNode {
			lim := yamlx.Map()
			for _, p := range yamlx.Pairs(val) {
				if p.Key.Value != "soft" && p.Key.Value != "hard" {
					return nil, fmt.Errorf("%s: key %q is not soft or hard", kv.Key.Value, p.Key.Value)
				}
				n, err := integer(yamlx.Resolve(p.Value))
				if err != nil {
					return nil, fmt.Errorf("%s.%s %w", kv.Key.Value, p.Key.Value, err)
				}
				yamlx.Set(lim, p.Key.Value, n)
			}
			yamlx.Set(out, kv.Key.Value, lim)
			continue
		}
		n, err := integer(val)
		if err != nil {
			return nil, fmt.Errorf("%s %w", kv.Key.Value, err)
		}
		yamlx.Set(out, kv.Key.Value, n)
	}
	return out, nil
}

func logging(v *yaml.Node) (*yaml.Node, error) {
	return fields(v, "driver, options", map[string]func(*yaml.Node) (*yaml.Node, error){
		"driver":  scalarString,
		"options": stringMap,
	})
}

func blkio(v *yaml.Node) (*yaml.Node, error) {
	if v.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("is %s; expected a mapping", yamlx.KindName(v))
	}
	out := yamlx.Map()
	for _, kv := range yamlx.Pairs(v) {
		val := yamlx.Resolve(kv.Value)
		k := kv.Key.Value
		switch k {
		case "weight":
			n, err := integer(val)
			if err != nil {
				return nil, fmt.Errorf("weight %w", err)
			}
			yamlx.Set(out, k, n)
		case "weight_device", "device_read_bps", "device_read_iops", "device_write_bps", "device_write_iops":
			if val.Kind != yaml.SequenceNode {
				return nil, fmt.Errorf("%s is %s; expected a list", k, yamlx.KindName(val))
			}
			list := yamlx.Seq()
			for i, it := range val.Content {
				it = yamlx.Resolve(it)
				if it.Kind != yaml.MappingNode {
					return nil, fmt.Errorf("%s item %d is %s; expected a mapping", k, i+1, yamlx.KindName(it))
				}
				dev := yamlx.Map()
				for _, p := range yamlx.Pairs(it) {
					pv := yamlx.Resolve(p.Value)
					var nv *yaml.Node
					var err error
					switch {
					case p.Key.Value == "path":
						nv, err = scalarString(pv)
					case p.Key.Value == "weight" && k == "weight_device":
						nv, err = integer(pv)
					case p.Key.Value == "rate" && strings.HasSuffix(k, "_bps"):
						nv, err = bytesInt(pv)
					case p.Key.Value == "rate":
						nv, err = integer(pv)
					default:
						return nil, fmt.Errorf("%s item %d: key %q is not path, %s", k, i+1, p.Key.Value, map[bool]string{true: "weight", false: "rate"}[k == "weight_device"])
					}
					if err != nil {
						return nil, fmt.Errorf("%s item %d: %s %w", k, i+1, p.Key.Value, err)
					}
					yamlx.Set(dev, p.Key.Value, nv)
				}
				list.Content = append(list.Content, dev)
			}
			yamlx.Set(out, k, list)
		default:
			return nil, fmt.Errorf("key %q is not one the controller reads (weight, weight_device, device_read_bps, device_read_iops, device_write_bps, device_write_iops)", k)
		}
	}
	return out, nil
}

// tmpfs writes the mapping path: options the controller wants; it would
// split a Compose list item "/run:size=64m" at "=".
func tmpfs(v *yaml.Node) (*yaml.Node, error) {
	var items []string
	switch v.Kind {
	case yaml.ScalarNode:
		items = []string{v.Value}
	case yaml.SequenceNode:
		for i, it := range v.Content {
			s, ok := yamlx.Scalar(it)
			if !ok {
				return nil, fmt.Errorf("item %d is %s; expected a path", i+1, yamlx.KindName(it))
			}
			items = append(items, s)
		}
	case yaml.MappingNode:
		return stringMap(v)
	}
	out := yamlx.Map()
	for _, it := range items {
		path, opts, _ := strings.Cut(it, ":")
		yamlx.Set(out, path, yamlx.Str(opts))
	}
	return out, nil
}

func describe(v *yaml.Node) string {
	if s, ok := yamlx.Scalar(v); ok {
		if v.ShortTag() == "!!str" {
			return strconv.Quote(s)
		}
		return s
	}
	return yamlx.KindName(v)
}

// VolumeRefLabel is the label on a top-level volume that tells podlike's
// controller which name components use for it; without it, a volume with
// an explicit name: is not found and a component gets a new, empty one.
const VolumeRefLabel = "com.github.rycus86.podlike.volume-ref"

// ControllerVolumeDir is where the controller mounts the stack volumes its
// components use (it maps a component's volume onto the controller's
// mount of it, so the volume must be on the controller).
const ControllerVolumeDir = "/podlike-volumes/"

// prepare checks the keys of a component as one template (src; nil: the
// service itself) gives it and makes its relative paths absolute against
// that template's folder, before templates merge.
func (in PodInput) prepare(src *config.Source, name string, comp *yaml.Node) (*yaml.Node, error) {
	dir := in.Dir
	if src != nil && src.Kind == config.KindFile && src.Path != "" {
		dir = src.Folder()
	}
	err := checkKeys(comp)
	if err == nil {
		comp, err = absolutePaths(comp, dir)
	}
	if err != nil {
		return nil, in.componentErr(src, name, err)
	}
	return comp, nil
}

// finish normalises a merged component; owner is the template that first
// gave it (nil: the service).
func (in PodInput) finish(owner *config.Source, name string, comp *yaml.Node) (*yaml.Node, error) {
	env := componentEnv{dir: in.Dir, lookup: in.Lookup}
	if env.lookup == nil {
		env.lookup = func(string) (string, bool) { return "", false }
	}
	out, err := normalise(comp, env)
	if err != nil {
		return nil, in.componentErr(owner, name, err)
	}
	return out, nil
}

// componentErr names the component in err: name is a component name, or
// "#N" for the Nth init component.
func (in PodInput) componentErr(src *config.Source, name string, err error) error {
	what := fmt.Sprintf("component %q", name)
	if strings.HasPrefix(name, "#") {
		what = "init component " + name[1:]
	}
	if src != nil {
		return in.R.errorf(src, "%s: %v", what, err)
	}
	return &diag.Error{Service: in.Name, Msg: fmt.Sprintf("%s: %v", what, err)}
}

// attachVolumes puts every stack volume a component uses on the
// controller, and returns those with an explicit name (they need the
// volume-ref label).
func attachVolumes(in PodInput, ctrl *yaml.Node, comps map[string]*yaml.Node, order []string, inits []*yaml.Node) ([]string, error) {
	top := yamlx.Resolve(in.Volumes)
	if top == nil || top.Kind != yaml.MappingNode {
		return nil, nil
	}
	onController := map[string]bool{}
	for _, v := range seqItems(yamlx.Get(ctrl, "volumes")) {
		onController[volumeSource(v)] = true
	}
	all := make([]*yaml.Node, 0, len(order)+len(inits))
	for _, name := range order {
		all = append(all, comps[name])
	}
	all = append(all, inits...)
	var refs, add []string
	seen := map[string]bool{}
	for _, c := range all {
		for _, v := range seqItems(yamlx.Get(c, "volumes")) {
			src := volumeSource(v)
			if src == "" || strings.HasPrefix(src, "/") || seen[src] {
				continue
			}
			def := yamlx.Get(top, src)
			if def == nil {
				continue
			}
			seen[src] = true
			if !onController[src] {
				add = append(add, src)
			}
			explicit, _ := yamlx.Scalar(yamlx.Get(yamlx.Resolve(def), "name"))
			if explicit != "" {
				refs = append(refs, src)
			}
		}
	}
	if len(add) > 0 {
		vols := yamlx.Resolve(yamlx.Get(ctrl, "volumes"))
		list := yamlx.Seq()
		if vols != nil && vols.Kind == yaml.SequenceNode {
			list.Content = append(list.Content, vols.Content...)
		}
		for _, src := range add {
			list.Content = append(list.Content, yamlx.Str(src+":"+ControllerVolumeDir+src))
		}
		yamlx.Set(ctrl, "volumes", list)
	}
	return refs, nil
}

// volumeSource is a volume item's source ("" for an anonymous volume or
// a tmpfs).
func volumeSource(v *yaml.Node) string {
	v = yamlx.Resolve(v)
	if v.Kind == yaml.MappingNode {
		if t, _ := yamlx.Scalar(yamlx.Get(v, "type")); t == "tmpfs" {
			return ""
		}
		s, _ := yamlx.Scalar(yamlx.Get(v, "source"))
		return s
	}
	s, _ := yamlx.Scalar(v)
	return yamlx.ParseVolume(s).Source
}

func seqItems(n *yaml.Node) []*yaml.Node {
	n = yamlx.Resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

// LabelVolumeRefs adds the volume-ref label to the named top-level
// volumes of root.
func LabelVolumeRefs(root *yaml.Node, names []string) {
	top := yamlx.Resolve(yamlx.Get(root, "volumes"))
	if top == nil || top.Kind != yaml.MappingNode {
		return
	}
	for _, name := range names {
		def := yamlx.Resolve(yamlx.Get(top, name))
		if def == nil || def.Kind != yaml.MappingNode {
			continue
		}
		labels := yamlx.KeyValueMap(yamlx.Get(def, "labels"))
		if yamlx.Get(labels, VolumeRefLabel) == nil {
			yamlx.Set(labels, VolumeRefLabel, yamlx.Str(name))
		}
		yamlx.Set(def, "labels", labels)
	}
}
