// Package validation checks the input as `docker stack deploy` does, with
// docker/cli's own code: the Compose file schema of each file's declared
// version (cli/compose/schema) and the loader's rules for Swarm
// (cli/compose/loader: forbidden keys, port and volume specs, durations,
// sizes, env files...), then the image references stack deploy checks. It
// reports every problem with the file, line and column of the YAML node
// docker's message names, and returns the warnings stack deploy prints
// for keys it ignores.
//
// It is the single authority on "docker would reject this": later stages
// may assume the types the schema guarantees.
//
// Docker compiles its schema on every check; internal/fastschema decides
// the same from tables compiled ahead of time, so input docker accepts is
// never checked by the compiled schema. Docker's own code still gives
// every message.
package validation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/distribution/reference"
	"github.com/docker/cli/cli/compose/loader"
	"github.com/docker/cli/cli/compose/schema"
	composetypes "github.com/docker/cli/cli/compose/types"
	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/load"
	"github.com/podtemplate/podtemplate/transform/validation/internal/fastschema"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// Options says how to check.
type Options struct {
	// Env resolves what docker's loader looks up: environment entries
	// without a value, ~ in bind mounts.
	Env map[string]string
	// Pods are the services that become pods: keys their build moves into
	// the main component (MovesToComponent) never reach docker, so the
	// ones the Compose file schema does not define are not checked here.
	Pods map[string]bool
	// Built are the services whose image the build sets (pods, jobs):
	// stack deploy's image check applies to the others.
	Built map[string]bool
	// MovesToComponent reports the keys a pod's build moves into its
	// main component.
	MovesToComponent func(key string) bool
}

// Check validates files — interpolated, with the extension fields this
// tool consumes removed — as docker stack deploy does. It returns the
// warnings stack deploy would print and every problem found, as a
// diag.List sorted by file and position.
func Check(files []*load.File, opts Options) (warnings []string, err error) {
	var errs diag.List
	checked := make([]*checkedFile, len(files))
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			checked[i] = checkFile(f, opts)
		}()
	}
	wg.Wait()
	version := ""
	for i, c := range checked {
		errs = append(errs, c.errs...)
		if i == 0 {
			version = c.version
		} else if c.version != version {
			errs.Add(files[i].Pos(yamlx.Get(files[i].Root, "version")).Errorf("version mismatched between two composefiles : %v and %v", version, c.version))
		}
	}
	// (Several files are merged, and docker's merge errors reported, by
	// Merge.)
	if len(errs) == 0 {
		errs.Add(imageCheck(files, opts))
	}
	warnings = ignoredWarnings(checked, opts)
	Sort(errs, files)
	return warnings, errs.Err()
}

// checkedFile is one file's dictionary, as docker's loader sees it.
type checkedFile struct {
	file    *load.File
	dict    map[string]any
	version string
	errs    diag.List
}

func checkFile(f *load.File, opts Options) *checkedFile {
	c := &checkedFile{file: f}
	if f.Anchors {
		if err := aliasCycle(f); err != nil {
			c.errs.Add(err)
			return c
		}
	}
	if err := stringKeys(f); err != nil {
		c.errs.Add(err)
		return c
	}
	c.version = versionOf(f)
	if err := c.forbidden(); err != nil {
		c.errs.Add(err)
		return c
	}
	if c.fastValid(opts) {
		return c
	}
	dict, err := toDict(f)
	if err != nil {
		c.errs.Add(err)
		return c
	}
	c.dict = dict
	c.exemptPodKeys(opts)
	c.errs.Add(c.exactCheck(opts))
	return c
}

