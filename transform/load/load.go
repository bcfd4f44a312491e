// Package load is the first stage: it reads the Compose files, parses each
// into a gopkg.in/yaml.v3 node tree (kept for emitting, so the output keeps
// the user's order, quoting and comments), checks it and interpolates
// variables in place.
package load

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/podtemplate/podtemplate/internal/fileio"
	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/internal/codec"
	"github.com/podtemplate/podtemplate/transform/internal/parts"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// Options says what to load.
type Options struct {
	Files         []string          // paths; "-" reads Stdin
	Stdin         io.Reader         // used for "-"
	Env           map[string]string // variables for interpolation
	NoInterpolate bool              // leave ${VAR} for the deploy to resolve
	Cwd           string            // base for stdin and relative paths; os.Getwd when empty
}

// File is one parsed input file.
type File struct {
	Name string     // as given on the command line ("-" for stdin)
	Dir  string     // absolute folder its relative paths resolve against
	Root *yaml.Node // the top-level mapping
	Doc  *yaml.Node // the document node holding Root (and its comments)
	Text []byte     // the file's bytes, which the output keeps where it can
	// BOM says the file began with a UTF-8 byte order mark, which Text
	// (and every position in the file) leaves out; the output puts it back.
	BOM bool
	// Anchors is true when the file defines YAML anchors, so edits must
	// keep aliases valid.
	Anchors bool
}

// Pos returns the position of n in f.
func (f *File) Pos(n *yaml.Node) diag.Pos { return diag.At(f.Name, n) }

