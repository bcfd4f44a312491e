package validation

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// shape returns a stand-in for the service svc that docker's schema and
// loader accept exactly when they accept svc: services with the same
// shape are accepted or refused together, so the fast check validates
// each shape once (a stack of 3000 near-identical services has
// a handful of shapes). Only values neither the schema nor the loader can
// refuse are replaced; everything else is kept as it is:
//
//   - image: the schema checks {"type": "string"}; the loader copies it.
//     (stack deploy's image reference check runs apart, on every service.)
//   - environment, labels, deploy.labels (list_or_dict in every 3.x
//     schema): a mapping's string values are only type-checked
//     ({"type": ["string", "number", "null"]}) and the loader turns them
//     into strings without error, so they become "". A list's strings are
//     type-checked and must be unique (uniqueItems), and the loader splits
//     them at "=" without error, so each becomes a token naming its
//     equality class: duplicates stay duplicates.
//   - ports: a string item "A" or "A:B" of decimal ports 1-65535 passes the
//     schema's "ports" format (nat.ParsePortSpec) and the loader's
//     conversion (nat.ParsePortSpecs, swarmopts.ConvertPortToPortConfig)
//     whatever the numbers, so it becomes "k:k" for its equality class k
//     (uniqueItems again).
func shape(svc map[string]any) map[string]any {
	out := make(map[string]any, len(svc))
	for k, v := range svc {
		switch k {
		case "image":
			if _, ok := v.(string); ok {
				v = ""
			}
		case "environment", "labels":
			v = listOrDict(v)
		case "deploy":
			if d, ok := v.(map[string]any); ok {
				if l, has := d["labels"]; has {
					c := make(map[string]any, len(d))
					for dk, dv := range d {
						c[dk] = dv
					}
					c["labels"] = listOrDict(l)
					v = c
				}
			}
		case "ports":
			v = ports(v)
		}
		out[k] = v
	}
	return out
}

func listOrDict(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			if _, ok := x.(string); ok {
				x = ""
			}
			m[k] = x
		}
		return m
	case []any:
		return classes(t, func(s string, class int) (string, bool) { return "v" + strconv.Itoa(class), true })
	}
	return v
}

func ports(v any) any {
	list, ok := v.([]any)
	if !ok {
		return v
	}
	return classes(list, portToken)
}

// portToken is the stand-in for a simple port string ("A" or "A:B",
// decimal ports 1-65535 without leading zeros) of equality class class.
func portToken(s string, class int) (string, bool) {
	if !simplePortSpec(s) {
		return "", false
	}
	c := strconv.Itoa(class + 1)
	return c + ":" + c, true
}

// simplePortSpec reports whether s is a simple port string portToken
// replaces.
func simplePortSpec(s string) bool {
	host, container, two := strings.Cut(s, ":")
	return simplePort(host) && (!two || simplePort(container))
}

func simplePort(s string) bool {
	if s == "" || len(s) > 5 || s[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n <= 65535
}

// classes replaces each string item that token accepts with the token of
// its equality class among the list's strings.
func classes(list []any, token func(s string, class int) (string, bool)) []any {
	out := make([]any, len(list))
	ids := map[string]int{}
	for i, x := range list {
		s, ok := x.(string)
		if !ok {
			out[i] = x
			continue
		}
		id, seen := ids[s]
		if !seen {
			id = len(ids)
			ids[s] = id
		}
		if t, ok := token(s, id); ok {
			out[i] = t
		} else {
			out[i] = s
		}
	}
	return out
}

// fingerprint is a key for the shape of the service node svc: services
// with equal fingerprints have equal shapes (it encodes the same
// abstraction from the YAML nodes, keys in their order, without building
// the values), so the fast check converts only one service per
// fingerprint.
func fingerprint(b *bytes.Buffer, svc *yaml.Node, skip func(key string) bool) {
	b.WriteByte('{')
	pairs(svc, func(k, val *yaml.Node) {
		if skip(k.Value) {
			return
		}
		writeString(b, k.Value)
		b.WriteByte(':')
		v := yamlx.Resolve(val)
		switch k.Value {
		case "image":
			if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" {
				b.WriteString("S")
				return
			}
		case "environment", "labels":
			fingerprintListOrDict(b, v)
			return
		case "deploy":
			if v.Kind == yaml.MappingNode {
				b.WriteByte('{')
				pairs(v, func(dk, dv *yaml.Node) {
					writeString(b, dk.Value)
					b.WriteByte(':')
					if dk.Value == "labels" {
						fingerprintListOrDict(b, yamlx.Resolve(dv))
					} else {
						fingerprintNode(b, dv)
					}
				})
				b.WriteByte('}')
				return
			}
		case "ports":
			if v.Kind == yaml.SequenceNode {
				fingerprintClasses(b, v, simplePortSpec)
				return
			}
		}
		fingerprintNode(b, v)
	})
	b.WriteByte('}')
}