// aliasCycle reports an anchor whose value holds an alias to itself,
// which docker's YAML reader refuses ("anchor ... value contains itself").
func aliasCycle(f *load.File) error {
	const (
		visiting = 1
		done     = 2
	)
	state := map[*yaml.Node]int{}
	var bad error
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil || bad != nil {
			return
		}
		if n.Kind == yaml.AliasNode {
			if state[n.Alias] == visiting {
				bad = f.Pos(n).Errorf("anchor '%s' value contains itself", n.Value)
				return
			}
			walk(n.Alias)
			return
		}
		if state[n] != 0 {
			return
		}
		state[n] = visiting
		for _, c := range n.Content {
			walk(c)
		}
		state[n] = done
	}
	walk(f.Root)
	return bad
}

// versionOf is the file's Compose version as docker reads it.
func versionOf(f *load.File) string {
	version := map[string]any{}
	if v := yamlx.Get(f.Root, "version"); v != nil {
		version["version"], _ = yamlx.Value(v)
	}
	return schema.Version(version)
}

// stringKeys rejects keys that are not strings: docker's loader reads
// such a mapping as map[interface{}]interface{}, which it cannot validate.
func stringKeys(f *load.File) error {
	var bad error
	yamlx.Walk(f.Root, func(n *yaml.Node) {
		if bad != nil || n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.ShortTag() != "!!str" && !yamlx.IsMergeKey(k) {
				bad = f.Pos(k).Errorf("mapping key %s is not a string; docker stack deploy accepts string keys only (quote it)", k.Value)
				return
			}
		}
	})
	return bad
}

// toDict converts the file's tree to the map docker's ParseYAML gives.
func toDict(f *load.File) (map[string]any, error) {
	if err := stringKeys(f); err != nil {
		return nil, err
	}
	v, err := yamlx.Value(f.Root)
	if err != nil {
		return nil, f.Pos(f.Root).Wrap(err, "reading the file")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, f.Pos(f.Root).Errorf("top-level object must be a mapping")
	}
	return m, nil
}

// forbidden reports the service keys docker's loader refuses outright.
func (c *checkedFile) forbidden() error {
	var errs diag.List
	services := yamlx.Resolve(yamlx.Get(c.file.Root, "services"))
	for _, p := range yamlx.Pairs(services) {
		eachPair(p.Value, func(k, _ *yaml.Node) {
			if desc, ok := composetypes.ForbiddenProperties[k.Value]; ok {
				errs.Add(c.file.Pos(k).Errorf("Compose file contains unsupported option %s: %s", k.Value, desc).WithService(p.Key.Value))
			}
		})
	}
	return errs.Err()
}

// exemptPodKeys removes from the dictionary the keys of pod services that
// move into the main component and that the schema does not define: they
// never reach docker (mem_limit, cpu_shares...). It returns them per
// service, for the warnings.
func (c *checkedFile) exemptPodKeys(opts Options) map[string][]string {
	if len(opts.Pods) == 0 || opts.MovesToComponent == nil {
		return nil
	}
	services, _ := c.dict["services"].(map[string]any)
	out := map[string][]string{}
	for name, s := range services {
		svc, ok := s.(map[string]any)
		if !ok || !opts.Pods[name] {
			continue
		}
		skip := c.exempt(name, opts)
		for k := range svc {
			if skip(k) {
				delete(svc, k)
				out[name] = append(out[name], k)
			}
		}
	}
	return out
}

// schemaValid reports whether docker's schema for version accepts doc, as
// schema.Validate decides: fastschema decides most documents from tables
// compiled ahead of time; schema.Validate, which compiles the schema on
// every call, is asked only when it cannot.
func schemaValid(doc map[string]any, version string) bool {
	r := fastschema.Check(doc, version)
	if observeSchemaCheck != nil {
		observeSchemaCheck(doc, version, r)
	}
	switch r {
	case fastschema.Valid:
		return true
	case fastschema.Invalid:
		return false
	}
	return schema.Validate(doc, version) == nil
}

// observeSchemaCheck, when set (by tests), sees every document
// schemaValid decides and fastschema's verdict.
var observeSchemaCheck func(doc map[string]any, version string, r fastschema.Result)

