package load

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/docker/cli/cli/compose/template"
	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/internal/parts"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// Extension fields this tool consumes: they never reach docker stack
// deploy, and the text of their inline templates is template source.
const (
	podlikeKey = "x-podlike"
	jobsKey    = "x-jobs"
	inlineKey  = "inline"
)

// Interpolate substitutes variables in every string value of f in place,
// exactly as docker stack deploy does: docker/cli's template rules (a
// default is used literally, an empty variable gives an empty string) and
// its type casts (replicas: ${N} becomes a number; other values stay
// strings). Keys are left alone, as docker does. Every failing value is
// reported (a diag.List when there are several).
//
// The text of inline templates in the consumed extension fields is never
// interpolated, however it is reached: aliases and merge keys inside those
// fields are expanded first, so a template anchored in a kept field (say
// x-templates: &t {inline: ...}) is template source where it is used and a
// stack value, interpolated as docker would, where it is defined.
// Aliases elsewhere whose targets hold variables are expanded too, so each
// use is interpolated (and cast) for its own place, as docker does.
func Interpolate(f *File, env map[string]string, warn func(string)) error {
	if f.Anchors && !cyclic(f.Root) {
		// (An alias cycle is reported by validation; it cannot be copied.)
		unshare(f.Root)
	}
	lookup := func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
	// found is what interpolating (part of) the file finds: the problems,
	// in document order, and the variables that are not set.
	type found struct {
		errs    diag.List
		missing map[string]bool
	}
	visit := func(into *found) valueFunc {
		return func(n *yaml.Node, path []string, service string) {
			for _, name := range plainVariables(n.Value) {
				if _, ok := env[name]; !ok {
					if into.missing == nil {
						into.missing = map[string]bool{}
					}
					into.missing[name] = true
				}
			}
			if err := substitute(n, path, lookup); err != nil {
				into.errs.Add(diag.Service(f.Pos(n).Errorf("%s", err.Error()), service))
			}
		}
	}
	var all found
	eachValue(f.Root, visit(&all), func() (valueFunc, func()) {
		part := &found{}
		return visit(part), func() {
			for _, e := range part.errs {
				all.errs.Add(e)
			}
			for name := range part.missing {
				if all.missing == nil {
					all.missing = map[string]bool{}
				}
				all.missing[name] = true
			}
		}
	})
	errs, missing := all.errs, all.missing
	if err := errs.Err(); err != nil {
		return err
	}
	if warn != nil && len(missing) > 0 {
		names := make([]string, 0, len(missing))
		for n := range missing {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			warn("the " + n + " variable is not set; defaulting to a blank string (" + displayName(f.Name) + ")")
		}
	}
	return nil
}

// substitute interpolates one string scalar the way docker/cli's
// interpolation.recursiveInterpolate does: a value that does not change
// keeps its type; a changed one is cast where docker casts that path, and
// is a string everywhere else.
func substitute(n *yaml.Node, path []string, lookup template.Mapping) error {
	out, err := template.Substitute(n.Value, lookup)
	if err != nil {
		var inv *template.InvalidTemplateError
		if errors.As(err, &inv) {
			return fmt.Errorf("invalid interpolation format for %s: %#v; you may need to escape any $ with another $", strings.Join(path, "."), inv.Template)
		}
		return errors.New("error while interpolating " + strings.Join(path, ".") + ": " + err.Error())
	}
	if out == n.Value {
		return nil
	}
	cast := casterFor(path)
	if cast == nil {
		setString(n, out)
		return nil
	}
	tag, text, err := cast(out)
	if err != nil {
		return errors.New("error while interpolating " + strings.Join(path, ".") + ": failed to cast to expected type: " + err.Error())
	}
	n.Value, n.Tag, n.Style = text, tag, 0
	return nil
}

// setString makes n the string out; the writers quote it where the plain
// text would read back as another type (an empty string, "3", "true").
func setString(n *yaml.Node, out string) {
	n.Value = out
	n.Tag = "!!str"
	n.Style &^= yaml.TaggedStyle
}

