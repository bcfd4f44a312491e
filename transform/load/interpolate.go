package load

import (
	"errors"
	"github.com/podtemplate/podtemplate/transform/diag"
	"regexp"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/template"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// Interpolate substitutes ${VAR}, ${VAR:-default}, ${VAR:?err} and $$ in
// every scalar value of f, as docker stack config does, in place. Keys are
// left alone, as Compose does.
func Interpolate(f *File, env map[string]string, warn func(string)) error {
	missing := map[string]bool{}
	lookup := func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
	// The walk follows Content only, never an alias to its anchor, so it
	// visits (and substitutes) each node once.
	services := yamlx.Resolve(yamlx.Get(f.Root, "services"))
	var err error
	service := ""
	var walk func(n *yaml.Node, isKey bool)
	walk = func(n *yaml.Node, isKey bool) {
		if n == nil || err != nil {
			return
		}
		switch n.Kind {
		case yaml.ScalarNode:
			if isKey || !strings.Contains(n.Value, "$") {
				return
			}
			for _, name := range plainVariables(n.Value) {
				if _, ok := env[name]; !ok {
					missing[name] = true
				}
			}
			out, serr := template.SubstituteWithOptions(n.Value, lookup, template.WithoutLogging)
			if serr != nil {
				err = diag.Service(substituteError(f, n, serr), service)
				return
			}
			if out != n.Value {
				n.Value = out
				// A plain scalar is re-typed by its new text, as Compose
				// casts interpolated values (replicas: ${N} is a number).
				if n.Style == 0 || n.Style == yaml.TaggedStyle {
					n.Tag = ""
				}
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n == services {
					service = n.Content[i].Value
				}
				walk(n.Content[i], true)
				walk(n.Content[i+1], false)
			}
			if n == services {
				service = ""
			}
		default:
			for _, c := range n.Content {
				walk(c, false)
			}
		}
	}
	walk(f.Root, false)
	if err != nil {
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
	var walk func(n *yaml.Node, isKey bool)
	walk = func(n *yaml.Node, isKey bool) {
		switch n.Kind {
		case yaml.ScalarNode:
			if isKey || !strings.Contains(n.Value, "$") {
				return
			}
			if out, err := template.SubstituteWithOptions(n.Value, lookup, template.WithoutLogging); err == nil && out != n.Value {
				n.Value = out
				if n.Style == 0 || n.Style == yaml.TaggedStyle {
					n.Tag = ""
				}
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i], true)
				walk(n.Content[i+1], false)
			}
		default:
			for _, c := range n.Content {
				walk(c, false)
			}
		}
	}
	walk(c, false)
	return c
}

// plainRef matches $VAR and ${VAR}: the references without a default or
// a required marker, which become blank when VAR is unset.
var plainRef = regexp.MustCompile(`\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))`)

func plainVariables(s string) []string {
	s = strings.ReplaceAll(s, "$$", "")
	var names []string
	for _, m := range plainRef.FindAllStringSubmatch(s, -1) {
		names = append(names, m[1]+m[2])
	}
	return names
}

func substituteError(f *File, n *yaml.Node, err error) error {
	var req *template.MissingRequiredError
	var reqv template.MissingRequiredError
	var inv *template.InvalidTemplateError
	var invv template.InvalidTemplateError
	switch {
	case errors.As(err, &req):
		return f.Pos(n).Errorf("%s", req.Error())
	case errors.As(err, &reqv):
		return f.Pos(n).Errorf("%s", reqv.Error())
	case errors.As(err, &inv), errors.As(err, &invv):
		return f.Pos(n).Errorf("invalid variable syntax in %q (write $$ for a literal $)", n.Value)
	}
	return f.Pos(n).Wrap(err, "interpolation failed")
}

func displayName(name string) string {
	if name == "-" {
		return "<stdin>"
	}
	return name
}