var knownKeys sync.Map // version + "\x00" + key -> bool

// serviceKeyKnown reports whether the schema of version defines key for
// services: from fastschema's tables, else asking the schema itself.
func serviceKeyKnown(version, key string) bool {
	if known, ok := fastschema.ServiceKeyKnown(version, key); ok {
		return known
	}
	id := version + "\x00" + key
	if v, ok := knownKeys.Load(id); ok {
		return v.(bool)
	}
	err := schema.Validate(map[string]any{"services": map[string]any{"s": map[string]any{key: nil}}}, version)
	known := err == nil || !strings.Contains(err.Error(), "Additional property "+key+" is not allowed")
	knownKeys.Store(id, known)
	return known
}

// IsName reports whether name matches the pattern every 3.x schema gives
// service names ("services": {"patternProperties": {"^[a-zA-Z0-9._-]+$":
// ...}, "additionalProperties": false}), by hand: no regular expression
// compiled at start-up. (The characters docker allows in a container name
// after its first are the same.)
func IsName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// fastValid reports whether the whole file passes docker's schema and
// loader, checking each distinct service shape once (see shape), under the
// name of the first service with it: a service is checked on its own by
// the schema (its definition has no constraint across services) and by
// the loader (LoadService), and names only by the pattern above. False
// means there is a problem somewhere, or that it could not tell.
func (c *checkedFile) fastValid(opts Options) bool {
	services := yamlx.Resolve(yamlx.Get(c.file.Root, "services"))
	if services == nil || services.Kind != yaml.MappingNode {
		return false
	}
	batch := map[string]any{}
	for _, p := range yamlx.Pairs(c.file.Root) {
		if p.Key.Value == "services" {
			continue
		}
		v, err := yamlx.Value(p.Value)
		if err != nil {
			return false
		}
		batch[p.Key.Value] = v
	}
	seen := map[string]bool{}
	reduced := map[string]any{}
	var b bytes.Buffer
	for _, p := range yamlx.Pairs(services) {
		name := p.Key.Value
		svc := yamlx.Resolve(p.Value)
		if !IsName(name) || svc.Kind != yaml.MappingNode {
			return false
		}
		skip := c.exempt(name, opts)
		b.Reset()
		fingerprint(&b, svc, skip)
		if seen[string(b.Bytes())] {
			continue
		}
		seen[b.String()] = true
		v, err := yamlx.Value(svc)
		if err != nil {
			return false
		}
		m := v.(map[string]any)
		for k := range m {
			if skip(k) {
				delete(m, k)
			}
		}
		reduced[name] = shape(m)
	}
	batch["services"] = reduced
	if !schemaValid(batch, c.version) {
		return false
	}
	_, err := loadDict(batch, c.file, opts)
	return err == nil
}

// exempt returns which keys of service name docker never sees (see
// exemptPodKeys).
func (c *checkedFile) exempt(name string, opts Options) func(string) bool {
	if !opts.Pods[name] || opts.MovesToComponent == nil {
		return func(string) bool { return false }
	}
	// Most keys are known: that test first.
	return func(k string) bool { return !serviceKeyKnown(c.version, k) && opts.MovesToComponent(k) }
}

// loadDict runs docker's loader (no interpolation: the tree is
// interpolated; no schema: checked apart) on one file's dictionary.
func loadDict(dict map[string]any, f *load.File, opts Options) (cfg *composetypes.Config, err error) {
	defer func() {
		// docker's loader panics on some shapes the schema lets through;
		// docker stack deploy would crash on them: a rejection.
		if r := recover(); r != nil {
			err = fmt.Errorf("docker's loader fails on this input: %v", r)
		}
	}()
	return loader.Load(composetypes.ConfigDetails{
		WorkingDir:  f.Dir,
		ConfigFiles: []composetypes.ConfigFile{{Filename: f.Name, Config: dict}},
		Environment: opts.Env,
	}, func(o *loader.Options) { o.SkipInterpolation, o.SkipValidation = true, true })
}