// caster turns a substituted value into the typed scalar docker's cast
// gives: its tag and canonical text.
type caster func(string) (tag, text string, err error)

func toInt(s string) (string, string, error) {
	i, err := strconv.Atoi(s)
	if err != nil {
		return "", "", err
	}
	return "!!int", strconv.Itoa(i), nil
}

func toFloat(s string) (string, string, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return "", "", err
	}
	switch {
	case math.IsNaN(f):
		return "!!float", ".nan", nil
	case math.IsInf(f, 1):
		return "!!float", ".inf", nil
	case math.IsInf(f, -1):
		return "!!float", "-.inf", nil
	}
	text := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(text, ".eEn") {
		text += ".0"
	}
	return "!!float", text, nil
}

// toBoolean matches http://yaml.org/type/bool.html, as docker's does.
func toBoolean(s string) (string, string, error) {
	switch strings.ToLower(s) {
	case "y", "yes", "true", "on":
		return "!!bool", "true", nil
	case "n", "no", "false", "off":
		return "!!bool", "false", nil
	}
	return "", "", errors.New("invalid boolean: " + s)
}

// castPaths is docker/cli's interpolateTypeCastMapping
// (cli/compose/loader/interpolate.go): "*" matches any key, "[]" a list
// item.
// Built on first use: only values holding a $ need them.
var castPaths = sync.OnceValue(func() []castPath {
	return []castPath{
		{svc("configs", "[]", "mode"), toInt},
		{svc("secrets", "[]", "mode"), toInt},
		{svc("healthcheck", "retries"), toInt},
		{svc("healthcheck", "disable"), toBoolean},
		{svc("deploy", "replicas"), toInt},
		{svc("deploy", "update_config", "parallelism"), toInt},
		{svc("deploy", "update_config", "max_failure_ratio"), toFloat},
		{svc("deploy", "rollback_config", "parallelism"), toInt},
		{svc("deploy", "rollback_config", "max_failure_ratio"), toFloat},
		{svc("deploy", "restart_policy", "max_attempts"), toInt},
		{svc("deploy", "placement", "max_replicas_per_node"), toInt},
		{svc("ports", "[]", "target"), toInt},
		{svc("ports", "[]", "published"), toInt},
		{svc("ulimits", "*"), toInt},
		{svc("ulimits", "*", "hard"), toInt},
		{svc("ulimits", "*", "soft"), toInt},
		{svc("privileged"), toBoolean},
		{svc("oom_score_adj"), toInt},
		{svc("read_only"), toBoolean},
		{svc("stdin_open"), toBoolean},
		{svc("tty"), toBoolean},
		{svc("volumes", "[]", "read_only"), toBoolean},
		{svc("volumes", "[]", "volume", "nocopy"), toBoolean},
		{[]string{"networks", "*", "external"}, toBoolean},
		{[]string{"networks", "*", "internal"}, toBoolean},
		{[]string{"networks", "*", "attachable"}, toBoolean},
		{[]string{"volumes", "*", "external"}, toBoolean},
		{[]string{"secrets", "*", "external"}, toBoolean},
		{[]string{"configs", "*", "external"}, toBoolean},
	}
})

type castPath struct {
	path []string
	cast caster
}

func svc(parts ...string) []string { return append([]string{"services", "*"}, parts...) }

// casterFor returns the cast docker applies at path, or nil. Like docker,
// it compares the dotted path split at every ".", so a key holding a dot
// (a service named "web.v2") matches no cast.
func casterFor(path []string) caster {
	if len(path) < 3 || (path[0] != "services" && path[0] != "networks" && path[0] != "volumes" && path[0] != "secrets" && path[0] != "configs") {
		return nil
	}
	parts := path
	for _, p := range path {
		if strings.Contains(p, ".") {
			parts = strings.Split(strings.Join(path, "."), ".")
			break
		}
	}
	for _, c := range castPaths() {
		if matchPath(parts, c.path) {
			return c.cast
		}
	}
	return nil
}

