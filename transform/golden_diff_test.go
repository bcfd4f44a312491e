package transform_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/podtemplate/podtemplate/internal/linediff"
	"github.com/podtemplate/podtemplate/transform"
	"github.com/podtemplate/podtemplate/transform/emit"
	"github.com/podtemplate/podtemplate/transform/internal/codec"
	"gopkg.in/yaml.v3"
)

// entryLines are the lines (1-based, inclusive) that the entries of a
// YAML text span, found from the positions yaml.v3 gives: an entry runs
// from the comment lines directly above its key to the line before the
// next key at its depth or shallower.
type entryLines struct {
	lines []string
	keys  []keyAt // every mapping key, in document order
}

type keyAt struct {
	path  string // dotted: services.web, x-podlike, services.web.x-jobs
	line  int
	depth int
}

func parseEntries(t *testing.T, text string) entryLines {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatal(err)
	}
	e := entryLines{lines: strings.SplitAfter(text, "\n")}
	var walk func(n *yaml.Node, path string, depth int)
	walk = func(n *yaml.Node, path string, depth int) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path, depth)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := strings.TrimPrefix(path+"."+n.Content[i].Value, ".")
				e.keys = append(e.keys, keyAt{p, n.Content[i].Line, depth})
				walk(n.Content[i+1], p, depth+1)
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, path+"[]", depth+1)
			}
		}
	}
	walk(&doc, "", 0)
	return e
}

// span is the lines of the entry at path, or ok false.
func (e entryLines) span(path string) (from, to int, ok bool) {
	for i, k := range e.keys {
		if k.path != path {
			continue
		}
		from, to = k.line, len(e.lines)
		for _, next := range e.keys[i+1:] {
			if next.depth <= k.depth && next.line > k.line {
				to = next.line - 1
				break
			}
		}
		for from > 1 && strings.HasPrefix(strings.TrimSpace(e.lines[from-2]), "#") {
			from--
		}
		return from, to, true
	}
	return 0, 0, false
}

// TestGoldenChangesOnlyWhatItMust diffs each golden case's input and
// output: every changed line must belong to a transformed service, a
// removed extension field or an interpolated value (or be an alias written
// out because its anchor was in one of those, or a volume a pod labels).
func TestGoldenChangesOnlyWhatItMust(t *testing.T) {
	checked := 0
	for _, dir := range caseDirs(t, filepath.Join("..", "testdata", "golden")) {
		abs, _ := filepath.Abs(dir)
		c := loadCase(t, abs)
		if c.opts.Format == emit.JSON || len(c.opts.Files) != 1 || c.opts.OutDir != abs {
			continue // JSON, several files merged, or paths rebased for another folder
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			res, err := transform.Render(context.Background(), c.opts)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			sameAsTree(t, c.opts, res.Output)
			data, err := os.ReadFile(filepath.Join(abs, c.opts.Files[0]))
			if err != nil {
				t.Fatal(err)
			}
			in, out := parseEntries(t, string(data)), parseEntries(t, string(res.Output))
			inAllowed := make([]bool, len(in.lines)+2)
			outAllowed := make([]bool, len(out.lines)+2)
			allow := func(e entryLines, marks []bool, path string) {
				if from, to, ok := e.span(path); ok {
					for l := from; l <= to; l++ {
						marks[l] = true
					}
				}
			}
			transformed := append(append([]string(nil), res.Pods...), res.Jobs...)
			for _, name := range transformed {
				allow(in, inAllowed, "services."+name)
				allow(out, outAllowed, "services."+name)
				// Services a top-level merge key brings in are rebuilt
				// where their anchored mapping writes them.
				for _, k := range in.keys {
					if k.depth >= 2 && strings.HasSuffix(k.path, ".services."+name) {
						allow(in, inAllowed, k.path)
						allow(out, outAllowed, k.path)
					}
				}
			}
			for _, k := range in.keys {
				if strings.HasSuffix(k.path, "x-podlike") && (k.depth == 0 || k.depth == 2 && strings.HasPrefix(k.path, "services.")) ||
					strings.HasSuffix(k.path, "x-jobs") && (k.depth == 0 || k.depth == 2 && strings.HasPrefix(k.path, "services.")) {
					allow(in, inAllowed, k.path)
				}
				// A top-level merge key that may bring them in (from an
				// anchored mapping outside services) stops bringing them.
				if k.depth >= 1 && !strings.HasPrefix(k.path, "services.") && (strings.HasSuffix(k.path, ".x-podlike") || strings.HasSuffix(k.path, ".x-jobs")) {
					allow(in, inAllowed, "<<")
					allow(out, outAllowed, "<<")
				}
			}
			// A volume a pod shares with a component gets podlike's
			// volume-ref label.
			for _, k := range out.keys {
				if k.depth == 1 && strings.HasPrefix(k.path, "volumes.") {
					if from, to, ok := out.span(k.path); ok && strings.Contains(strings.Join(out.lines[from-1:to], ""), "podlike.volume-ref") {
						allow(in, inAllowed, k.path)
						allow(out, outAllowed, k.path)
					}
				}
			}
			if _, _, ok := in.span("services"); !ok {
				allow(out, outAllowed, "services") // created for jobs made from templates
			}
			// An alias to an anchor in a removed field or a transformed
			// service is written out: its anchor is gone.
			goneAnchor := map[string]bool{}
			for l, line := range in.lines {
				if i := strings.Index(line, "&"); i >= 0 && inAllowed[l+1] {
					name := strings.Fields(line[i+1:])
					if len(name) > 0 {
						goneAnchor[name[0]] = true
					}
				}
			}
			expanded := func(line string) bool {
				i := strings.Index(line, "*")
				if i < 0 {
					return false
				}
				name := strings.Fields(line[i+1:])
				return len(name) > 0 && goneAnchor[strings.TrimRight(name[0], ",]}")]
			}
			for _, h := range linediff.Hunks(in.lines, out.lines) {
				interpolated := h.A1-h.A0 == h.B1-h.B0
				aliases := h.A1 > h.A0
				for l := h.A0; l < h.A1; l++ {
					interpolated = interpolated && strings.Contains(in.lines[l], "$")
					aliases = aliases && (expanded(in.lines[l]) || strings.TrimSpace(in.lines[l]) == "")
				}
				if aliases {
					continue
				}
				for l := h.A0; l < h.A1; l++ {
					if !inAllowed[l+1] && !interpolated && strings.TrimSpace(in.lines[l]) != "" {
						t.Errorf("input line %d changed, outside any transformed service, removed extension field or variable: %q", l+1, in.lines[l])
					}
				}
				for l := h.B0; l < h.B1; l++ {
					if !outAllowed[l+1] && !interpolated && strings.TrimSpace(out.lines[l]) != "" {
						t.Errorf("output line %d added, outside any transformed service or variable: %q", l+1, out.lines[l])
					}
				}
			}
			checked++
		})
	}
	if checked < 60 {
		t.Errorf("only %d golden cases checked", checked)
	}
}

