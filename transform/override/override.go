// Package override merges several Compose files into one tree, later files
// overriding earlier ones with the rules `docker stack deploy -c a -c b`
// applies (compose-go's override package is the model).
package override

import (
	"strings"

	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// Files merges the files' top-level mappings (roots, in command-line
// order) into one tree. With one file, its tree is returned as it is,
// anchors and all. With several, aliases and merge keys are expanded first:
// each file's anchors belong to that file alone.
func Files(roots []*yaml.Node) *yaml.Node {
	if len(roots) == 1 {
		return roots[0]
	}
	merged := yamlx.Flatten(roots[0])
	for _, r := range roots[1:] {
		merged = mergeNode(merged, yamlx.Flatten(r), nil)
	}
	return merged
}

// rule is how one path merges; nil means the generic rule.
type rule func(base, over *yaml.Node, path []string) *yaml.Node

func ruleFor(path []string) rule {
	n := len(path)
	if n >= 2 && path[0] == "services" {
		sub := path[2:]
		switch strings.Join(sub, ".") {
		case "command", "entrypoint", "healthcheck.test":
			return replace
		case "environment", "labels", "deploy.labels", "sysctls", "annotations", "build.args", "build.labels":
			return mergeKeyValue
		case "dns", "dns_search", "dns_opt", "env_file", "extra_hosts", "tmpfs", "label_file":
			return mergeAsSequence
		case "networks":
			return mergeAsMapping
		case "volumes":
			return mergeUnique(volumeKey)
		case "secrets", "configs":
			return mergeUnique(fileRefKey)
		}
	}
	if n == 3 && (path[0] == "networks" || path[0] == "volumes" || path[0] == "secrets" || path[0] == "configs") && path[2] == "labels" {
		return mergeKeyValue
	}
	return nil
}

func mergeNode(base, over *yaml.Node, path []string) *yaml.Node {
	if base == nil {
		return over
	}
	if over == nil || yamlx.IsNull(over) {
		return base
	}
	if r := ruleFor(path); r != nil && len(path) > 0 {
		return r(base, over, path)
	}
	switch {
	case base.Kind == yaml.MappingNode && over.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(over.Content); i += 2 {
			k, v := over.Content[i], over.Content[i+1]
			cur := yamlx.Get(base, k.Value)
			if cur == nil {
				base.Content = append(base.Content, k, v)
				continue
			}
			yamlx.Set(base, k.Value, mergeNode(cur, v, append(path[:len(path):len(path)], k.Value)))
		}
		return base
	case base.Kind == yaml.SequenceNode && over.Kind == yaml.SequenceNode:
		return appendUnique(base, over.Content)
	}
	return over
}

func replace(_, over *yaml.Node, _ []string) *yaml.Node { return over }

func appendUnique(base *yaml.Node, items []*yaml.Node) *yaml.Node {
	for _, it := range items {
		dup := false
		for _, have := range base.Content {
			if Equal(have, it) {
				dup = true
				break
			}
		}
		if !dup {
			base.Content = append(base.Content, it)
		}
	}
	return base
}

func asSequence(n *yaml.Node) *yaml.Node {
	switch n.Kind {
	case yaml.SequenceNode:
		return n
	case yaml.MappingNode:
		return KeyValueList(n)
	}
	return yamlx.Seq(n)
}

func mergeAsSequence(base, over *yaml.Node, _ []string) *yaml.Node {
	return appendUnique(asSequence(base), asSequence(over).Content)
}

func mergeAsMapping(base, over *yaml.Node, path []string) *yaml.Node {
	b, o := ListToMap(base), ListToMap(over)
	for i := 0; i+1 < len(o.Content); i += 2 {
		k, v := o.Content[i], o.Content[i+1]
		cur := yamlx.Get(b, k.Value)
		if cur == nil || yamlx.IsNull(cur) {
			yamlx.Set(b, k.Value, v)
			continue
		}
		yamlx.Set(b, k.Value, mergeNode(cur, v, append(path[:len(path):len(path)], k.Value)))
	}
	return b
}

// mergeKeyValue merges KEY=VALUE lists or mappings by key, keeping the
// base's form: an override entry replaces the base entry of the same key in
// place, new keys are appended.
func mergeKeyValue(base, over *yaml.Node, _ []string) *yaml.Node {
	if base.Kind == yaml.MappingNode {
		o := ListToMap(over)
		for i := 0; i+1 < len(o.Content); i += 2 {
			yamlx.Set(base, o.Content[i].Value, o.Content[i+1])
		}
		return base
	}
	b := asSequence(base)
	for _, it := range asSequence(over).Content {
		k, _, _ := strings.Cut(it.Value, "=")
		replaced := false
		for i, have := range b.Content {
			if hk, _, _ := strings.Cut(have.Value, "="); hk == k {
				b.Content[i] = it
				replaced = true
				break
			}
		}
		if !replaced {
			b.Content = append(b.Content, it)
		}
	}
	return b
}

func mergeUnique(key func(*yaml.Node) string) rule {
	return func(base, over *yaml.Node, _ []string) *yaml.Node {
		if base.Kind != yaml.SequenceNode || over.Kind != yaml.SequenceNode {
			return over
		}
		for _, it := range over.Content {
			k := key(it)
			replaced := false
			for i, have := range base.Content {
				if k != "" && key(have) == k {
					base.Content[i] = it
					replaced = true
					break
				}
			}
			if !replaced {
				appendUnique(base, []*yaml.Node{it})
			}
		}
		return base
	}
}

// volumeKey is a mount's target path: two mounts on one target conflict.
func volumeKey(n *yaml.Node) string {
	if n.Kind == yaml.MappingNode {
		s, _ := yamlx.Scalar(yamlx.Get(n, "target"))
		return s
	}
	parts := strings.Split(n.Value, ":")
	if len(parts) == 1 {
		return parts[0]
	}
	return parts[1]
}

// fileRefKey is the target of a secret or config reference.
func fileRefKey(n *yaml.Node) string {
	if n.Kind == yaml.MappingNode {
		if s, ok := yamlx.Scalar(yamlx.Get(n, "target")); ok {
			return s
		}
		s, _ := yamlx.Scalar(yamlx.Get(n, "source"))
		return s
	}
	return n.Value
}

// ListToMap converts a list of KEY=VALUE strings (or plain names) to a
// mapping; a mapping is returned as it is.
func ListToMap(n *yaml.Node) *yaml.Node {
	n = yamlx.Resolve(n)
	if n == nil || yamlx.IsNull(n) {
		return yamlx.Map()
	}
	if n.Kind != yaml.SequenceNode {
		return n
	}
	m := yamlx.Map()
	for _, it := range n.Content {
		it = yamlx.Resolve(it)
		if it.Kind != yaml.ScalarNode {
			continue
		}
		if k, v, ok := strings.Cut(it.Value, "="); ok {
			yamlx.Set(m, k, yamlx.Str(v))
		} else {
			yamlx.Set(m, it.Value, yamlx.Null())
		}
	}
	return m
}

// KeyValueList converts a mapping to a list of KEY=VALUE strings.
func KeyValueList(m *yaml.Node) *yaml.Node {
	s := yamlx.Seq()
	for _, p := range yamlx.Pairs(m) {
		if yamlx.IsNull(p.Value) {
			s.Content = append(s.Content, yamlx.Str(p.Key.Value))
			continue
		}
		v, _ := yamlx.Scalar(p.Value)
		s.Content = append(s.Content, yamlx.Str(p.Key.Value+"="+v))
	}
	return s
}

// Equal reports whether two nodes hold the same YAML value.
func Equal(a, b *yaml.Node) bool {
	a, b = yamlx.Resolve(a), yamlx.Resolve(b)
	if a == nil || b == nil {
		return a == b
	}
	if a.Kind != b.Kind {
		return false
	}
	if a.Kind == yaml.ScalarNode {
		return a.Value == b.Value && a.ShortTag() == b.ShortTag()
	}
	if len(a.Content) != len(b.Content) {
		return false
	}
	for i := range a.Content {
		if !Equal(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}
