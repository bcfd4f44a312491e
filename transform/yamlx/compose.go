package yamlx

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// The short syntaxes of Compose values that several stages read.

// Volume is a service volume written in the short syntax
// SOURCE:TARGET[:MODE], or TARGET alone (an anonymous volume).
type Volume struct {
	Source, Target, Mode string
}

// ParseVolume splits a short-syntax volume. Source is empty for TARGET
// alone; Mode keeps any further colons.
func ParseVolume(s string) Volume {
	parts := strings.SplitN(s, ":", 3)
	switch len(parts) {
	case 1:
		return Volume{Target: parts[0]}
	case 2:
		return Volume{Source: parts[0], Target: parts[1]}
	}
	return Volume{Source: parts[0], Target: parts[1], Mode: parts[2]}
}

// KeyValueMap converts a list of KEY=VALUE strings (a bare KEY maps to
// null, as in environment lists; a later KEY wins, as in docker stack
// deploy) to a mapping; items that are not scalars are left out. A
// mapping is returned as it is, nothing as an empty mapping.
func KeyValueMap(n *yaml.Node) *yaml.Node {
	n = Resolve(n)
	if n == nil || IsNull(n) {
		return Map()
	}
	if n.Kind != yaml.SequenceNode {
		return n
	}
	m := Map()
	for _, it := range n.Content {
		it = Resolve(it)
		if it.Kind != yaml.ScalarNode {
			continue
		}
		if k, v, ok := strings.Cut(it.Value, "="); ok {
			Set(m, k, Str(v))
		} else {
			Set(m, it.Value, Null())
		}
	}
	return m
}

// KeyValueList converts a mapping to a list of KEY=VALUE strings (KEY
// alone for a null value).
func KeyValueList(m *yaml.Node) *yaml.Node {
	s := Seq()
	for p := range Entries(m) {
		if IsNull(p.Value) {
			s.Content = append(s.Content, Str(p.Key.Value))
			continue
		}
		v, _ := Scalar(p.Value)
		s.Content = append(s.Content, Str(p.Key.Value+"="+v))
	}
	return s
}
