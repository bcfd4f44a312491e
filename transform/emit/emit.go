// Package emit is the last stage: it prepares the edited node tree for
// `docker stack deploy` (merge-key tags, relative paths, $ escaping) and
// writes it as YAML or JSON.
package emit

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/podtemplate/podtemplate/transform/internal/codec"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// Options says how to finish the tree.
type Options struct {
	// InDir is where the input's relative paths resolve (docker stack
	// deploy's working directory for the input); OutDir is where the
	// output will be deployed from. Paths are rewritten when they differ.
	InDir, OutDir string
	// EscapeDollars turns every $ in a value into $$: the input was
	// interpolated, so what is left is literal and must survive the
	// deploy's own interpolation.
	EscapeDollars bool
}

// finish edits the output tree root (the top-level mapping) in place:
// every service not yet finished by finishService, configs and secrets.
// It returns the scalars whose path it rebased.
func finish(root *yaml.Node, opts Options) map[*yaml.Node]bool {
	seen := map[*yaml.Node]bool{}
	skip := func(n *yaml.Node) bool { return n.Tag == encodedTag }
	clearMergeTags(root, skip)
	if rebasing(opts) {
		for svc := range yamlx.Entries(yamlx.Get(root, "services")) {
			if !skip(svc.Value) {
				rewriteService(svc.Value, opts.InDir, opts.OutDir, seen)
			}
		}
		for _, section := range []string{"configs", "secrets"} {
			for p := range yamlx.Entries(yamlx.Get(root, section)) {
				fixPath(yamlx.Get(p.Value, "file"), opts.InDir, opts.OutDir, false, seen)
			}
		}
	}
	if opts.EscapeDollars && holdsDollar(root, skip) {
		escape(root, false, map[*yaml.Node]bool{}, skip)
	}
	return seen
}

// finishService does what finish does for one service definition svc that
// is not shared with the rest of the tree (a rebuilt pod or job); rebase
// is rebasing(opts), worked out once for all services.
func finishService(svc *yaml.Node, opts Options, rebase bool) {
	clearMergeTags(svc, nil)
	if rebase {
		rewriteService(svc, opts.InDir, opts.OutDir, map[*yaml.Node]bool{})
	}
	if opts.EscapeDollars && holdsDollar(svc, nil) {
		escape(svc, false, map[*yaml.Node]bool{}, nil)
	}
}

func rebasing(opts Options) bool {
	return opts.InDir != "" && opts.OutDir != "" && filepath.Clean(opts.InDir) != filepath.Clean(opts.OutDir)
}

// clearMergeTags drops the !!merge tag of << keys, else yaml.v3 writes
// "!!merge <<".
func clearMergeTags(root *yaml.Node, skip func(*yaml.Node) bool) {
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil || (skip != nil && skip(n)) {
			return
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == yamlx.MergeKey && k.Tag == "!!merge" {
					k.Tag = ""
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root)
}

// holdsDollar reports whether a scalar under n holds a $: most services have
// none, and escape's record of the nodes it escaped (shared ones must be
// escaped once) costs a map entry a node.
func holdsDollar(n *yaml.Node, skip func(*yaml.Node) bool) bool {
	if n == nil || (skip != nil && skip(n)) {
		return false
	}
	if n.Kind == yaml.ScalarNode {
		return strings.Contains(n.Value, "$")
	}
	for _, c := range n.Content {
		if holdsDollar(c, skip) {
			return true
		}
	}
	return false
}

func escape(n *yaml.Node, isKey bool, seen map[*yaml.Node]bool, skip func(*yaml.Node) bool) {
	if n == nil || seen[n] || (skip != nil && skip(n)) {
		return
	}
	seen[n] = true
	switch n.Kind {
	case yaml.ScalarNode:
		if !isKey && strings.Contains(n.Value, "$") {
			n.Value = strings.ReplaceAll(n.Value, "$", "$$")
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			escape(n.Content[i], true, seen, skip)
			escape(n.Content[i+1], false, seen, skip)
		}
	default:
		for _, c := range n.Content {
			escape(c, false, seen, skip)
		}
	}
}

func fixPath(n *yaml.Node, in, out string, bind bool, seen map[*yaml.Node]bool) {
	n = yamlx.Resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || seen[n] {
		return
	}
	if p, ok := rebase(n.Value, in, out, bind); ok {
		n.Value = p
		seen[n] = true
	}
}

// rewriteService keeps a service's bind-mount sources and env_file pointing
// at the same files from out.
func rewriteService(svc *yaml.Node, in, out string, seen map[*yaml.Node]bool) {
	for _, v := range seqItems(yamlx.Get(svc, "volumes")) {
		switch v.Kind {
		case yaml.ScalarNode:
			if seen[v] {
				continue
			}
			src := yamlx.ParseVolume(v.Value).Source
			if src == "" {
				continue
			}
			if p, ok := rebase(src, in, out, true); ok {
				v.Value = p + v.Value[len(src):]
				seen[v] = true
			}
		case yaml.MappingNode:
			if t, _ := yamlx.Scalar(yamlx.Get(v, "type")); t == "bind" {
				fixPath(yamlx.Get(v, "source"), in, out, true, seen)
			}
		}
	}
	envFile := yamlx.Get(svc, "env_file")
	if !yamlx.IsSeq(envFile) {
		fixPath(envFile, in, out, false, seen)
		return
	}
	for _, e := range seqItems(envFile) {
		if e.Kind == yaml.MappingNode {
			fixPath(yamlx.Get(e, "path"), in, out, false, seen)
		} else {
			fixPath(e, in, out, false, seen)
		}
	}
}

func seqItems(n *yaml.Node) []*yaml.Node {
	n = yamlx.Resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = yamlx.Resolve(c)
	}
	return out
}