// exactCheck finds every problem of a file that failed the fast check:
// the top-level sections apart from the services, then each service on
// its own, so one problem does not hide the others.
func (c *checkedFile) exactCheck(opts Options) error {
	services, ok := c.dict["services"].(map[string]any)
	if !ok {
		// Not a mapping of services: the schema says what it is.
		return c.schemaErrors(c.dict, nil)
	}
	var errs diag.List
	rest := make(map[string]any, len(c.dict))
	for k, v := range c.dict {
		if k != "services" {
			rest[k] = v
		}
	}
	errs.Add(c.schemaErrors(rest, nil))
	if len(errs) == 0 {
		if _, err := loadDict(rest, c.file, opts); err != nil {
			errs.Add(c.loaderError(err, nil))
		}
	}
	names := make([]string, 0, len(services))
	for n := range services {
		names = append(names, n)
	}
	sort.Strings(names)
	// Services are checked in groups first, one by one only in a group
	// that fails: a large stack with a few bad services costs a few runs.
	for start := 0; start < len(names); start += groupSize {
		group := names[start:min(start+groupSize, len(names))]
		if len(group) > 1 && c.groupValid(group, services, opts) {
			continue
		}
		for _, name := range group {
			errs.Add(c.checkService(name, services[name], opts))
			if len(errs) >= maxProblems {
				errs.Add(c.file.Pos(nil).Errorf("more than %d problems; fix these first", maxProblems))
				return errs.Err()
			}
		}
	}
	return errs.Err()
}

// groupSize is how many services are checked together first.
const groupSize = 32

// maxProblems bounds the problems reported for one file.
const maxProblems = 100

// groupValid reports whether the named services pass the schema and the
// loader together.
func (c *checkedFile) groupValid(names []string, services map[string]any, opts Options) bool {
	group := make(map[string]any, len(names))
	for _, n := range names {
		if !IsName(n) {
			return false
		}
		group[n] = services[n]
	}
	dict := map[string]any{"services": group}
	if v, ok := c.dict["version"]; ok {
		dict["version"] = v
	}
	if !schemaValid(dict, c.version) {
		return false
	}
	_, err := loadDict(dict, c.file, opts)
	return err == nil
}

func (c *checkedFile) checkService(name string, svc any, opts Options) error {
	one := map[string]any{"services": map[string]any{name: svc}}
	if v, ok := c.dict["version"]; ok {
		one["version"] = v
	}
	if err := c.schemaErrors(one, []string{"services", name}); err != nil {
		return diag.Service(err, name)
	}
	if _, err := loadDict(one, c.file, opts); err != nil {
		return diag.Service(c.loaderError(err, []string{"services", name}), name)
	}
	return nil
}

// maxErrorsPerPart bounds the problems reported in one service or section.
const maxErrorsPerPart = 20

// schemaErrors validates dict (a copy is edited) and reports each problem
// docker's schema finds: after each, the offending part is removed and the
// rest validated again.
func (c *checkedFile) schemaErrors(dict map[string]any, scope []string) error {
	var errs diag.List
	work := deepCopy(dict).(map[string]any)
	seen := map[string]bool{}
	for i := 0; i < maxErrorsPerPart; i++ {
		err := schema.Validate(work, c.version)
		if err == nil {
			break
		}
		msg := err.Error()
		if seen[msg] {
			break
		}
		seen[msg] = true
		path, desc := splitSchemaError(msg, c.file.Root)
		node, key := locate(c.file.Root, path, desc)
		pos := c.file.Pos(node)
		if key != nil {
			pos = c.file.Pos(key)
		}
		if strings.HasPrefix(msg, "json: unsupported value: ") {
			// Not the schema's: JSON cannot write a value (.nan, .inf).
			if n := c.unwritable(dict, scope); n != nil {
				pos = c.file.Pos(n)
			}
		}
		errs.Add(pos.Errorf("%s", msg))
		if !removeOffending(work, path, desc) {
			break
		}
	}
	return errs.Err()
}

