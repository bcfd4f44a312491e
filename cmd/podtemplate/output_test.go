package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// documentedFields reads the field table of a section of docs/output.md
// (the section whose "## " heading contains heading): every field path,
// and whether it may be omitted.
func documentedFields(t *testing.T, heading string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "output.md"))
	if err != nil {
		t.Fatal(err)
	}
	var section string
	for _, s := range strings.Split(string(data), "\n## ")[1:] {
		title, _, _ := strings.Cut(s, "\n")
		if strings.Contains(title, heading) {
			section = s
		}
	}
	if section == "" {
		t.Fatalf("docs/output.md has no section %q", heading)
	}
	row := regexp.MustCompile("(?m)^\\| `([^`]+)` \\|[^|]*\\|(.*)\\|$")
	fields := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		fields[m[1]] = strings.Contains(m[2], "omitted")
	}
	if len(fields) == 0 {
		t.Fatalf("docs/output.md section %q lists no fields", heading)
	}
	return fields
}

// jsonPaths lists the field paths of a decoded JSON value: "a", "a.b",
// "list[].c". Items of a top-level list give paths without a prefix.
func jsonPaths(v any, prefix string, into map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			into[p] = true
			jsonPaths(x, p, into)
		}
	case []any:
		for _, x := range v {
			p := prefix
			if prefix != "" {
				p += "[]"
			}
			jsonPaths(x, p, into)
		}
	}
}

// checkDocumented decodes out and checks its fields against the section
// of docs/output.md: nothing undocumented, nothing documented missing
// (except fields documented as omitted when empty).
func checkDocumented(t *testing.T, heading string, out []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", heading, err, out)
	}
	got := map[string]bool{}
	jsonPaths(v, "", got)
	doc := documentedFields(t, heading)
	var extra, missing []string
	for p := range got {
		if _, ok := doc[p]; !ok {
			extra = append(extra, p)
		}
	}
	for p, optional := range doc {
		if got[p] || optional {
			continue
		}
		// A field of the items of an empty list cannot be there.
		if i := strings.LastIndex(p, "[]."); i >= 0 {
			var anyItem bool
			for g := range got {
				anyItem = anyItem || strings.HasPrefix(g, p[:i+3])
			}
			if !anyItem {
				continue
			}
		}
		missing = append(missing, p)
	}
	sort.Strings(extra)
	sort.Strings(missing)
	if len(extra) > 0 || len(missing) > 0 {
		t.Errorf("%s: fields not in docs/output.md: %v; documented but missing: %v\n%s", heading, extra, missing, out)
	}
	return v
}

func TestValidateJSON(t *testing.T) {
	stdout, stderr, code := runCLI(t, tinyStack, "validate", "--format", "json", "-c", "-")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	checkDocumented(t, "validate --format json", []byte(stdout))
	var ok jsonValidation
	if err := json.Unmarshal([]byte(stdout), &ok); err != nil || !ok.Valid || ok.Services != 1 || ok.Pods != 1 || len(ok.Problems) != 0 {
		t.Errorf("valid stack: %+v %v", ok, err)
	}

	// Two problems, in a file, with positions, services and templates.
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "bad.tpl"), "side:\n  image: {{ fail \"no image given\" }}\n")
	mustWrite(t, filepath.Join(dir, "stack.yml"), `version: "3.8"
services:
  web:
    image: example/web:1
    x-podlike:
      templates: bad.tpl
  api:
    image: example/api:1
    x-podlike:
      templates:
        inline: |
          side:
            image: {{ fail "api has no image" }}
`)
	stdout, stderr, code = runCLI(t, "", "validate", "--format", "json", filepath.Join(dir, "stack.yml"))
	if code != exitError || stderr != "" {
		t.Fatalf("exit %d (want 1), stderr %q", code, stderr)
	}
	checkDocumented(t, "validate --format json", []byte(stdout))
	var bad jsonValidation
	if err := json.Unmarshal([]byte(stdout), &bad); err != nil || bad.Valid || len(bad.Problems) != 2 {
		t.Fatalf("invalid stack: %+v %v\n%s", bad, err, stdout)
	}
	// The text output names the same problems.
	_, text, _ := runCLI(t, "", "validate", filepath.Join(dir, "stack.yml"))
	services := map[string]bool{}
	for _, p := range bad.Problems {
		if p.File == "" || p.Line == 0 || p.Column == 0 || p.Message == "" {
			t.Errorf("problem without position or message: %+v", p)
		}
		services[p.Service] = true
		if !strings.Contains(text, p.Message) {
			t.Errorf("text output lacks %q:\n%s", p.Message, text)
		}
	}
	if !services["web"] || !services["api"] {
		t.Errorf("problems do not name services web and api: %+v", bad.Problems)
	}
	var withTemplate bool
	for _, p := range bad.Problems {
		withTemplate = withTemplate || strings.Contains(p.Template, "bad.tpl")
	}
	if !withTemplate {
		t.Errorf("no problem names template bad.tpl: %+v", bad.Problems)
	}

	// A command-line mistake stays a usage error on stderr.
	stdout, stderr, code = runCLI(t, tinyStack, "validate", "--format", "json", "-c", "-", "--set", "x")
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, "--set") {
		t.Errorf("bad --set: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	_, _, code = runCLI(t, tinyStack, "validate", "--format", "xml", "-c", "-")
	if code != exitUsage {
		t.Errorf("--format xml: exit %d, want 2", code)
	}
}

func TestTemplatesAndVersionJSON(t *testing.T) {
	stdout, _, code := runCLI(t, "", "templates", "ls", "--format", "json")
	if code != 0 {
		t.Fatalf("templates ls --format json: exit %d", code)
	}
	checkDocumented(t, "templates ls --format json", []byte(stdout))
	var list []jsonTemplate
	if err := json.Unmarshal([]byte(stdout), &list); err != nil || len(list) < 3 {
		t.Fatalf("%v %v", list, err)
	}
	text, _, _ := runCLI(t, "", "templates", "ls")
	for _, tpl := range list {
		if !strings.HasPrefix(tpl.Name, "builtin:") || tpl.Kind == "" || tpl.Summary == "" || !strings.Contains(text, tpl.Name) {
			t.Errorf("template %+v", tpl)
		}
	}

	stdout, _, code = runCLI(t, "", "version", "--format", "json")
	if code != 0 {
		t.Fatalf("version --format json: exit %d", code)
	}
	checkDocumented(t, "version --format json", []byte(stdout))
	var v jsonVersion
	if err := json.Unmarshal([]byte(stdout), &v); err != nil || v.Version == "" || !strings.HasPrefix(v.Go, "go") || !strings.Contains(v.Platform, "/") {
		t.Errorf("version: %+v %v", v, err)
	}
}
