// Package docs_test keeps the documentation in docs/*.md true.
//
// TestFunctionsDocumented fails when a function a template can call
// (render.FuncNames) or a blocked function (render.Blocked) is not named in
// docs/templates.md as the first word of an inline code span: `name` or
// `name ARG...`.
//
// TestExamples renders the fenced YAML examples of every docs/*.md file.
// A fence's info string is a language followed by attributes:
//
//	```yaml                a YAML block. If a line of it is a top-level
//	                       "services:" key, it is a complete stack and must
//	                       render without error; otherwise it is a partial
//	                       snippet and is skipped.
//	```yaml file=PATH      a file, usually a template: not rendered itself,
//	                       but written to PATH (relative, inside the folder)
//	                       in the working folder of every later stack block
//	                       of the same .md file. A later block with the same
//	                       PATH replaces it.
//	```yaml output         the expected output of the stack block that is
//	```text output         the previous fenced block of the file (prose may
//	                       come between them). Compared byte for byte.
//
// Attributes of a stack block:
//
//	set=Key.Sub=value      a --set arg (repeatable)
//	strict                 --strict
//	files=a.yml,-          the input files in order, "-" being the block
//	                       itself (default: just "-")
//	error                  the render must fail. A following output block
//	                       holds the error as the CLI prints it: one
//	                       "error: MESSAGE" line per problem, then "N problems
//	                       found" when there are several; "<stdin>" in
//	                       messages is written as "stack.yml".
//
// go test ./docs -update rewrites every output block with what its stack
// renders now (review the diff before committing it).
//
// Every stack renders with the options a user of
// `podtemplate render -c - < block` would get on a clean machine: the block
// on stdin, a fresh temporary working folder, an empty environment and only
// the built-in templates (no HTTP: an http: item renders only through its
// fallback).
package docs_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/podtemplate/podtemplate/templates"
	"github.com/podtemplate/podtemplate/transform"
	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/render"
	"github.com/podtemplate/podtemplate/transform/retrieve"
)

var update = flag.Bool("update", false, "rewrite the output blocks of docs/*.md with the rendered output")

// block is one fenced code block of a markdown file.
type block struct {
	file  string   // the .md file
	line  int      // line of the opening fence (1-based)
	lang  string   // first word of the info string
	attrs []string // the rest of the info string
	text  string   // the content, each line ending in "\n"
	start int      // index of the first content line in the file's lines
	end   int      // index of the closing fence line
}

func (b block) where() string { return fmt.Sprintf("%s:%d", b.file, b.line) }

// attr returns the value of key=VALUE attributes, and whether a bare key
// is present.
func (b block) attr(key string) (values []string, bare bool) {
	for _, a := range b.attrs {
		if a == key {
			bare = true
		} else if v, ok := strings.CutPrefix(a, key+"="); ok {
			values = append(values, v)
		}
	}
	return values, bare
}

func (b block) has(key string) bool {
	vs, bare := b.attr(key)
	return bare || len(vs) > 0
}

var fenceRe = regexp.MustCompile("^(```+|~~~+)\\s*(.*)$")

// parseBlocks returns the fenced blocks of a markdown file. Fences are
// recognised at the start of a line only (no indented fences).
func parseBlocks(name, text string) ([]block, error) {
	var out []block
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		m := fenceRe.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		fence := m[1]
		fields := strings.Fields(m[2])
		b := block{file: name, line: i + 1, start: i + 1}
		if len(fields) > 0 {
			b.lang, b.attrs = fields[0], fields[1:]
		}
		var body strings.Builder
		closed := false
		for i++; i < len(lines); i++ {
			if closes(lines[i], fence) {
				closed = true
				break
			}
			body.WriteString(lines[i])
			body.WriteString("\n")
		}
		if !closed {
			return nil, fmt.Errorf("%s: the fence is never closed", b.where())
		}
		b.text = body.String()
		b.end = i
		out = append(out, b)
	}
	return out, nil
}

// closes reports whether line closes a block opened with fence: at least
// as many of the same fence characters, from the start of the line, and
// nothing else.
func closes(line, fence string) bool {
	s := strings.TrimRight(line, " \t")
	return len(s) >= len(fence) && strings.Trim(s, fence[:1]) == ""
}

var servicesRe = regexp.MustCompile(`(?m)^services:\s*(#.*)?$`)

func isYAML(b block) bool { return b.lang == "yaml" || b.lang == "yml" }

func isStack(b block) bool {
	return isYAML(b) && !b.has("output") && !b.has("file") && servicesRe.MatchString(b.text)
}

func mdFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no docs/*.md files")
	}
	// The product specification and the notes on podlike's controller are
	// contracts, copied in as they were written: their YAML is schematic
	// (<service>, ...), not examples to render.
	out := files[:0]
	for _, f := range files {
		if f != "spec.md" && f != "podlike-notes.md" {
			out = append(out, f)
		}
	}
	return out
}

func TestExamples(t *testing.T) {
	total := 0
	for _, md := range mdFiles(t) {
		data, err := os.ReadFile(md)
		if err != nil {
			t.Fatal(err)
		}
		blocks, err := parseBlocks(md, string(data))
		if err != nil {
			t.Fatal(err)
		}
		files := map[string]string{} // file= blocks seen so far
		rendered := map[int]string{} // output block index -> what its stack renders
		for i, b := range blocks {
			if paths, _ := b.attr("file"); len(paths) > 0 {
				for _, p := range paths {
					if filepath.IsAbs(p) || !filepath.IsLocal(p) {
						t.Errorf("%s: file=%s must be a relative path inside the folder", b.where(), p)
						continue
					}
					files[p] = b.text
				}
				continue
			}
			if b.has("output") {
				if i == 0 || !isStack(blocks[i-1]) {
					t.Errorf("%s: an output block must directly follow a stack block (a YAML block with a top-level services: key)", b.where())
				}
				continue
			}
			if !isStack(b) {
				continue
			}
			var want *block
			if i+1 < len(blocks) && blocks[i+1].has("output") {
				want = &blocks[i+1]
			}
			snapshot := make(map[string]string, len(files))
			for k, v := range files {
				snapshot[k] = v
			}
			total++
			b := b
			t.Run(fmt.Sprintf("%s:%d", md, b.line), func(t *testing.T) {
				if got, ok := checkStack(t, b, want, snapshot); ok && want != nil {
					rendered[i+1] = got
				}
			})
		}
		if *update && len(rendered) > 0 {
			rewrite(t, md, string(data), blocks, rendered)
		}
	}
	if total == 0 {
		t.Error("no stack examples found in docs/*.md")
	}
}

// rewrite replaces the content of output blocks (by index) and writes md.
func rewrite(t *testing.T, md, data string, blocks []block, texts map[int]string) {
	lines := strings.Split(data, "\n")
	var out []string
	next := 0
	for i, b := range blocks {
		text, ok := texts[i]
		if !ok || text == b.text {
			continue
		}
		out = append(out, lines[next:b.start]...)
		out = append(out, strings.Split(strings.TrimSuffix(text, "\n"), "\n")...)
		next = b.end
	}
	if next == 0 {
		return
	}
	out = append(out, lines[next:]...)
	if err := os.WriteFile(md, []byte(strings.Join(out, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkStack renders stack block b and compares it with want (if any). It
// returns what want should hold, and whether the render went as marked.
func checkStack(t *testing.T, b block, want *block, files map[string]string) (string, bool) {
	dir := t.TempDir()
	for p, text := range files {
		path := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opts := transform.Options{
		Files:   []string{"-"},
		Stdin:   strings.NewReader(b.text),
		Cwd:     dir,
		Env:     map[string]string{},
		Loaders: retrieve.Loaders{Builtin: templates.Get},
		Warn:    func(string) {},
	}
	if list, _ := b.attr("files"); len(list) > 0 {
		opts.Files = strings.Split(strings.Join(list, ","), ",")
	}
	opts.Set, _ = b.attr("set")
	opts.Strict = b.has("strict")
	wantErr := b.has("error")

	res, err := transform.Render(context.Background(), opts)
	switch {
	case wantErr && err == nil:
		t.Errorf("%s: the example is marked error, but it rendered:\n%s", b.where(), res.Output)
		return "", false
	case !wantErr && err != nil:
		t.Errorf("%s: the example does not render:\n%s", b.where(), cliErrors(err))
		return "", false
	}
	got := ""
	if wantErr {
		got = cliErrors(err)
	} else {
		got = string(res.Output)
	}
	if want != nil && got != want.text && !*update {
		t.Errorf("%s: the output block at %s is not what the stack renders (go test ./docs -update rewrites it).\n--- documented\n%s--- rendered\n%s", b.where(), want.where(), want.text, got)
	}
	return got, true
}

// cliErrors formats a render error the way the podtemplate CLI prints it.
func cliErrors(err error) string {
	var b strings.Builder
	var list diag.List
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Fprintf(&b, "error: %s\n", e)
		}
		if len(list) > 1 {
			fmt.Fprintf(&b, "%d problems found\n", len(list))
		}
	} else {
		fmt.Fprintf(&b, "error: %s\n", err)
	}
	return strings.ReplaceAll(b.String(), "<stdin>", "stack.yml")
}

var codeSpanRe = regexp.MustCompile("`([^`\n]+)`")

func TestFunctionsDocumented(t *testing.T) {
	data, err := os.ReadFile("templates.md")
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, m := range codeSpanRe.FindAllStringSubmatch(string(data), -1) {
		if f := strings.Fields(m[1]); len(f) > 0 {
			named[f[0]] = true
		}
	}
	for _, name := range render.FuncNames() {
		if !named[name] {
			t.Errorf("function %q (render.FuncNames) is not documented in docs/templates.md: write it as `%s` or `%s ARGS`", name, name, name)
		}
	}
	for _, name := range render.Blocked {
		if !named[name] {
			t.Errorf("blocked function %q (render.Blocked) is not listed in docs/templates.md", name)
		}
	}
}

// TestParseBlocks checks the fence parser on a small document.
func TestParseBlocks(t *testing.T) {
	doc := "text\n```yaml file=templates/a.yml\na: 1\n```\n\n````text output\nx\n```\n````\n"
	blocks, err := parseBlocks("x.md", doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 2 {
		t.Fatalf("got %d blocks, want 2", len(blocks))
	}
	if v, _ := blocks[0].attr("file"); len(v) != 1 || v[0] != "templates/a.yml" || blocks[0].text != "a: 1\n" {
		t.Errorf("first block: %+v", blocks[0])
	}
	if !blocks[1].has("output") || blocks[1].text != "x\n```\n" {
		t.Errorf("second block: %+v", blocks[1])
	}
	if _, err := parseBlocks("y.md", "```yaml\na: 1\n"); err == nil {
		t.Error("an unclosed fence is not reported")
	}
}