// unwritable returns the first scalar JSON cannot write (.nan, .inf) in
// the part of the file dict holds (the service scope names, or the
// top-level sections), where schema.Validate's "json: unsupported value"
// comes from.
func (c *checkedFile) unwritable(dict map[string]any, scope []string) *yaml.Node {
	var parts []*yaml.Node
	if scope != nil {
		parts = append(parts, yamlx.Get(yamlx.Get(c.file.Root, scope[0]), scope[1]))
	} else {
		for _, p := range yamlx.Pairs(c.file.Root) {
			if _, ok := dict[p.Key.Value]; ok {
				parts = append(parts, p.Value)
			}
		}
	}
	var found *yaml.Node
	for _, part := range parts {
		yamlx.Walk(part, func(n *yaml.Node) {
			if found != nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!float" {
				return
			}
			if v, err := yamlx.Value(n); err == nil {
				if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
					found = n
				}
			}
		})
	}
	return found
}

// splitSchemaError splits docker's "<field> <description>" message at the
// longest prefix that names a node of root.
func splitSchemaError(msg string, root *yaml.Node) ([]string, string) {
	best, desc := []string(nil), msg
	for i := 0; i < len(msg); i++ {
		if msg[i] != ' ' {
			continue
		}
		field := msg[:i]
		if field == "(root)" {
			return nil, msg[i+1:]
		}
		if p, ok := resolvePath(root, field); ok {
			best, desc = p, msg[i+1:]
		}
	}
	return best, desc
}

// resolvePath splits a dotted field into the keys of root it names (keys
// may hold dots themselves).
func resolvePath(root *yaml.Node, field string) ([]string, bool) {
	segs := strings.Split(field, ".")
	var out []string
	n := root
	for i := 0; i < len(segs); {
		n = yamlx.Resolve(n)
		if n == nil {
			return nil, false
		}
		switch n.Kind {
		case yaml.MappingNode:
			found := false
			for j := len(segs); j > i; j-- {
				key := strings.Join(segs[i:j], ".")
				if v := yamlx.Get(n, key); v != nil {
					out = append(out, key)
					n, i, found = v, j, true
					break
				}
			}
			if !found {
				return nil, false
			}
		case yaml.SequenceNode:
			idx, err := strconv.Atoi(segs[i])
			if err != nil || idx < 0 || idx >= len(n.Content) {
				return nil, false
			}
			out = append(out, segs[i])
			n, i = n.Content[idx], i+1
		default:
			return nil, false
		}
	}
	return out, true
}

// The regular expressions below read docker's messages, on error paths
// only: each is compiled on first use, not at every start.
var additional = &lazyRegexp{expr: `^Additional property (.*) is not allowed$`}

// lazyRegexp is a regular expression compiled on first use.
type lazyRegexp struct {
	expr string
	once sync.Once
	re   *regexp.Regexp
}

func (l *lazyRegexp) FindStringSubmatch(s string) []string {
	l.once.Do(func() { l.re = regexp.MustCompile(l.expr) })
	return l.re.FindStringSubmatch(s)
}

// locate returns the node at path and the key naming it: for a key the
// schema does not allow, that key; for a mapping entry, its key (where
// the reader looks); for a list item, none.
func locate(root *yaml.Node, path []string, desc string) (node, key *yaml.Node) {
	n := root
	for _, p := range path {
		n = yamlx.Resolve(n)
		if n.Kind == yaml.SequenceNode {
			idx, _ := strconv.Atoi(p)
			n, key = n.Content[idx], nil
			continue
		}
		key = nil
		for _, kv := range yamlx.Pairs(n) {
			if kv.Key.Value == p {
				key, n = kv.Key, kv.Value
				break
			}
		}
	}
	if m := additional.FindStringSubmatch(desc); m != nil {
		for _, kv := range yamlx.Pairs(n) {
			if kv.Key.Value == m[1] {
				return n, kv.Key
			}
		}
	}
	return n, key
}

