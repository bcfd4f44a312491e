package render

import (
	"context"
	"strings"
	"testing"
	"time"
)

// FuzzTemplate runs arbitrary template text, with args that hold maps,
// lists and strings, through the sandbox: whatever the text, the run must
// end (the budgets, or the time limit that stops the engine, as the
// compiler's does), never panic, and leave the process its memory. Seeds
// are the hostile classes: recursion, self-containing values, doubling,
// loops of loops.
func FuzzTemplate(f *testing.F) {
	for _, seed := range []string{
		`{{ define "r" }}{{ include "r" . }}{{ end }}{{ include "r" . }}`,
		`{{ define "a" }}{{ include "b" . }}{{ end }}{{ define "b" }}{{ include "a" . }}{{ end }}{{ include "a" . }}`,
		`{{ define "r" }}{{ template "r" . }}{{ template "r" . }}{{ end }}{{ template "r" . }}`,
		`{{ tpl "{{ tpl .Args.t . }}" . }}`,
		`{{ tpl .Args.t . }}`,
		`{{ $d := dict "a" 1 }}{{ $_ := set $d "self" $d }}{{ toYaml $d }}`,
		`{{ $d := dict }}{{ $_ := set $d "l" (list $d) }}{{ $d }}`,
		`{{ $_ := set .Args "self" .Args }}{{ toJson .Args }}`,
		`{{ $d := dict "a" 1 }}{{ $_ := merge $d (dict "x" $d) }}{{ deepCopy $d }}`,
		`{{ $s := "xx" }}{{ range until 40 }}{{ $s = cat $s $s }}{{ end }}{{ len $s }}`,
		`{{ $d := dict "s" "x" }}{{ range until 60 }}{{ $d = dict "a" $d "b" $d }}{{ end }}{{ toJson $d | len }}`,
		`{{ $l := list 1 }}{{ range until 60 }}{{ $l = concat $l $l }}{{ end }}{{ len $l }}`,
		`{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}`,
		`{{ range 1000000000 }}{{ end }}`,
		`{{ range .Args.l }}{{ range $.Args.l }}{{ range $.Args.l }}{{ range $.Args.l }}x{{ end }}{{ end }}{{ end }}{{ end }}`,
		`{{ repeat 100000000 "xy" }}`,
		`{{ indent 1000000000 "x" }}`,
		`{{ replace "" (repeat 1000 "y") (repeat 100000 "x") }}`,
		`{{ regexReplaceAll "" (repeat 100000 "x") (repeat 1000 "$0") }}`,
		`{{ join (repeat 1000000 ",") (until 1000) }}`,
		`{{ range until 100000 }}{{ repeat 1000 "x" }}{{ end }}`,
		`{{ fromYaml "a: &a [1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b]" | toJson }}`,
		`{{ durationRound .Args.t }}`,
		`{{ printf "%v %v" .Args .Args.m }}`,
		`{{ with .Args.m }}{{ range $k, $v := . }}{{ $k }}={{ $v }}{{ end }}{{ end }}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		e, err := New([]Template{{Key: "k", Name: "t.yml", Body: text}}, false)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		release := e.Bind(ctx)
		defer release()
		data := map[string]any{"Args": map[string]any{
			"t": "{{ tpl .Args.t . }}",
			"l": []any{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20},
			"m": map[string]any{"a": []any{"x", map[string]any{"b": "y"}}, "n": nil},
			"s": strings.Repeat("z", 100),
		}}
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.Execute("k", data)
		}()
		select {
		case <-done:
		case <-time.After(8 * time.Second):
			t.Fatalf("still running 6s after the engine was stopped: %q", text)
		}
	})
}
