// Package templates is podtemplate's built-in template library: the
// templates a stack names as builtin:NAME, embedded in the binary.
//
// Each template is a file NAME.yml in this folder. It starts with a Go
// template comment holding its metadata as YAML, which the renderer ignores
// and this package parses (the single source of truth for `templates ls`):
//
//	{{- /*
//	kind: templates
//	summary: One line on what it makes.
//	args:
//	  - name: AppPort
//	    default: "8080"
//	    description: What it does.
//	  - name: Database
//	    required: true
//	    description: ...
//	example: |
//	  a stack snippet using it
//	*/ -}}
package templates

import (
	"embed"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

//go:embed *.yml
var files embed.FS

// Prefix is how a stack file names a built-in template: builtin:NAME.
const Prefix = "builtin:"

// Kinds a template can have: where in x-podlike or x-jobs it belongs.
const (
	KindPod         = "pod"
	KindTransformer = "transformer"
	KindTemplates   = "templates"
	KindInit        = "init"
	KindCopy        = "copy"
	KindJob         = "job"
)

// Info describes one built-in template.
type Info struct {
	Name    string // as in builtin:NAME
	Kind    string // pod, transformer, templates, init, copy or job
	Summary string // one line
	Args    []Arg  // in the order the template documents them
	Example string // a stack snippet using the template
}

// Arg documents one argument a template reads from .Args.
type Arg struct {
	Name        string
	Default     string // human-readable; "" when there is none
	Description string
	Required    bool
}

type metadata struct {
	Kind    string `yaml:"kind"`
	Summary string `yaml:"summary"`
	Args    []struct {
		Name        string `yaml:"name"`
		Default     string `yaml:"default"`
		Description string `yaml:"description"`
		Required    bool   `yaml:"required"`
	} `yaml:"args"`
	Example string `yaml:"example"`
}

var (
	loadOnce sync.Once
	infos    []Info
	loadErr  error
)

func load() ([]Info, error) {
	loadOnce.Do(func() {
		names, err := files.ReadDir(".")
		if err != nil {
			loadErr = err
			return
		}
		var errs []string
		for _, e := range names {
			name := strings.TrimSuffix(e.Name(), path.Ext(e.Name()))
			text, _ := files.ReadFile(e.Name())
			info, err := parseInfo(name, text)
			if err != nil {
				errs = append(errs, err.Error())
				info = Info{Name: name, Summary: "(invalid metadata: " + err.Error() + ")"}
			}
			infos = append(infos, info)
		}
		sort.Slice(infos, func(i, j int) bool { return infos[i].Name < infos[j].Name })
		if errs != nil {
			loadErr = fmt.Errorf("%s", strings.Join(errs, "; "))
		}
	})
	return infos, loadErr
}

// parseInfo reads the metadata comment at the top of a template.
func parseInfo(name string, text []byte) (Info, error) {
	block, err := metadataBlock(text)
	if err != nil {
		return Info{}, fmt.Errorf("builtin:%s: %w", name, err)
	}
	var m metadata
	dec := yaml.NewDecoder(strings.NewReader(block))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return Info{}, fmt.Errorf("builtin:%s: metadata: %w", name, err)
	}
	switch m.Kind {
	case KindPod, KindTransformer, KindTemplates, KindInit, KindCopy, KindJob:
	default:
		return Info{}, fmt.Errorf("builtin:%s: metadata: unknown kind %q", name, m.Kind)
	}
	if strings.TrimSpace(m.Summary) == "" {
		return Info{}, fmt.Errorf("builtin:%s: metadata: no summary", name)
	}
	info := Info{Name: name, Kind: m.Kind, Summary: strings.TrimSpace(m.Summary), Example: m.Example}
	for _, a := range m.Args {
		if a.Name == "" {
			return Info{}, fmt.Errorf("builtin:%s: metadata: an arg has no name", name)
		}
		info.Args = append(info.Args, Arg{Name: a.Name, Default: a.Default, Description: strings.TrimSpace(a.Description), Required: a.Required})
	}
	return info, nil
}

// metadataBlock returns the YAML text inside the leading {{/* ... */}} (or
// {{- /* ... */ -}}) comment of a template.
func metadataBlock(text []byte) (string, error) {
	s := strings.TrimLeft(string(text), " \t\r\n")
	var rest string
	switch {
	case strings.HasPrefix(s, "{{- /*"):
		rest = s[len("{{- /*"):]
	case strings.HasPrefix(s, "{{/*"):
		rest = s[len("{{/*"):]
	default:
		return "", fmt.Errorf("no leading {{/* metadata */}} comment")
	}
	end := strings.Index(rest, "*/")
	if end < 0 {
		return "", fmt.Errorf("unterminated metadata comment")
	}
	return rest[:end], nil
}

// List returns every built-in template, sorted by name.
func List() []Info {
	l, _ := load()
	out := make([]Info, len(l))
	for i, info := range l {
		info.Args = append([]Arg(nil), info.Args...)
		out[i] = info
	}
	return out
}

// Lookup returns the description of the built-in template name (with or
// without the "builtin:" prefix).
func Lookup(name string) (Info, bool) {
	name = strings.TrimPrefix(name, Prefix)
	for _, info := range List() {
		if info.Name == name {
			return info, true
		}
	}
	return Info{}, false
}

// Get returns the text of the built-in template name (with or without the
// "builtin:" prefix), metadata comment included.
func Get(name string) ([]byte, bool) {
	name = strings.TrimPrefix(name, Prefix)
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return nil, false
	}
	b, err := files.ReadFile(name + ".yml")
	if err != nil {
		return nil, false
	}
	return b, true
}