func fingerprintListOrDict(b *bytes.Buffer, v *yaml.Node) {
	switch v.Kind {
	case yaml.MappingNode:
		b.WriteByte('{')
		pairs(v, func(k, val *yaml.Node) {
			writeString(b, k.Value)
			b.WriteByte(':')
			if x := yamlx.Resolve(val); x.Kind == yaml.ScalarNode && x.ShortTag() == "!!str" {
				b.WriteString("S")
			} else {
				fingerprintNode(b, x)
			}
		})
		b.WriteByte('}')
	case yaml.SequenceNode:
		fingerprintClasses(b, v, func(string) bool { return true })
	default:
		fingerprintNode(b, v)
	}
}

// fingerprintClasses writes a list whose string items accepts takes as
// their equality class.
func fingerprintClasses(b *bytes.Buffer, v *yaml.Node, accepts func(string) bool) {
	var seen []string // items are few: a slice beats a map
	b.WriteByte('[')
	for _, it := range v.Content {
		x := yamlx.Resolve(it)
		if x.Kind == yaml.ScalarNode && x.ShortTag() == "!!str" {
			id := -1
			for i, s := range seen {
				if s == x.Value {
					id = i
					break
				}
			}
			if id < 0 {
				id = len(seen)
				seen = append(seen, x.Value)
			}
			if accepts(x.Value) {
				b.WriteString("C" + strconv.Itoa(id) + ",")
				continue
			}
		}
		fingerprintNode(b, x)
		b.WriteByte(',')
	}
	b.WriteByte(']')
}

func fingerprintNode(b *bytes.Buffer, n *yaml.Node) {
	n = yamlx.Resolve(n)
	if n == nil {
		b.WriteString("~")
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		b.WriteByte('{')
		pairs(n, func(k, v *yaml.Node) {
			writeString(b, k.Value)
			b.WriteByte(':')
			fingerprintNode(b, v)
		})
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for _, c := range n.Content {
			fingerprintNode(b, c)
			b.WriteByte(',')
		}
		b.WriteByte(']')
	default:
		b.WriteString(n.ShortTag())
		writeString(b, n.Value)
	}
}

// pairs calls fn on the effective entries of mapping m; without merge
// keys it walks m's content without building a list.
func pairs(m *yaml.Node, fn func(k, v *yaml.Node)) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == yamlx.MergeKey {
			for _, p := range yamlx.Pairs(m) {
				fn(p.Key, p.Value)
			}
			return
		}
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		fn(m.Content[i], m.Content[i+1])
	}
}

// eachPair calls fn on the effective entries of n if it is a mapping (as
// yamlx.Pairs lists them), without building the list.
func eachPair(n *yaml.Node, fn func(k, v *yaml.Node)) {
	if n = yamlx.Resolve(n); n != nil && n.Kind == yaml.MappingNode {
		pairs(n, fn)
	}
}

// writeString writes s length-prefixed, so no text can fake structure.
func writeString(b *bytes.Buffer, s string) {
	b.WriteString(strconv.Itoa(len(s)))
	b.WriteByte('"')
	b.WriteString(s)
}