// rebase rewrites relative path p from in to out. A bind source must start
// with "." to be a path rather than a volume name.
func rebase(p, in, out string, bind bool) (string, bool) {
	if p == "" || filepath.IsAbs(p) || strings.HasPrefix(p, "~") || strings.Contains(p, "$") {
		return "", false
	}
	if bind && !strings.HasPrefix(p, ".") {
		return "", false
	}
	rel, err := filepath.Rel(out, filepath.Join(in, p))
	if err != nil {
		return filepath.Join(in, p), true
	}
	if !strings.HasPrefix(rel, ".") || rel == "." {
		rel = "./" + rel
	}
	if rel == "./." {
		rel = "."
	}
	if strings.HasSuffix(p, "/") && !strings.HasSuffix(rel, "/") {
		rel += "/"
	}
	return rel, true
}

// Format is an output format.
type Format string

// Formats.
const (
	YAML Format = "yaml"
	JSON Format = "json"
)

// Encode writes the document as YAML (two-space indent) or JSON.
func Encode(doc *yaml.Node, format Format) ([]byte, error) {
	switch format {
	case JSON:
		b, err := codec.JSON(doc, "  ")
		if err != nil {
			return nil, err
		}
		return append(b, '\n'), nil
	case YAML, "":
		return encodeYAML(doc)
	}
	return nil, fmt.Errorf("unknown format %q; expected yaml or json", format)
}

// encodedTag marks a placeholder node whose Value is an already encoded
// "name:\n  ..." service entry (see Output.Service); it never leaves this
// package's output.
const encodedTag = "!podtemplate/encoded"

// Output writes one stack: Service finishes each rebuilt service as it is
// built (in parallel), Write the whole document at the end.
type Output struct {
	opts   Options
	rebase bool // rebasing(opts)
	format Format
	// early says rebuilt services are encoded as they are built, so their
	// nodes can be dropped: they are spliced into the input's text, or
	// the YAML writer writes services entry by entry.
	early bool
	in    *Input
	text  *text // in's text, when the output is spliced into it
	lay   layout
}

// New prepares the output of the merged top-level mapping root. With in
// (the first input file), YAML output keeps in's text wherever the
// output did not change it.
func New(root *yaml.Node, format Format, opts Options, in *Input) *Output {
	o := &Output{opts: opts, rebase: rebasing(opts), format: format, in: in, lay: layout{services: 2}}
	if format == JSON {
		return o
	}
	if t, lay, ok := spliceable(in); ok {
		o.text, o.lay, o.early = t, lay, true
		return o
	}
	o.early = encodesEntries(root)
	return o
}

// Service finishes one rebuilt service svc (not shared with the rest of
// the tree) under its key and returns the node to put in the tree in its
// place; safe for concurrent use.
func (o *Output) Service(key, svc *yaml.Node) (*yaml.Node, error) {
	if !o.early {
		return svc, nil // finished with the rest of the tree, by Write
	}
	finishService(svc, o.opts, o.rebase)
	if o.text != nil {
		// The comments above the key stay in the text.
		k := *key
		k.HeadComment, k.FootComment = "", ""
		key = &k
	}
	b := codec.GetBuffer()
	defer codec.PutBuffer(b)
	if err := codec.WriteStyled(b, yamlx.Map(key, svc), o.lay.services, o.lay.style); err != nil {
		return nil, err
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: encodedTag, Value: b.String()}, nil
}

// Write finishes the rest of the tree (root, the body of doc) and writes
// the document: spliced into the input's text where it can be, else
// encoded whole.
func (o *Output) Write(doc, root *yaml.Node) ([]byte, error) {
	out, err := o.write(doc, root)
	if err == nil && o.format != JSON && o.in != nil && o.in.BOM {
		out = append([]byte(yamlx.BOM), out...)
	}
	return out, err
}