// Files reads and parses every input file, interpolating variables unless
// NoInterpolate. Missing variables are reported through warn. When only
// interpolation fails it returns the files too (the failing values left
// as they were), with every such problem, so validate can go on.
func Files(opts Options, warn func(string)) ([]*File, error) {
	if len(opts.Files) == 0 {
		return nil, &diag.Error{Msg: "no input files: give one with -c FILE, as an argument, or - for stdin"}
	}
	cwd := opts.Cwd
	if cwd == "" {
		var err error
		if cwd, err = os.Getwd(); err != nil {
			return nil, err
		}
	}
	stdinUsed := false
	var files []*File
	var interpolation diag.List // every file's problems, then the files
	for _, name := range opts.Files {
		var data []byte
		var err error
		dir := cwd
		if name == "-" {
			if stdinUsed {
				return nil, &diag.Error{File: "-", Msg: "stdin (-) given more than once"}
			}
			stdinUsed = true
			if opts.Stdin == nil {
				opts.Stdin = os.Stdin
			}
			data, err = io.ReadAll(io.LimitReader(opts.Stdin, MaxFileSize+1))
		} else {
			path := name
			if !filepath.IsAbs(path) {
				path = filepath.Join(cwd, path)
			}
			dir = filepath.Dir(path)
			data, err = fileio.ReadRegular(path, MaxFileSize)
			if errors.Is(err, fileio.ErrTooLarge) {
				data, err = make([]byte, MaxFileSize+1), nil
			}
		}
		if errors.Is(err, fileio.ErrNotRegular) {
			return nil, &diag.Error{File: name, Msg: fmt.Sprintf("the input %v; give a stack file, or - for stdin", err)}
		}
		if err != nil {
			return nil, &diag.Error{File: name, Msg: "cannot read the file", Err: unwrapPathError(err)}
		}
		if len(data) > MaxFileSize {
			return nil, &diag.Error{File: name, Msg: fmt.Sprintf("the file is larger than %d MiB; is it a stack file?", MaxFileSize>>20)}
		}
		// A byte order mark (an editor's, on Windows) is no part of the
		// YAML: parsed and kept without it, the text lines up with the
		// positions the parsers give.
		bom := bytes.HasPrefix(data, []byte(yamlx.BOM))
		if bom {
			data = data[len(yamlx.BOM):]
		}
		f, err := Parse(name, dir, data)
		if err != nil {
			return nil, err
		}
		f.Text, f.BOM = data, bom
		if !opts.NoInterpolate {
			interpolation.Add(Interpolate(f, opts.Env, warn))
		}
		files = append(files, f)
	}
	return files, interpolation.Err()
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Parse parses one Compose file held in data.
func Parse(name, dir string, data []byte) (*File, error) {
	if doc, ok := codec.Split(data); ok {
		return parsed(name, dir, doc)
	}
	// A file too small to split (or that Split declined): the fast
	// parser, whose tree is yaml.v3's, where it can; yaml.v3 otherwise,
	// which also reports errors. A 10-service stack parses in a quarter
	// of yaml.v3's time. Like Split's, the tree reads data in place: a
	// copy would be kept beside data (f.Text) as long as the tree.
	if doc, ok := codec.ParseFastBytes(data); ok {
		return parsed(name, dir, doc)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &diag.Error{File: name, Msg: "the file is empty; expected a Compose mapping with services"}
		}
		return nil, yamlError(name, data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &diag.Error{File: name, Line: extra.Line, Column: extra.Column, Msg: "more than one YAML document; a stack file holds exactly one"}
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlError(name, data, err)
	}
	return parsed(name, dir, &doc)
}

// parsed checks a parsed document and makes it a File.
func parsed(name, dir string, doc *yaml.Node) (*File, error) {
	root := yamlx.Body(doc)
	if root == nil || yamlx.IsNull(root) {
		return nil, &diag.Error{File: name, Msg: "the file is empty; expected a Compose mapping with services"}
	}
	if root.Kind != yaml.MappingNode {
		return nil, diag.At(name, root).Errorf("the top level is %s; expected a mapping with services", yamlx.KindName(root))
	}
	f := &File{Name: name, Dir: dir, Root: root, Doc: doc}
	if err := checkKeys(f); err != nil {
		return nil, err
	}
	if f.Anchors {
		if err := checkAliases(f); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// yamlError turns a yaml.v3 syntax error into a positioned diag.Error.
func yamlError(name string, data []byte, err error) error {
	p := yamlx.PlaceError(data, err)
	what := "invalid YAML: "
	if p.Block {
		what = "invalid YAML in the block starting on or before this line: "
	}
	return &diag.Error{File: name, Line: p.Line, Column: p.Column, Msg: what + p.Msg}
}

// checkKeys rejects mappings with non-scalar or duplicate keys, which yaml.v3
// accepts at the node level but Compose does not, and notes whether the
// file defines anchors. The services of a large stack are checked in parts
// concurrently; the problem reported is the first in document order.
func checkKeys(f *File) error {
	w := keyWalk{name: f.Name, services: yamlx.Resolve(yamlx.Get(f.Root, "services")), parallel: true}
	err := w.walk(f.Root, 0, "")
	f.Anchors = w.anchors
	return err
}

// keyWalk is one walk of checkKeys (or a part of it). It follows Content
// only, never an alias to its anchor, so it visits each node once.
type keyWalk struct {
	name     string
	services *yaml.Node // the services mapping, whose values are services
	parallel bool       // the services mapping may be walked in parts
	anchors  bool       // an anchor was seen
}

func (w *keyWalk) walk(n *yaml.Node, depth int, service string) error {
	if n == nil {
		return nil
	}
	if n.Anchor != "" {
		w.anchors = true
	}
	if p := yamlx.NodeProblem(n, depth); p != nil {
		return diag.At(w.name, p.Node).Errorf("%s", p.Msg).WithService(service)
	}
	if n == w.services && w.parallel {
		if split := parts.Of(len(n.Content) / 2); split.Count > 1 {
			return w.inParts(n, depth, service, split)
		}
	}
	return w.children(n, 0, len(n.Content), depth, service)
}

// children walks n's Content from index lo to hi.
func (w *keyWalk) children(n *yaml.Node, lo, hi, depth int, service string) error {
	for i := lo; i < hi; i++ {
		svc := service
		if n == w.services && i%2 == 1 {
			svc = n.Content[i-1].Value
		}
		if err := w.walk(n.Content[i], depth+1, svc); err != nil {
			return err
		}
	}
	return nil
}

// inParts walks the services mapping's Content in split's ranges of
// entries at once and returns the first range's problem.
func (w *keyWalk) inParts(n *yaml.Node, depth int, service string, split parts.Split) error {
	walks := make([]keyWalk, split.Count)
	name, services := w.name, w.services // (the closure takes no w: w stays on the stack)
	errs := split.Run(func(i, lo, hi int) error {
		walks[i] = keyWalk{name: name, services: services}
		return walks[i].children(n, 2*lo, 2*hi, depth, service)
	})
	for i := range walks {
		w.anchors = w.anchors || walks[i].anchors
		if errs[i] != nil {
			return errs[i]
		}
	}
	return nil
}

// MaxFileSize bounds an input file: a stack of 10000 services is about
// 5 MiB.
const MaxFileSize = 64 << 20

// checkAliases rejects a file with an alias cycle or whose aliases
// expand to far more nodes than the file holds.
func checkAliases(f *File) error {
	if e := yamlx.CheckAliases(f.Root); e != nil {
		if e.Node != nil {
			return diag.At(f.Name, e.Node).Errorf("%s", e.Error())
		}
		return &diag.Error{File: f.Name, Msg: "its " + e.Error()}
	}
	return nil
}

// Describe names the input for messages.
func Describe(files []*File) string {
	if len(files) == 1 {
		return files[0].Name
	}
	return fmt.Sprintf("%d files", len(files))
}

// Roots are the files' top-level mappings, in command-line order.
func Roots(files []*File) []*yaml.Node {
	roots := make([]*yaml.Node, len(files))
	for i, f := range files {
		roots[i] = f.Root
	}
	return roots
}
