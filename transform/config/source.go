package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// Source kinds.
const (
	KindFile    = "file"
	KindHTTP    = "http"
	KindInline  = "inline"
	KindBuiltin = "builtin"
)

// Source is one template item: where its text comes from.
type Source struct {
	Kind     string
	Path     string // KindFile: absolute path
	Written  string // KindFile: the path as the stack wrote it, for messages
	URL      string // KindHTTP
	Text     string // KindInline: the template text; KindBuiltin: the name
	Insecure bool   // KindHTTP: skip TLS verification
	SHA256   string // KindHTTP: pinned digest, lower-case hex
	// FallbackOnMismatch lets a checksum mismatch use the fallback; by
	// default a mismatch is an error, because it may mean tampering.
	FallbackOnMismatch bool
	Fallback           *Source
	Pos                diag.Pos // where the stack names it
	Service            string   // the first service that uses it, for messages

	key, dir string // Key and Folder, where Collect computed them
}

func setService(srcs []*Source, service string) {
	for _, s := range srcs {
		for ; s != nil; s = s.Fallback {
			if s.Service == "" {
				s.Service = service
			}
		}
	}
}

// Key identifies the source's content: two items with the same key are
// loaded and parsed once.
func (s *Source) Key() string {
	if s.key != "" {
		return s.key
	}
	var k string
	switch s.Kind {
	case KindFile:
		k = "file:" + s.Path
	case KindHTTP:
		k = fmt.Sprintf("http:%s|%t|%s|%t", s.URL, s.Insecure, s.SHA256, s.FallbackOnMismatch)
	case KindInline:
		sum := sha256.Sum256([]byte(s.Text))
		k = "inline:" + hex.EncodeToString(sum[:])
	case KindBuiltin:
		k = "builtin:" + s.Text
	}
	if s.Fallback != nil {
		k += "||" + s.Fallback.Key()
	}
	return k
}

// Folder is the folder of a file source's path: relative paths in what
// it renders resolve against it.
func (s *Source) Folder() string {
	if s.dir != "" {
		return s.dir
	}
	return filepath.Dir(s.Path)
}

// Name is how messages name the source: the path, URL or built-in name, or
// "inline template at FILE:LINE".
func (s *Source) Name() string {
	switch s.Kind {
	case KindFile:
		if s.Written != "" {
			return s.Written
		}
		return s.Path
	case KindHTTP:
		return diag.RedactURL(s.URL)
	case KindBuiltin:
		return "builtin:" + s.Text
	}
	if s.Pos.Line > 0 {
		return fmt.Sprintf("inline template at %s:%d", displayName(s.Pos.File), s.Pos.Line)
	}
	return "inline template in " + displayName(s.Pos.File)
}

func displayName(f string) string {
	if f == "-" {
		return "<stdin>"
	}
	return f
}