// removeOffending removes what a schema error names from dict, so the
// next validation finds the next problem. It reports false when nothing
// could be removed.
func removeOffending(dict map[string]any, path []string, desc string) bool {
	if m := additional.FindStringSubmatch(desc); m != nil {
		if parent, ok := at(dict, path).(map[string]any); ok {
			if _, has := parent[m[1]]; has {
				delete(parent, m[1])
				return true
			}
		}
		return false
	}
	// Remove the innermost mapping entry holding the problem (a whole
	// list, rather than shift the indices of the problems after it).
	for i := len(path); i > 0; i-- {
		if parent, ok := at(dict, path[:i-1]).(map[string]any); ok {
			if _, has := parent[path[i-1]]; has && i > 1 {
				delete(parent, path[i-1])
				return true
			}
		}
	}
	return false
}

func at(v any, path []string) any {
	for _, p := range path {
		switch t := v.(type) {
		case map[string]any:
			v = t[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(t) {
				return nil
			}
			v = t[i]
		default:
			return nil
		}
	}
	return v
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = deepCopy(x)
		}
		return s
	}
	return v
}

// loaderError places a loader message: at the scalar of scope it quotes
// (a port or volume spec, a size), else at the section or service.
func (c *checkedFile) loaderError(err error, scope []string) error {
	msg := err.Error()
	base := c.file.Root
	if scope != nil {
		base = yamlx.Get(yamlx.Get(c.file.Root, scope[0]), scope[1])
	} else if m := sectionEntry.FindStringSubmatch(msg); m != nil {
		for _, kv := range yamlx.Pairs(yamlx.Get(c.file.Root, m[1]+"s")) {
			if kv.Key.Value == m[2] {
				return c.file.Pos(kv.Key).Errorf("%s", msg)
			}
		}
	}
	var best *yaml.Node
	if m := decodingField.FindStringSubmatch(msg); m != nil && scope != nil {
		// mapstructure names the Go field: ShmSize is shm_size.
		if k, _ := yamlx.GetKey(base, snake(m[1])); k != nil {
			return c.file.Pos(k).Errorf("%s", msg)
		}
	}
	yamlx.Walk(base, func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode && n.Value != "" && len(n.Value) > 1 && strings.Contains(msg, n.Value) {
			if best == nil || len(n.Value) > len(best.Value) {
				best = n
			}
		}
	})
	if best == nil {
		best = base
		if scope != nil {
			if k, _ := yamlx.GetKey(yamlx.Get(c.file.Root, scope[0]), scope[1]); k != nil {
				best = k
			}
		}
	}
	return c.file.Pos(best).Errorf("%s", msg)
}

// imageCheck is stack deploy's check that every service names a valid
// image, on the services as merged.
func imageCheck(files []*load.File, opts Options) error {
	var errs diag.List
	seen := map[string]bool{}
	empty := map[string]diag.Pos{} // the last file's empty image, for the message
	refs := map[string]error{}     // each distinct image parsed once
	for i := len(files) - 1; i >= 0; i-- {
		f := files[i]
		for _, p := range yamlx.Pairs(yamlx.Get(f.Root, "services")) {
			name := p.Key.Value
			if seen[name] || opts.Built[name] {
				continue
			}
			img := yamlx.Get(p.Value, "image")
			if img == nil {
				// An earlier file may set it.
				continue
			}
			s, _ := yamlx.Scalar(img)
			if s == "" {
				// Docker's merge keeps an earlier file's image over an
				// empty one (image: ${TAG} with TAG unset).
				if _, ok := empty[name]; !ok {
					empty[name] = f.Pos(img)
				}
				continue
			}
			seen[name] = true
			err, known := refs[s]
			if !known {
				_, err = reference.ParseAnyReference(s)
				refs[s] = err
			}
			if err != nil {
				errs.Add(f.Pos(img).Errorf("invalid image reference for service %s: %v", name, err).WithService(name))
			}
		}
	}
	for _, f := range files {
		for _, p := range yamlx.Pairs(yamlx.Get(f.Root, "services")) {
			name := p.Key.Value
			if !seen[name] && !opts.Built[name] {
				seen[name] = true
				at, ok := empty[name]
				if !ok {
					at = f.Pos(p.Key)
				}
				errs.Add(at.Errorf("invalid image reference for service %s: no image specified", name).WithService(name))
			}
		}
	}
	return errs.Err()
}

