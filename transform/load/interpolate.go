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
// left alone, as Compose does, and so is the text of inline templates
// (see eachValue).
func Interpolate(f *File, env map[string]string, warn func(string)) error {
	missing := map[string]bool{}
	lookup := func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
	var err error
	eachValue(f.Root, func(n *yaml.Node, service string) bool {
		for _, name := range plainVariables(n.Value) {
			if _, ok := env[name]; !ok {
				missing[name] = true
			}
		}
		out, serr := template.SubstituteWithOptions(n.Value, lookup, template.WithoutLogging)
		if serr != nil {
			err = diag.Service(substituteError(f, n, serr), service)
			return false
		}
		setValue(n, out)
		return true
	})
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
	eachValue(c, func(n *yaml.Node, _ string) bool {
		if out, err := template.SubstituteWithOptions(n.Value, lookup, template.WithoutLogging); err == nil {
			setValue(n, out)
		}
		return true
	})
	return c
}

// setValue sets a scalar's substituted text. A plain scalar is re-typed by
// its new text, as Compose casts interpolated values (replicas: ${N} is a
// number).
func setValue(n *yaml.Node, out string) {
	if out == n.Value {
		return
	}
	n.Value = out
	if n.Style == 0 || n.Style == yaml.TaggedStyle {
		n.Tag = ""
	}
}

// eachValue calls fn on every scalar value holding a $, with the service
// it belongs to, until fn returns false. It follows Content only, never an
// alias to its anchor, so each node is visited once. The text of inline
// templates (inline: under x-podlike or x-jobs) is skipped: a template's
// $variables are Go template variables, and its output, like a file
// template's, is literal text.
func eachValue(root *yaml.Node, fn func(n *yaml.Node, service string) bool) {
	services := yamlx.Resolve(yamlx.Get(root, "services"))
	service := ""
	stop := false
	var walk func(n *yaml.Node, inExt bool)
	walk = func(n *yaml.Node, inExt bool) {
		if n == nil || stop {
			return
		}
		switch n.Kind {
		case yaml.ScalarNode:
			if strings.Contains(n.Value, "$") && !fn(n, service) {
				stop = true
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				if n == services {
					service = k
				}
				if inExt && k == "inline" {
					continue
				}
				walk(n.Content[i+1], inExt || k == "x-podlike" || k == "x-jobs")
			}
			if n == services {
				service = ""
			}
		default:
			for _, c := range n.Content {
				walk(c, inExt)
			}
		}
	}
	walk(root, false)
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