func (o *Output) write(doc, root *yaml.Node) ([]byte, error) {
	// The splice and yaml.v3 fallbacks would drop what a malformed node
	// holds: refuse it before anything is written.
	if err := codec.Malformed(root); err != nil {
		return nil, err
	}
	rebased := finish(root, o.opts)
	if o.text != nil && len(root.Content) > 0 { // (a file of comments only would read as null)
		if out, ok := splice(o.text, o.lay, o.in, root, rebased); ok {
			return out, nil
		}
		if !encodesEntries(root) {
			if err := decodeEncoded(root); err != nil {
				return nil, err
			}
		} else if o.lay.services != 2 {
			reindent(root, o.lay.services)
		}
	}
	doc.Content[0] = root
	return Encode(doc, o.format)
}

// decodeEncoded puts the nodes of encoded services back, for an encoder
// that writes the tree whole.
func decodeEncoded(root *yaml.Node) error {
	services := yamlx.Get(root, "services")
	if services == nil {
		return nil
	}
	for i := 1; i < len(services.Content); i += 2 {
		v := services.Content[i]
		if v.Tag != encodedTag {
			continue
		}
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(v.Value), &doc); err != nil {
			return err
		}
		entry := yamlx.Body(&doc)
		if entry == nil || entry.Kind != yaml.MappingNode || len(entry.Content) != 2 {
			return fmt.Errorf("an encoded service does not read back")
		}
		services.Content[i] = entry.Content[1]
	}
	return nil
}

// reindent moves encoded services written at indent under services to
// the two spaces the encoder writes them at; their own nesting stays.
func reindent(root *yaml.Node, indent int) {
	for p := range yamlx.Entries(yamlx.Get(root, "services")) {
		if p.Value.Tag != encodedTag {
			continue
		}
		p.Value.Value = shift(p.Value.Value, 2-indent)
	}
}

// encodeYAML writes the document. yaml.v3's emitter keeps every event of a
// document in memory, which makes one Encode of a stack with thousands of
// services slow and large; so each entry of a big top-level block mapping
// (services) is encoded on its own and indented under its key. The result
// is what one Encode of the whole document writes.
func encodeYAML(doc *yaml.Node) ([]byte, error) {
	root := yamlx.Body(doc)
	if root == nil || root.Kind != yaml.MappingNode || root.Style&yaml.FlowStyle != 0 || root.Anchor != "" {
		return encodeNode(doc)
	}
	var b bytes.Buffer
	size := 4096
	yamlx.Walk(root, func(n *yaml.Node) {
		if n.Tag == encodedTag {
			size += len(n.Value)
		}
	})
	b.Grow(size)
	if doc.HeadComment != "" || root.HeadComment != "" {
		// Let yaml.v3 place document comments: encode the document with
		// its first entry only and keep everything up to that entry.
		first, err := encodeNode(&yaml.Node{Kind: yaml.DocumentNode, HeadComment: doc.HeadComment, Content: []*yaml.Node{{Kind: yaml.MappingNode, HeadComment: root.HeadComment}}})
		if err != nil {
			return nil, err
		}
		b.Write(bytes.TrimSuffix(first, []byte("{}\n")))
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if !splittable(k, v) {
			part, err := encodeNode(yamlx.Map(k, v))
			if err != nil {
				return nil, err
			}
			b.Write(part)
			continue
		}
		head, err := encodeNode(yamlx.Map(k, yamlx.Map()))
		if err != nil {
			return nil, err
		}
		b.Write(bytes.TrimSuffix(head, []byte(" {}\n")))
		b.WriteByte('\n')
		for j := 0; j+1 < len(v.Content); j += 2 {
			if e := v.Content[j+1]; e.Tag == encodedTag {
				b.WriteString(e.Value) // indented already
				continue
			}
			part, err := encodeNode(yamlx.Map(v.Content[j], v.Content[j+1]))
			if err != nil {
				return nil, err
			}
			for _, line := range bytes.SplitAfter(part, []byte("\n")) {
				if len(line) > 1 {
					b.WriteString("  ")
				}
				b.Write(line)
			}
		}
	}
	for _, c := range []string{root.FootComment, doc.FootComment} {
		if c != "" {
			b.WriteString("\n" + c + "\n")
		}
	}
	return b.Bytes(), nil
}

// encodesEntries reports whether Encode writes root's services entry by
// entry, so that encoded placeholders may stand in for services.
func encodesEntries(root *yaml.Node) bool {
	if root == nil || root.Kind != yaml.MappingNode || root.Style&yaml.FlowStyle != 0 || root.Anchor != "" {
		return false
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "services" {
			return splittable(root.Content[i], root.Content[i+1])
		}
	}
	return false
}

// splittable reports whether a top-level entry can be written entry by
// entry: a plain block mapping with entries and no decorations.
func splittable(k, v *yaml.Node) bool {
	return v.Kind == yaml.MappingNode && len(v.Content) >= 2 && v.Style == 0 && v.Anchor == "" &&
		(v.Tag == "" || v.Tag == "!!map") && v.HeadComment == "" && v.LineComment == "" && v.FootComment == "" &&
		k.LineComment == "" && k.FootComment == "" && !bytes.Contains([]byte(k.HeadComment), []byte("\n\n"))
}

func encodeNode(n *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
