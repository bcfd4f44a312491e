package validation

import (
	"strconv"
	"strings"

	"github.com/podtemplate/podtemplate/transform/validation/internal/fastschema"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// fitVersion rewrites docker's merged files (root, as Merge encodes them)
// into the forms the files' declared version accepts. Docker's loader
// names every external network, volume, secret and config (name: KEY, or
// the name the deprecated external.name gave) and turns every port and
// service volume into long syntax; a version whose schema has no `name`
// there (volumes before 3.4, the others before 3.5) or no long syntax
// (before 3.2) rejects the encoded file, so each goes back to the form
// the version has for the same meaning. Docker's merge also appends
// lists whole, so an item both files give is there twice, in lists whose
// items the schema wants distinct (cap_add, dns, ...): those keep one.
func fitVersion(root *yaml.Node) {
	version, _ := yamlx.Scalar(yamlx.Get(root, "version"))
	dedupe(yamlx.Get(root, "services"), []string{"services"}, version)
	for _, kind := range []string{"networks", "volumes", "secrets", "configs"} {
		if accepts(version, map[string]any{kind: map[string]any{"r": map[string]any{"name": "r"}}}) {
			continue
		}
		for _, p := range yamlx.Pairs(yamlx.Get(root, kind)) {
			def := yamlx.Resolve(p.Value)
			name, ok := yamlx.Scalar(yamlx.Get(def, "name"))
			if !ok || !isTrue(yamlx.Get(def, "external")) {
				continue
			}
			yamlx.Delete(def, "name")
			if name != p.Key.Value {
				yamlx.Set(def, "external", yamlx.Map(yamlx.Str("name"), yamlx.Str(name)))
			}
		}
	}
	longPorts := accepts(version, map[string]any{"services": map[string]any{"s": map[string]any{"ports": []any{map[string]any{"target": 1}}}}})
	longVolumes := accepts(version, map[string]any{"services": map[string]any{"s": map[string]any{"volumes": []any{map[string]any{"type": "volume", "target": "/t"}}}}})
	if longPorts && longVolumes {
		return
	}
	for _, svc := range yamlx.Pairs(yamlx.Get(root, "services")) {
		if !longPorts {
			shorten(yamlx.Get(svc.Value, "ports"), shortPort)
		}
		if !longVolumes {
			shorten(yamlx.Get(svc.Value, "volumes"), shortVolume)
		}
	}
}

// dedupe keeps the first of equal scalar items in each list under n (at
// path) whose items the version's schema wants distinct.
func dedupe(n *yaml.Node, path []string, version string) {
	n = yamlx.Resolve(n)
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		for _, p := range yamlx.Pairs(n) {
			dedupe(p.Value, append(path[:len(path):len(path)], p.Key.Value), version)
		}
	case yaml.SequenceNode:
		if unique, ok := fastschema.UniqueItems(version, path); !ok || !unique {
			return
		}
		seen := map[string]bool{}
		kept := n.Content[:0:0]
		for _, item := range n.Content {
			s, ok := yamlx.Scalar(item)
			if ok && seen[s] {
				continue
			}
			if ok {
				seen[s] = true
			}
			kept = append(kept, item)
		}
		n.Content = kept
	}
}

// accepts reports whether version's schema accepts doc (which the
// version's schema requires to say its version).
func accepts(version string, doc map[string]any) bool {
	doc["version"] = version
	return schemaValid(doc, version)
}

func isTrue(n *yaml.Node) bool {
	s, ok := yamlx.Scalar(n)
	b, _ := strconv.ParseBool(s)
	return ok && b
}

// shorten replaces each long-syntax item of seq that short syntax can say
// by its short form.
func shorten(seq *yaml.Node, short func(map[string]string) (string, bool)) {
	seq = yamlx.Resolve(seq)
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return
	}
	for i, item := range seq.Content {
		fields, ok := flatFields(item, "")
		if !ok {
			continue
		}
		if s, ok := short(fields); ok {
			seq.Content[i] = yamlx.Str(s)
		}
	}
}

// flatFields gives a mapping's scalars by dotted path (bind.propagation).
func flatFields(n *yaml.Node, prefix string) (map[string]string, bool) {
	n = yamlx.Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, false
	}
	out := map[string]string{}
	for _, p := range yamlx.Pairs(n) {
		if v := yamlx.Resolve(p.Value); v != nil && v.Kind == yaml.MappingNode {
			sub, ok := flatFields(v, prefix+p.Key.Value+".")
			if !ok {
				return nil, false
			}
			for k, s := range sub {
				out[k] = s
			}
			continue
		}
		s, ok := yamlx.Scalar(p.Value)
		if !ok {
			return nil, false
		}
		out[prefix+p.Key.Value] = s
	}
	return out, true
}

// only reports whether fields has no key outside allowed.
func only(fields map[string]string, allowed ...string) bool {
	n := 0
	for _, k := range allowed {
		if _, ok := fields[k]; ok {
			n++
		}
	}
	return n == len(fields)
}

// shortPort is [PUBLISHED:]TARGET[/udp] for an ingress port.
func shortPort(f map[string]string) (string, bool) {
	if !only(f, "mode", "target", "published", "protocol") || f["target"] == "" ||
		(f["mode"] != "" && f["mode"] != "ingress") {
		return "", false
	}
	s := f["target"]
	if p := f["published"]; p != "" && p != "0" {
		s = p + ":" + s
	}
	if proto := f["protocol"]; proto != "" && proto != "tcp" {
		s += "/" + proto
	}
	return s, true
}

// shortVolume is [SOURCE:]TARGET[:MODES] for a volume or bind mount with
// no option but read-only, nocopy or a propagation.
func shortVolume(f map[string]string) (string, bool) {
	if !only(f, "type", "source", "target", "read_only", "volume.nocopy", "bind.propagation") || f["target"] == "" {
		return "", false
	}
	var modes []string
	switch f["type"] {
	case "volume":
		if _, ok := f["bind.propagation"]; ok {
			return "", false
		}
		if f["volume.nocopy"] == "true" {
			modes = append(modes, "nocopy")
		}
	case "bind":
		if _, ok := f["volume.nocopy"]; ok || f["source"] == "" {
			return "", false
		}
		if p := f["bind.propagation"]; p != "" {
			modes = append(modes, p)
		}
	default:
		return "", false
	}
	if f["read_only"] == "true" {
		modes = append([]string{"ro"}, modes...)
	}
	s := f["target"]
	if src := f["source"]; src != "" {
		s = src + ":" + s
	} else if len(modes) > 0 {
		return "", false // TARGET:MODE would read as SOURCE:TARGET
	}
	if len(modes) > 0 {
		s += ":" + strings.Join(modes, ",")
	}
	return s, true
}