// ignoredWarnings are stack deploy's "Ignoring unsupported options" and
// "Ignoring deprecated options" messages. On a pod, keys its build moves
// into the main component are used, not ignored.
func ignoredWarnings(checked []*checkedFile, opts Options) []string {
	unsupported := map[string]bool{}
	deprecated := map[string]string{}
	for _, c := range checked {
		for _, p := range yamlx.Pairs(yamlx.Get(c.file.Root, "services")) {
			pod := opts.Pods[p.Key.Value]
			eachPair(p.Value, func(key, _ *yaml.Node) {
				k := key.Value
				if pod && opts.MovesToComponent != nil && opts.MovesToComponent(k) {
					return
				}
				for _, u := range composetypes.UnsupportedProperties {
					if u == k {
						unsupported[k] = true
					}
				}
				if d, ok := composetypes.DeprecatedProperties[k]; ok {
					deprecated[k] = d
				}
			})
		}
	}
	var out []string
	if len(unsupported) > 0 {
		keys := make([]string, 0, len(unsupported))
		for k := range unsupported {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out = append(out, "Ignoring unsupported options: "+strings.Join(keys, ", "))
	}
	if len(deprecated) > 0 {
		msgs := make([]string, 0, len(deprecated))
		for k, d := range deprecated {
			msgs = append(msgs, k+": "+d)
		}
		sort.Strings(msgs)
		out = append(out, "Ignoring deprecated options:\n\n"+strings.Join(msgs, "\n\n"))
	}
	return out
}

// Sort orders problems by input file (in the order given), then line and
// column; a file's problems without a line come after its others, and
// problems without a file last, in the order found.
func Sort(errs diag.List, files []*load.File) {
	order := map[string]int{}
	for i, f := range files {
		if _, ok := order[f.Name]; !ok {
			order[f.Name] = i
		}
	}
	key := func(e error) (int, int, int) {
		var d *diag.Error
		if !errors.As(e, &d) || d.File == "" {
			return len(files) + 1, 0, 0
		}
		fi, ok := order[d.File]
		if !ok {
			fi = len(files)
		}
		if d.Line == 0 {
			return fi, int(^uint(0) >> 1), 0 // the file as a whole: after its lines
		}
		return fi, d.Line, d.Column
	}
	sort.SliceStable(errs, func(i, j int) bool {
		fi, li, ci := key(errs[i])
		fj, lj, cj := key(errs[j])
		if fi != fj {
			return fi < fj
		}
		if li != lj {
			return li < lj
		}
		return ci < cj
	})
}

var sectionEntry = &lazyRegexp{expr: `^(network|volume|secret|config) (\S+):`}

var decodingField = &lazyRegexp{expr: `'([A-Z][A-Za-z]*)`}

// snake turns a Go field name into its Compose key (StopGracePeriod is
// stop_grace_period).
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Merge merges several files (checked by Check) the way docker stack
// deploy merges them. ours is our own merge of them, which keeps the
// files' text: it is returned when docker's loader gives it the meaning
// docker's merge of the files has. Otherwise the result is docker's merge
// as a new top-level mapping (what `docker stack config` prints). Keys a
// pod's build moves into its main component and that docker does not
// know (mem_limit...) are carried over apart, later files winning.
func Merge(files []*load.File, ours *yaml.Node, opts Options) (*yaml.Node, error) {
	details := composetypes.ConfigDetails{WorkingDir: files[0].Dir, Environment: opts.Env}
	kept := map[string]*yaml.Node{} // pod service -> mapping of carried keys
	var order []string
	for _, f := range files {
		dict, err := toDict(f)
		if err != nil {
			return nil, err
		}
		c := &checkedFile{file: f, dict: dict, version: schema.Version(dict)}
		for name, keys := range c.exemptPodKeys(opts) {
			m := kept[name]
			if m == nil {
				m = yamlx.Map()
				kept[name] = m
				order = append(order, name)
			}
			svc := yamlx.Get(yamlx.Get(f.Root, "services"), name)
			sort.Strings(keys)
			for _, k := range keys {
				yamlx.Set(m, k, yamlx.Copy(yamlx.Get(svc, k)))
			}
		}
		details.ConfigFiles = append(details.ConfigFiles, composetypes.ConfigFile{Filename: f.Name, Config: dict})
	}
	cfg, err := func() (cfg *composetypes.Config, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("docker's loader fails on these files: %v", r)
			}
		}()
		return loader.Load(details, func(o *loader.Options) { o.SkipInterpolation, o.SkipValidation = true, true })
	}()
	if err != nil {
		return nil, &diag.Error{File: files[len(files)-1].Name, Msg: err.Error()}
	}
	if same, err := sameMeaning(cfg, ours, files[0], opts); err == nil && same {
		return ours, nil
	}
	var buf strings.Builder
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return nil, &diag.Error{Msg: "merging the files", Err: err}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(buf.String()), &doc); err != nil {
		return nil, &diag.Error{Msg: "merging the files", Err: err}
	}
	root := yamlx.Body(&doc)
	fitVersion(root)
	services := yamlx.Get(root, "services")
	for _, name := range order {
		svc := yamlx.Get(services, name)
		if svc == nil || svc.Kind != yaml.MappingNode {
			continue
		}
		for _, p := range yamlx.Pairs(kept[name]) {
			yamlx.Set(svc, p.Key.Value, p.Value)
		}
	}
	return root, nil
}