func matchPath(parts, pattern []string) bool {
	if len(parts) != len(pattern) {
		return false
	}
	for i, p := range pattern {
		if p != "*" && p != parts[i] {
			return false
		}
	}
	return true
}

// Lenient returns a copy of root with variables substituted where they can
// be, leaving a value as it is when its substitution fails. With
// --no-interpolate the output keeps ${VAR} for the deploy, but templates'
// typed view (.Service) still needs values compose-go can read.
func Lenient(root *yaml.Node, env map[string]string) *yaml.Node {
	c := yamlx.Copy(root)
	lookup := func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
	fn := func(n *yaml.Node, path []string, _ string) { _ = substitute(n, path, lookup) }
	eachValue(c, fn, func() (valueFunc, func()) { return fn, func() {} })
	return c
}

// consumed reports whether the key at depth (0 top level, 2 in a service)
// of a path starting with first is one of the extension fields this tool
// consumes.
func consumed(path []string, key string) bool {
	if key != podlikeKey && key != jobsKey {
		return false
	}
	return len(path) == 0 || (len(path) == 2 && path[0] == "services")
}

// unshare expands aliases inside the consumed extension fields, so their
// template text is theirs alone, and aliases elsewhere whose targets hold
// a $, so each use is interpolated for its own place.
func unshare(root *yaml.Node) {
	var walk func(n *yaml.Node, path []string, inExt bool)
	walk = func(n *yaml.Node, path []string, inExt bool) {
		for i, c := range n.Content {
			if c.Kind == yaml.AliasNode && (inExt || holdsDollar(c.Alias, map[*yaml.Node]bool{})) {
				cp := yamlx.Copy(c.Alias)
				cp.HeadComment, cp.LineComment, cp.FootComment = c.HeadComment, c.LineComment, c.FootComment
				n.Content[i] = cp
				c = cp
			}
			sub, ext := path, inExt
			if n.Kind == yaml.MappingNode {
				if i%2 == 0 {
					continue // keys are never interpolated
				}
				key := n.Content[i-1].Value
				sub = append(path[:len(path):len(path)], key)
				ext = inExt || consumed(path, key)
			}
			walk(c, sub, ext)
		}
	}
	walk(root, nil, false)
}

// cyclic reports whether an anchor's value holds an alias to itself.
func cyclic(root *yaml.Node) bool {
	state := map[*yaml.Node]int{} // 1 visiting, 2 done
	var walk func(n *yaml.Node) bool
	walk = func(n *yaml.Node) bool {
		if n.Kind == yaml.AliasNode {
			return state[n.Alias] == 1 || walk(n.Alias)
		}
		if state[n] != 0 {
			return false
		}
		state[n] = 1
		for _, c := range n.Content {
			if walk(c) {
				return true
			}
		}
		state[n] = 2
		return false
	}
	return walk(root)
}

// holdsDollar reports whether a value below n holds a $.
func holdsDollar(n *yaml.Node, seen map[*yaml.Node]bool) bool {
	n = yamlx.Resolve(n)
	if n == nil || seen[n] {
		return false
	}
	seen[n] = true
	if n.Kind == yaml.ScalarNode {
		return strings.Contains(n.Value, "$")
	}
	for i, c := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 0 {
			continue
		}
		if holdsDollar(c, seen) {
			return true
		}
	}
	return false
}

// valueFunc receives a string scalar value holding a $, its path in
// docker's form (keys, "[]" for list items; valid during the call only)
// and the service it belongs to.
type valueFunc func(n *yaml.Node, path []string, service string)

