package render

import (
	"sort"
	"strings"
	"testing"
	"text/template/parse"
)

func run(t *testing.T, tmpl string, data any, strict bool) (string, error) {
	t.Helper()
	e, err := New([]Template{{Key: "k", Name: "t.yml", Body: tmpl}}, strict)
	if err != nil {
		return "", err
	}
	return e.Execute("k", data)
}

func TestFunctions(t *testing.T) {
	data := map[string]any{"Args": map[string]any{"Name": "web", "Port": 8080, "M": map[string]any{"b": 2, "a": 1, "c": 3}}}
	for _, tc := range []struct{ tmpl, want string }{
		{`{{ replace "a" "b" "aaa" }}`, "bbb"},
		{`{{ replace "a" "b" 2 "aaa" }}`, "bba"},
		{`{{ contains "eb" .Args.Name }}`, "true"},
		{`{{ startsWith "we" .Args.Name }}`, "true"},
		{`{{ notEmpty .Args.Name }} {{ empty .Args.Missing }}`, "true true"},
		{`{{ .Args.Missing }}|{{ .Args.Name }}`, "|web"},
		{`{{ keys .Args.M | join "," }}`, "a,b,c"},
		{`{{ values .Args.M | join "," }}`, "1,2,3"},
		{`{{ dict "x" 1 | yaml }}`, "x: 1"},
		{`{{ "a: 1" | fromYaml | toJson }}`, `{"a":1}`},
		{`{{ indent 2 "a\nb" }}`, "  a\n  b"},
		{`{{ define "x" }}[{{ .Args.Name }}]{{ end }}{{ include "x" . }}`, "[web]"},
		{`{{ tpl "{{ .Args.Port }}" . }}`, "8080"},
		{`{{ default 80 .Args.Missing }}`, "80"},
		{`{{ until 3 | len }}`, "3"},
		{`{{ sha256sum "x" | trunc 8 }}`, "2d711642"},
		{`{{ required "x" 0 }} {{ required "x" false }}`, "0 false"},
	} {
		got, err := run(t, tc.tmpl, data, false)
		if err != nil {
			t.Errorf("%s: %v", tc.tmpl, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s = %q, want %q", tc.tmpl, got, tc.want)
		}
	}
}

func TestBlockedFunctionsAreUndefined(t *testing.T) {
	for _, fn := range Blocked {
		_, err := run(t, "{{ "+fn+" }}", nil, false)
		if err == nil || !strings.Contains(err.Error(), "is blocked") {
			t.Errorf("%s: got %v, want 'function is blocked'", fn, err)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct{ tmpl, want string }{
		{`{{ required "Port is required" .Args.Port }}`, `template t.yml: line 1: required: Port is required`},
		{"a\n{{ .Args.X", `template t.yml: line 2: unclosed action`},
		{`{{ nope }}`, `template t.yml: line 1: function "nope" not defined`},
		{`{{ until 1000000 }}`, `template t.yml: line 1: until: a list of 1000000 items is more than 100000`},
		{`{{ untilStep -9223372036854775808 9223372036854775807 1 }}`, `template t.yml: line 1: untilStep: a list of 18446744073709551616 items is more than 100000`},
		{`{{ range until 100 }}{{ $x := until 100000 }}{{ end }}`, `template t.yml: line 1: until: templates built more than 2000000 list items in this run: does a loop nest too deep?`},
		{`{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}`, `template t.yml: line 1: ranges and template calls ran more than 1000000 times in one template: does a loop nest too deep, or a template call itself?`},
		{`{{ range 1000000000 }}{{ end }}`, `template t.yml: line 1: ranges and template calls ran more than 1000000 times in one template: does a loop nest too deep, or a template call itself?`},
		{`{{ include "missing" . }}`, `template t.yml: line 1: include: no template named "missing" (define it with {{ define "missing" }} in a template or --library file)`},
		{"{{ define \"d\" }}\n{{ .Args.X.Y }}{{ end }}{{ include \"d\" . }}", `template t.yml: line 2: include: in "d", line 2: nil pointer evaluating interface {}.Y`},
		{"{{ if true }}", `template t.yml: line 1: unexpected EOF (an {{ if }}, {{ range }}, {{ with }} or {{ define }} is missing its {{ end }}, or an action its }})`},
	} {
		_, err := run(t, tc.tmpl, map[string]any{"Args": map[string]any{}}, false)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: got %v, want %s", tc.tmpl, err, tc.want)
		}
	}
}

func TestStrictMissingKey(t *testing.T) {
	data := map[string]any{"Args": map[string]any{}}
	if _, err := run(t, `{{ .Args.X }}`, data, true); err == nil || !strings.Contains(err.Error(), `map has no entry for key "X"`) {
		t.Errorf("strict: got %v", err)
	}
	if got, err := run(t, `{{ .Args.X }}`, data, false); err != nil || got != "" {
		t.Errorf("lenient: got %q, %v", got, err)
	}
}

func TestOutputCap(t *testing.T) {
	_, err := run(t, `{{ range until 100000 }}{{ repeat 1000 "x" }}{{ end }}`, nil, false)
	if err == nil || !strings.Contains(err.Error(), "output larger than") {
		t.Errorf("got %v", err)
	}
}

func TestParseOutput(t *testing.T) {
	if _, err := ParseOutput("t", "- a\n- b\n"); err == nil || !strings.Contains(err.Error(), "rendered a list") {
		t.Errorf("list: %v", err)
	}
	if _, err := ParseOutput("t", "a: 1\nb: [c\n"); err == nil || !strings.Contains(err.Error(), `rendered invalid YAML`) {
		t.Errorf("bad yaml: %v", err)
	}
	if _, err := ParseOutput("t", "a: 1\nb: \"c\x00\"\n"); err == nil || !strings.Contains(err.Error(), "control characters are not allowed (line 2, column 6 of the output)") {
		t.Errorf("NUL: %v", err)
	}
	if _, err := ParseOutput("t", "a: ["+strings.Repeat("1,", maxOutputItems)+"1]\n"); err == nil || !strings.Contains(err.Error(), "rendered 250001 lines and list items, more than 250000") {
		t.Errorf("many items: %v", err)
	}
	if m, err := ParseOutput("t", "a: ["+strings.Repeat("1,", maxOutputItems/2)+"1]\n"); err != nil || len(m.Content[1].Content) != maxOutputItems/2+1 {
		t.Errorf("items under the cap: %v", err)
	}
	if m, err := ParseOutput("t", "  \n"); err != nil || len(m.Content) != 0 {
		t.Errorf("empty: %v %v", m, err)
	}
}

func TestUses(t *testing.T) {
	for _, tc := range []struct {
		tmpl           string
		fields         string
		whole, project bool
	}{
		{`{{ .Service.Name }} {{ .Service.Ports }}`, "Name,Ports", false, false},
		{`{{ range .Service.Ports }}{{ .Target }}{{ . }}{{ end }}`, "Ports", false, false},
		{`{{ with .Args }}{{ . }}{{ end }}`, "", false, false},
		{`{{ $.Service.Image }}`, "Image", false, false},
		{`{{ .Service | toYaml }}`, "", true, false},
		{`{{ .Project.Name }}`, "", false, true},
		{`{{ toYaml . }}`, "", true, true},
		{`{{ tpl .Args.T . }}`, "", true, true},
		{`{{ define "x" }}{{ .Service.User }}{{ end }}{{ include "x" . }}`, "User", false, false},
		{`{{ range $k, $v := .Args }}{{ $ | toJson }}{{ end }}`, "", true, true},
	} {
		e, err := New([]Template{{Key: "k", Name: "t", Body: tc.tmpl}}, false)
		if err != nil {
			t.Fatal(err)
		}
		u := e.Uses()
		var fields []string
		for _, f := range strings.Split(tc.fields, ",") {
			if f != "" {
				fields = append(fields, f)
				if !u.ServiceFields[f] {
					t.Errorf("%s: field %s not seen (%v)", tc.tmpl, f, u.ServiceFields)
				}
			}
		}
		if len(u.ServiceFields) != len(fields) || u.WholeService != tc.whole || u.Project != tc.project {
			t.Errorf("%s: got %v whole=%v project=%v", tc.tmpl, u.ServiceFields, u.WholeService, u.Project)
		}
	}
}

// TestArgsCopiedOnlyWhereChanged checks that an execution that changes its
// .Args (set, merge, tpl) leaves the next execution's alone, and that a
// set without any of them is recognised as unable to change its data.
func TestArgsCopiedOnlyWhereChanged(t *testing.T) {
	e, err := New([]Template{
		{Key: "set", Name: "set.yml", Body: `{{ $_ := set .Args "Name" "changed" }}{{ .Args.Name }}`},
		{Key: "read", Name: "read.yml", Body: `{{ .Args.Name }}`},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !e.mutable {
		t.Error("a set with set is not marked mutable")
	}
	data := map[string]any{"Args": map[string]any{"Name": "web"}}
	for _, step := range []struct{ key, want string }{{"set", "changed"}, {"read", "web"}, {"set", "changed"}} {
		if got, err := e.Execute(step.key, data); err != nil || got != step.want {
			t.Errorf("%s: got %q, %v; want %q", step.key, got, err, step.want)
		}
	}
	for body, want := range map[string]bool{
		`{{ .Args.Name | quote }}{{ range .Args.L }}{{ . }}{{ end }}`:                 false,
		`{{ define "d" }}{{ include "x" . }}{{ end }}{{ template "d" . }}`:            false,
		`{{ if .Args.X }}{{ with .Args.Y }}{{ $_ := unset . "a" }}{{ end }}{{ end }}`: true,
		`{{ range .Args.L }}{{ else }}{{ merge (dict) .Args }}{{ end }}`:              true,
		`{{ define "d" }}{{ mustMergeOverwrite (dict) . }}{{ end }}`:                  true,
		`{{ tpl .Args.Text . }}`: true,
		`{{ template "d" (mergeOverwrite (dict) .) }}{{ define "d" }}{{ . }}{{ end }}`: true,
	} {
		e, err := New([]Template{{Key: "k", Name: "t.yml", Body: body}}, false)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if e.mutable != want {
			t.Errorf("%s: mutable = %v, want %v", body, e.mutable, want)
		}
	}
}

// TestGuardedWhereverCalled checks that a function is guarded wherever a
// template calls it (only called functions are wrapped, see guardUsed):
// repeat with a result over MaxValue fails before it runs.
func TestGuardedWhereverCalled(t *testing.T) {
	n := MaxValue/2 + 1
	data := map[string]any{"Args": map[string]any{"N": n}}
	// len: the output's own cap must not be what fails.
	for _, tmpl := range []string{
		`{{ len (repeat .Args.N "ab") }}`,
		`{{ "ab" | repeat .Args.N | len }}`,
		`{{ $x := repeat .Args.N "ab" }}{{ len $x }}`,
		`{{ range until 1 }}{{ len (repeat $.Args.N "ab") }}{{ end }}`,
		`{{ with 0 }}{{ else }}{{ len (repeat $.Args.N "ab") }}{{ end }}`,
		`{{ if 0 }}{{ else if 1 }}{{ len (repeat $.Args.N "ab") }}{{ end }}`,
		`{{ define "x" }}{{ len (repeat .Args.N "ab") }}{{ end }}{{ include "x" . }}`,
		`{{ define "y" }}{{ len (repeat .Args.N "ab") }}{{ end }}{{ template "y" . }}`,
		`{{ tpl "{{ len (repeat .Args.N \"ab\") }}" . }}`,
	} {
		if _, err := run(t, tmpl, data, false); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("%s: %v, want its result larger than MaxValue", tmpl, err)
		}
	}
	if got, err := run(t, `{{ repeat 2 "ab" }}`, nil, false); err != nil || got != "abab" {
		t.Errorf("repeat 2: %q %v", got, err)
	}
}

func TestCalledFuncs(t *testing.T) {
	for _, tc := range []struct {
		tmpl, names string
		all         bool
	}{
		{`{{ upper "a" | lower }}{{ .Args.x }}`, "lower,upper", false},
		{`{{ range $i, $v := list 1 }}{{ quote $v }}{{ else }}{{ squote 1 }}{{ end }}`, "list,podtemplateRangeTick,quote,squote", false},
		{`{{ with $x := dict "a" 1 }}{{ (get $x "a").Foo }}{{ end }}`, "dict,get", false},
		{`{{ define "d" }}{{ b64enc . }}{{ end }}{{ template "d" "x" }}`, "b64enc,podtemplateCall", false},
		{`{{ tpl "{{ upper 1 }}" . }}`, "", true},
	} {
		e, err := New([]Template{{Key: "k", Name: "t", Body: tc.tmpl}}, false)
		if err != nil {
			t.Fatal(err)
		}
		var trees []*parse.Tree
		for _, t := range e.root.Templates() {
			trees = append(trees, t.Tree)
		}
		names, unknown := calledFuncs(trees)
		if all := unknown || names["tpl"]; all != tc.all {
			t.Errorf("%s: all=%v", tc.tmpl, all)
		}
		if tc.all {
			continue
		}
		var got []string
		for name := range names {
			got = append(got, name)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != tc.names {
			t.Errorf("%s: %v, want %s", tc.tmpl, got, tc.names)
		}
	}
}

// TestParseUncheckedAsParse checks that sets parsed without looking up
// function names (parseUnchecked) behave as sets parsed by text/template:
// builtins and sprig's functions run, tpl reaches every function, and a
// set that names an undefined function, or does not parse, gets
// text/template's error.
func TestParseUncheckedAsParse(t *testing.T) {
	data := map[string]any{"Args": map[string]any{"Name": "web"}}
	for _, tc := range []struct{ tmpl, want string }{
		{`{{ if and true (not false) }}{{ len "ab" }}{{ index (list 1 2) 1 }}{{ printf "%d" 3 }}{{ eq 1 1 }}{{ js "x" }}{{ html "<" }}{{ urlquery "a b" }}{{ end }}`, "223truex&lt;a+b"},
		{`{{ tpl "{{ upper .Args.Name }}" . }}`, "WEB"},
		{`{{ define "x" }}{{ . | title }}{{ end }}{{ include "x" .Args.Name }}`, "Web"},
	} {
		got, err := run(t, tc.tmpl, data, false)
		if err != nil || got != tc.want {
			t.Errorf("%s = %q, %v; want %q", tc.tmpl, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ tmpl, want string }{
		{`{{ nope 1 }}`, `template t.yml: line 1: function "nope" not defined`},
		{`{{ tpl "x" . }}{{ define "d" }}{{ nope }}{{ end }}`, `template t.yml: line 1: function "nope" not defined`},
		{"a\n{{ upper 1 }}{{ nope | upper }}", `template t.yml: line 2: function "nope" not defined`},
		{"{{ nope }}\n{{ if }}", `template t.yml: line 1: function "nope" not defined`},
		{"{{ upper 1 }}\n{{ if }}", `template t.yml: line 2: missing value for if`},
	} {
		_, err := run(t, tc.tmpl, data, false)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %s", tc.tmpl, err, tc.want)
		}
	}
}