// decodeSources reads one item or a list of items.
func decodeSources(pc pathCache, file, dir string, n *yaml.Node) ([]*Source, error) {
	n = yamlx.Resolve(n)
	if yamlx.IsNull(n) {
		return nil, nil
	}
	if n.Kind == yaml.SequenceNode {
		var out []*Source
		for _, it := range n.Content {
			s, err := decodeSource(pc, file, dir, it)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := decodeSource(pc, file, dir, n)
	if err != nil {
		return nil, err
	}
	return []*Source{s}, nil
}

func decodeSource(pc pathCache, file, dir string, n *yaml.Node) (*Source, error) {
	pos := diag.At(file, n)
	n = yamlx.Resolve(n)
	switch n.Kind {
	case yaml.ScalarNode:
		if yamlx.IsNull(n) || n.Value == "" {
			return nil, pos.Errorf("empty template item; expected a path, a URL, or file:/inline:/http:")
		}
		return fromString(pc, n.Value, dir, pos), nil
	case yaml.MappingNode:
	default:
		return nil, pos.Errorf("template item is %s; expected a path, a URL, or a mapping with file:, inline: or http:", yamlx.KindName(n))
	}
	pairs := yamlx.Pairs(n)
	if len(pairs) != 1 {
		return nil, pos.Errorf("template item needs exactly one of file:, inline: or http:")
	}
	key, val := pairs[0].Key, yamlx.Resolve(pairs[0].Value)
	kpos := diag.At(file, key)
	switch key.Value {
	case "file":
		if val.Kind == yaml.ScalarNode {
			if val.Value == "" || yamlx.IsNull(val) {
				return nil, kpos.Errorf("file: needs a path")
			}
			return pc.fileSource(dir, val.Value, nil, pos), nil
		}
		opts, err := itemOptions(pc, file, dir, val, "file", "path", map[string]bool{"path": true, "fallback": true})
		if err != nil {
			return nil, err
		}
		return pc.fileSource(dir, opts.main, opts.fallback, pos), nil
	case "http":
		if val.Kind == yaml.ScalarNode {
			if !isURL(val.Value) {
				return nil, kpos.Errorf("http: needs an http:// or https:// URL, got %q", diag.RedactURL(val.Value))
			}
			return &Source{Kind: KindHTTP, URL: val.Value, Pos: pos}, nil
		}
		opts, err := itemOptions(pc, file, dir, val, "http", "url", map[string]bool{"url": true, "fallback": true, "insecure": true, "sha256": true, "fallback_on_mismatch": true})
		if err != nil {
			return nil, err
		}
		if !isURL(opts.main) {
			return nil, kpos.Errorf("http: needs an http:// or https:// URL, got %q", diag.RedactURL(opts.main))
		}
		s := &Source{Kind: KindHTTP, URL: opts.main, Fallback: opts.fallback, Pos: pos}
		if v := yamlx.Get(val, "insecure"); v != nil {
			if err := v.Decode(&s.Insecure); err != nil {
				return nil, diag.At(file, v).Errorf("insecure: expected true or false, got %q", v.Value)
			}
		}
		if v := yamlx.Get(val, "fallback_on_mismatch"); v != nil {
			if err := v.Decode(&s.FallbackOnMismatch); err != nil {
				return nil, diag.At(file, v).Errorf("fallback_on_mismatch: expected true or false, got %q", v.Value)
			}
		}
		if v := yamlx.Get(val, "sha256"); v != nil {
			sum := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(v.Value), "sha256:"))
			if len(sum) != 64 || strings.Trim(sum, "0123456789abcdef") != "" {
				return nil, diag.At(file, v).Errorf("sha256: expected 64 hex digits, got %q", v.Value)
			}
			s.SHA256 = sum
		}
		return s, nil
	case "inline":
		switch val.Kind {
		case yaml.ScalarNode:
			return &Source{Kind: KindInline, Text: val.Value, Pos: diag.At(file, val)}, nil
		case yaml.MappingNode:
			text, err := yaml.Marshal(yamlx.Flatten(val))
			if err != nil {
				return nil, kpos.Wrap(err, "inline template")
			}
			return &Source{Kind: KindInline, Text: string(text), Pos: diag.At(file, val)}, nil
		}
		return nil, kpos.Errorf("inline: expected template text or a mapping, got %s", yamlx.KindName(val))
	}
	return nil, kpos.Errorf("unknown template item key %q; expected file, inline or http", key.Value)
}

type itemOpts struct {
	main     string
	fallback *Source
}

func itemOptions(pc pathCache, file, dir string, m *yaml.Node, kind, mainKey string, allowed map[string]bool) (itemOpts, error) {
	var o itemOpts
	if m.Kind != yaml.MappingNode {
		return o, diag.At(file, m).Errorf("%s: expected a string or a mapping, got %s", kind, yamlx.KindName(m))
	}
	for _, p := range yamlx.Pairs(m) {
		if !allowed[p.Key.Value] {
			return o, diag.At(file, p.Key).Errorf("%s: unknown key %q", kind, p.Key.Value)
		}
	}
	v, ok := yamlx.Scalar(yamlx.Get(m, mainKey))
	if !ok || v == "" {
		return o, diag.At(file, m).Errorf("%s: needs %s", kind, mainKey)
	}
	o.main = v
	if fb := yamlx.Get(m, "fallback"); fb != nil {
		s, err := decodeSource(pc, file, dir, fb)
		if err != nil {
			return o, err
		}
		o.fallback = s
	}
	return o, nil
}

func fromString(pc pathCache, v, dir string, pos diag.Pos) *Source {
	switch {
	case isURL(v):
		return &Source{Kind: KindHTTP, URL: v, Pos: pos}
	case strings.HasPrefix(v, "builtin:"):
		return &Source{Kind: KindBuiltin, Text: strings.TrimPrefix(v, "builtin:"), Pos: pos}
	}
	return pc.fileSource(dir, v, nil, pos)
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// pathCache holds the absolute path, key and folder of each template
// path a stack names, by its folder and the path as written: thousands of
// services name the same few templates, and a build asks each source for
// its key and folder once per execution.
type pathCache map[[2]string]fileRef

// fileRef is what pathCache holds for a path: Path, and the Key and
// Folder of a file source without a fallback, the path a substring of
// the key.
type fileRef struct{ path, key, dir string }

// fileSource is the file source written as p in a file in folder dir,
// with fallback, its strings those of the first source with that path.
func (pc pathCache) fileSource(dir, p string, fallback *Source, pos diag.Pos) *Source {
	k := [2]string{dir, p}
	r, ok := pc[k]
	if !ok {
		key := "file:" + absPath(dir, p)
		r = fileRef{path: key[len("file:"):], key: key}
		r.dir = filepath.Dir(r.path)
		pc[k] = r
	}
	s := &Source{Kind: KindFile, Path: r.path, Written: p, Fallback: fallback, Pos: pos, dir: r.dir}
	if fallback == nil {
		s.key = r.key
	}
	return s
}

func absPath(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}