// sameMeaning reports whether docker's loader reads root (as a file in
// like's folder) as cfg.
func sameMeaning(cfg *composetypes.Config, root *yaml.Node, like *load.File, opts Options) (bool, error) {
	f := *like
	f.Root = root
	dict, err := toDict(&f)
	if err != nil {
		return false, err
	}
	c := &checkedFile{file: &f, dict: dict, version: schema.Version(dict)}
	c.exemptPodKeys(opts)
	theirs, err := loadDict(dict, &f, opts)
	if err != nil {
		return false, err
	}
	// One file is loaded in map order; docker's merge sorts by name.
	for _, c := range []*composetypes.Config{cfg, theirs} {
		sort.Slice(c.Services, func(i, j int) bool { return c.Services[i].Name < c.Services[j].Name })
	}
	a, err := json.Marshal(cfg)
	if err != nil {
		return false, err
	}
	b, err := json.Marshal(theirs)
	if err != nil {
		return false, err
	}
	// Extension fields are not in the JSON form.
	return string(a) == string(b) && reflect.DeepEqual(cfg.Extras, theirs.Extras) && sameServiceExtras(cfg, theirs), nil
}

func sameServiceExtras(a, b *composetypes.Config) bool {
	if len(a.Services) != len(b.Services) {
		return false
	}
	for i := range a.Services {
		if !reflect.DeepEqual(a.Services[i].Extras, b.Services[i].Extras) {
			return false
		}
	}
	return true
}