// eachValue calls fn on every string scalar value holding a $, in
// document order. It follows Content only, never an alias to its anchor,
// so each node is visited once. The text of inline templates (inline: in
// x-podlike or x-jobs) is skipped.
//
// With fork, the services of a large stack are walked in parts
// concurrently: fork returns the function for one part and the join that
// adds what the part found to what fn collects, called in document order
// once the parts are done. Services' subtrees are disjoint (aliases are not
// followed), so a part may change its own values.
func eachValue(root *yaml.Node, fn valueFunc, fork func() (valueFunc, func())) {
	w := valueWalk{fn: fn, fork: fork}
	w.walk(root, false)
}

type valueWalk struct {
	fn   valueFunc
	fork func() (valueFunc, func())
	// path is the walked node's path: one stack for the whole walk (a
	// fresh slice for every entry cost an allocation a node).
	path []string
}

func (w *valueWalk) walk(n *yaml.Node, inExt bool) {
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if strings.Contains(n.Value, "$") && n.ShortTag() == "!!str" {
			service := ""
			if len(w.path) > 1 && w.path[0] == "services" {
				service = w.path[1]
			}
			w.fn(n, w.path, service)
		}
	case yaml.MappingNode:
		if w.fork != nil && len(w.path) == 1 && w.path[0] == "services" && !inExt {
			if split := parts.Of(len(n.Content) / 2); split.Count > 1 {
				w.inParts(n, split)
				return
			}
		}
		w.entries(n, 0, len(n.Content), inExt)
	case yaml.SequenceNode:
		w.path = append(w.path, "[]")
		for _, c := range n.Content {
			w.walk(c, inExt)
		}
		w.path = w.path[:len(w.path)-1]
	}
}

// entries walks the values of mapping n's entries from Content index lo to
// hi.
func (w *valueWalk) entries(n *yaml.Node, lo, hi int, inExt bool) {
	for i := lo; i+1 < hi; i += 2 {
		k := n.Content[i].Value
		if inExt && k == inlineKey {
			continue
		}
		if yamlx.IsMergeKey(n.Content[i]) {
			// Merged keys are the mapping's own keys to docker.
			v := n.Content[i+1]
			if v.Kind == yaml.SequenceNode {
				for _, c := range v.Content {
					w.walk(c, inExt)
				}
			} else {
				w.walk(v, inExt)
			}
			continue
		}
		ext := inExt || consumed(w.path, k)
		w.path = append(w.path, k)
		w.walk(n.Content[i+1], ext)
		w.path = w.path[:len(w.path)-1]
	}
}

// inParts walks the entries of the services mapping n in split's ranges
// at once, each with a function of its own, and joins them in order.
func (w *valueWalk) inParts(n *yaml.Node, split parts.Split) {
	fns := make([]valueFunc, split.Count)
	joins := make([]func(), split.Count)
	for i := range fns {
		fns[i], joins[i] = w.fork()
	}
	path := w.path // (the closure takes no w: w stays on the stack)
	split.Run(func(i, lo, hi int) error {
		part := &valueWalk{fn: fns[i], path: append([]string(nil), path...)}
		part.entries(n, 2*lo, 2*hi, false)
		return nil
	})
	for _, join := range joins {
		join()
	}
}

// reference is docker/cli's template pattern (cli/compose/template).
// (Compiled on first use: only values holding a $ need it.)
var reference = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\$(?i:(?P<escaped>\$)|(?P<named>[_a-z][_a-z0-9]*(?::?[-?][^}]*)?)|{(?P<braced>[_a-z][_a-z0-9]*(?::?[-?][^}]*)?)}|(?P<invalid>))`)
})

// plainVariables returns the variables s names without a default or a
// required marker, which become blank when unset.
func plainVariables(s string) []string {
	var names []string
	for _, m := range reference().FindAllStringSubmatch(s, -1) {
		if name := m[2] + m[3]; name != "" && !strings.ContainsAny(name, "-?") {
			names = append(names, name)
		}
	}
	return names
}

func displayName(name string) string {
	if name == "-" {
		return "<stdin>"
	}
	return name
}