// sameAsTree checks that a YAML output (spliced into the input's text)
// holds the value of the output tree, which the JSON output writes.
func sameAsTree(t *testing.T, opts transform.Options, yamlOut []byte) {
	t.Helper()
	opts.Format = emit.JSON
	res, err := transform.Render(context.Background(), opts)
	if err != nil {
		t.Fatalf("render as JSON: %v", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(yamlOut, &doc); err != nil {
		t.Fatalf("the YAML output does not parse: %v\n%s", err, yamlOut)
	}
	got := []byte("{}") // an output of no entries (the encoder writes nothing)
	if doc.Kind != 0 {
		if got, err = codec.JSON(&doc, "  "); err != nil {
			t.Fatal(err)
		}
	}
	if string(got)+"\n" != string(res.Output) {
		t.Errorf("the YAML output does not hold the output tree's value:\n%s", lineDiff(string(res.Output), string(got)+"\n"))
	}
}

// TestGoldenVariantsKeepTheirMeaning renders each single-file YAML golden
// case again with its stack file's lines ending in CRLF, and without its
// final line break: the output must hold the same value, and keep the
// input's line ends.
func TestGoldenVariantsKeepTheirMeaning(t *testing.T) {
	for _, dir := range caseDirs(t, filepath.Join("..", "testdata", "golden")) {
		abs, _ := filepath.Abs(dir)
		c := loadCase(t, abs)
		if c.opts.Format == emit.JSON || len(c.opts.Files) != 1 || c.opts.OutDir != abs {
			continue
		}
		data, err := os.ReadFile(filepath.Join(abs, c.opts.Files[0]))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(c.expectedPath())
		if err != nil {
			t.Fatal(err)
		}
		for variant, text := range map[string]string{
			"crlf": strings.ReplaceAll(string(data), "\n", "\r\n"),
			"nonl": strings.TrimRight(string(data), "\n"),
		} {
			t.Run(filepath.Base(dir)+"/"+variant, func(t *testing.T) {
				opts := c.opts
				opts.Files = []string{"-"}
				opts.Stdin = strings.NewReader(text)
				opts.Cwd = filepath.Join(abs, filepath.Dir(c.opts.Files[0]))
				res, err := transform.Render(context.Background(), opts)
				if err != nil {
					t.Fatalf("render: %v", err)
				}
				opts.Stdin = strings.NewReader(text)
				sameAsTree(t, opts, res.Output)
				var a, b any
				if err := yaml.Unmarshal(want, &a); err != nil {
					t.Fatal(err)
				}
				got := strings.ReplaceAll(string(res.Output), abs, "/golden-case") // as TestGolden
				if err := yaml.Unmarshal([]byte(got), &b); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(a, b) {
					t.Errorf("the output does not mean what the golden output means:\n%s", lineDiff(string(want), strings.ReplaceAll(got, "\r\n", "\n")))
				}
				out := string(res.Output)
				if variant == "crlf" && strings.Count(out, "\n") != strings.Count(out, "\r\n") {
					t.Errorf("the output mixes line ends:\n%q", out)
				}
			})
		}
	}
}
