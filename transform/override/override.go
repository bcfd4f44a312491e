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

// rule is how the values at one path merge.
type rule func(base, over *yaml.Node, path []string) *yaml.Node

// rules are the paths that do not merge by the generic rule (mappings key
// by key, sequences appended without duplicates, anything else replaced),
// keyed by path with * for any one name: the rules `docker stack deploy`
// applies, as compose-go's override/merge.go spells them. (Filled by init:
// the rules refer back to the merge.)
var rules map[string]rule

func init() {
	rules = map[string]rule{
		"services.*.command":          replace,
		"services.*.entrypoint":       replace,
		"services.*.healthcheck.test": replace,

		"services.*.environment":   mergeKeyValue,
		"services.*.labels":        mergeKeyValue,
		"services.*.deploy.labels": mergeKeyValue,
		"services.*.sysctls":       mergeKeyValue,
		"services.*.annotations":   mergeKeyValue,
		"services.*.build.args":    mergeKeyValue,
		"services.*.build.labels":  mergeKeyValue,
		"networks.*.labels":        mergeKeyValue,
		"volumes.*.labels":         mergeKeyValue,
		"secrets.*.labels":         mergeKeyValue,
		"configs.*.labels":         mergeKeyValue,

		"services.*.dns":         mergeAsSequence,
		"services.*.dns_search":  mergeAsSequence,
		"services.*.dns_opt":     mergeAsSequence,
		"services.*.env_file":    mergeAsSequence,
		"services.*.extra_hosts": mergeAsSequence,
		"services.*.tmpfs":       mergeAsSequence,
		"services.*.label_file":  mergeAsSequence,

		"services.*.logging": mergeLogging,

		"services.*.networks": mergeAsMapping,
		"services.*.volumes":  mergeUnique(volumeTarget),
		"services.*.secrets":  mergeUnique(fileRefKey),
		"services.*.configs":  mergeUnique(fileRefKey),
	}
}

// ruleFor is the rule for path, nil for the generic one. Every rule is
// below a named entry of a top-level section, so the entry's name is the
// one wildcard.
func ruleFor(path []string) rule {
	if len(path) < 3 {
		return nil
	}
	return rules[path[0]+".*."+strings.Join(path[2:], ".")]
}

func mergeNode(base, over *yaml.Node, path []string) *yaml.Node {
	if base == nil {
		return over
	}
	if over == nil || yamlx.IsNull(over) {
		return base
	}
	if r := ruleFor(path); r != nil {
		return r(base, over, path)
	}
	switch {
	case base.Kind == yaml.MappingNode && over.Kind == yaml.MappingNode:
		return mergeMapping(base, over, path)
	case base.Kind == yaml.SequenceNode && over.Kind == yaml.SequenceNode:
		return appendUnique(base, over.Content)
	}
	return over
}

// mergeMapping merges mapping over into mapping base key by key.
func mergeMapping(base, over *yaml.Node, path []string) *yaml.Node {
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
}

func replace(_, over *yaml.Node, _ []string) *yaml.Node { return over }

func appendUnique(base *yaml.Node, items []*yaml.Node) *yaml.Node {
	for _, it := range items {
		dup := false
		for _, have := range base.Content {
			if yamlx.Equal(have, it) {
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
		return yamlx.KeyValueList(n)
	}
	return yamlx.Seq(n)
}

func mergeAsSequence(base, over *yaml.Node, _ []string) *yaml.Node {
	return appendUnique(asSequence(base), asSequence(over).Content)
}

func mergeAsMapping(base, over *yaml.Node, path []string) *yaml.Node {
	b, o := yamlx.KeyValueMap(base), yamlx.KeyValueMap(over)
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

// mergeLogging is docker's rule for a service's logging: with the same
// driver (or either file naming none) the options merge key by key; a
// different driver replaces the logging whole, options and all.
func mergeLogging(base, over *yaml.Node, path []string) *yaml.Node {
	if base.Kind != yaml.MappingNode || over.Kind != yaml.MappingNode {
		return over
	}
	bd, _ := yamlx.Scalar(yamlx.Get(base, "driver"))
	od, _ := yamlx.Scalar(yamlx.Get(over, "driver"))
	if bd != "" && od != "" && bd != od {
		return over
	}
	return mergeMapping(base, over, path)
}

// mergeKeyValue merges KEY=VALUE lists or mappings by key, keeping the
// base's form: an override entry replaces the base entry of the same key in
// place, new keys are appended.
func mergeKeyValue(base, over *yaml.Node, _ []string) *yaml.Node {
	if base.Kind == yaml.MappingNode {
		o := yamlx.KeyValueMap(over)
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

// volumeTarget is a mount's target path: two mounts on one target
// conflict.
func volumeTarget(n *yaml.Node) string {
	if n.Kind == yaml.MappingNode {
		s, _ := yamlx.Scalar(yamlx.Get(n, "target"))
		return s
	}
	return yamlx.ParseVolume(n.Value).Target
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
