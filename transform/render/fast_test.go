package render

import (
	"fmt"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

type inner struct {
	Image string
	Count int
}

type hidden struct{ Shown string }

type named string

type stringer int

func (s stringer) String() string { return fmt.Sprintf("S%d", int(s)) }

type withMethods struct {
	inner
	*hidden
	Name   string
	Ptr    *inner
	Nil    *inner
	Any    any
	NilAny any
	Named  named
	Str    stringer
	Labels map[string]string
	List   []string
	secret string
}

func (w withMethods) Method() string { return "method" }
func (w *withMethods) PtrMethod() string {
	return "ptr method"
}

// TestPlanMatchesTextTemplate runs templates with and without their plan
// (text/template alone) and wants the same output or error: every value
// a plan prints, and every case it declines.
func TestPlanMatchesTextTemplate(t *testing.T) {
	svc := withMethods{inner: inner{Image: "img:1", Count: 3}, hidden: &hidden{Shown: "shown"}, Name: "web",
		Ptr: &inner{Image: "p"}, Any: 2.5, Named: "n", Str: 7, Labels: map[string]string{"a": "b"}, List: []string{"x"}, secret: "s"}
	typed := types.ServiceConfig{Name: "svc00001"}
	typed.Image = "example/app:1"
	data := map[string]any{
		"Service": svc,
		"Typed":   typed,
		"Ptr":     &svc,
		"Args": map[string]any{"Team": "t1", "Port": 8080, "F": 1.5, "B": true, "U": uint8(7), "I64": int64(-3),
			"Nil": nil, "M": map[string]any{"k": "v", "n": map[string]any{"d": "deep"}}, "L": []any{1}, "Empty": ""},
		"Project": nil,
	}
	printed := []string{
		".Args.Team", ".Args.Port", ".Args.F", ".Args.B", ".Args.U", ".Args.I64", ".Args.M.k", ".Args.M.n.d", ".Args.Empty",
		".Service.Name", ".Service.Image", ".Service.Count", ".Service.Shown", ".Service.Ptr.Image", ".Service.Any",
		".Typed.Name", ".Typed.Image", ".Ptr.Name", ".Ptr.Image",
	}
	declined := []string{
		".Args.Missing", ".Args.Nil", ".Args.Nil.x", ".Args.M", ".Args.L", ".Args.Team.x", ".Args.Port.x", ".Missing.x",
		".Project", ".Project.Name", ".Service.Nil.Image", ".Service.NilAny", ".Service.Named", ".Service.Str",
		".Service.Labels.a", ".Service.List", ".Service.secret", ".Service.Method", ".Service.PtrMethod", ".Ptr.PtrMethod",
		".Ptr.Method", ".Service.Nope", ".Service", ".Typed.Deploy.Mode", ".Typed.Ports", ".Typed",
	}
	var bodies []string
	for _, f := range printed {
		bodies = append(bodies, "a: {{ "+f+" }}\n", "{{"+f+"}}{{"+f+"}}", "x: \"{{ "+f+" }}\" # {{ .Args.Team }}\n")
	}
	for _, f := range declined {
		bodies = append(bodies, "a: {{ "+f+" }}\n", "{{ .Args.Team }}-{{ "+f+" }}-{{ .Args.Port }}")
	}
	for _, strict := range []bool{false, true} {
		for _, body := range bodies {
			e, err := New([]Template{{Key: "k", Name: "t.yml", Body: body}}, strict)
			if err != nil {
				t.Fatal(err)
			}
			if e.plans["t.yml"] == nil {
				t.Fatalf("%q: no plan", body)
			}
			got, gotErr := e.Execute("k", data)
			e.plans = nil
			want, wantErr := e.Execute("k", data)
			if got != want || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Errorf("strict %v, %q: plan gives %q, %v; text/template %q, %v", strict, body, got, gotErr, want, wantErr)
			}
		}
	}
	// The printed chains do run by the plan.
	for _, f := range printed {
		e, err := New([]Template{{Key: "k", Name: "t.yml", Body: "{{ " + f + " }}"}}, false)
		if err != nil {
			t.Fatal(err)
		}
		var w capped
		if ok, err := e.plans["t.yml"].run(&w, data); !ok || err != nil {
			t.Errorf("%s: plan declined (%v, %v)", f, ok, err)
		}
	}
}

// TestPlanOnlyForFieldChains: templates with anything but text and field
// chains run by text/template.
func TestPlanOnlyForFieldChains(t *testing.T) {
	for body, want := range map[string]bool{
		"a: {{ .Args.X }}\n":                  true,
		"a: 1\n":                              false, // nothing to print: text/template's
		"":                                    false,
		"{{ . }}":                             false,
		"{{ .Args.X | quote }}":               false,
		"{{ $x := .Args.X }}":                 false,
		"{{ if .Args.X }}a{{ end }}":          false,
		"{{ range .Args.L }}{{ . }}{{ end }}": false,
		"{{/* c */}}{{ .Args.X }}":            true, // the parser drops comments
		"{{ \"s\" }}":                         false,
		"{{ template \"x\" . }}":              false,
		"{{ define \"x\" }}{{ . }}{{ end }}{{ .Args.X }}": true,
	} {
		e, err := New([]Template{{Key: "k", Name: "t.yml", Body: body}}, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.plans["t.yml"] != nil; got != want {
			t.Errorf("%q: plan %v, want %v", body, got, want)
		}
	}
}

// TestPlanOutputCaps: a plan's writes are capped like text/template's.
func TestPlanOutputCaps(t *testing.T) {
	big := strings.Repeat("x", maxOutput)
	data := map[string]any{"Args": map[string]any{"Big": big}}
	for _, body := range []string{"{{ .Args.Big }}", "a{{ .Args.Big }}"} {
		e, err := New([]Template{{Key: "k", Name: "t.yml", Body: body}}, false)
		if err != nil {
			t.Fatal(err)
		}
		_, gotErr := e.Execute("k", data)
		e.plans = nil
		e.output.Store(MaxTotalOutput)
		_, wantErr := e.Execute("k", data)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Errorf("%q: plan %v, text/template %v", body, gotErr, wantErr)
		}
	}
}

// TestPlanConcurrent runs one plan from many goroutines on data of two
// struct types (its field cache changes hands) and wants each output a
// single execution gives.
func TestPlanConcurrent(t *testing.T) {
	e, err := New([]Template{{Key: "k", Name: "t.yml", Body: "image: {{ .Service.Image }}\nname: {{ .Service.Name }}\nport: {{ .Args.Port }}\n"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	typed := types.ServiceConfig{Name: "a"}
	typed.Image = "img"
	inputs := []map[string]any{
		{"Service": typed, "Args": map[string]any{"Port": 1}},
		{"Service": withMethods{inner: inner{Image: "other"}, Name: "b"}, "Args": map[string]any{"Port": "2"}},
	}
	want := make([]string, len(inputs))
	for i, data := range inputs {
		if want[i], err = e.Execute("k", data); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 200; i++ {
				k := (g + i) % len(inputs)
				got, err := e.Execute("k", inputs[k])
				if err == nil && got != want[k] {
					err = fmt.Errorf("got %q, want %q", got, want[k])
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
