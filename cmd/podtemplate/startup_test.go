package main

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestStringArrayAsPflag checks stringArrayVarP against pflag's
// StringArrayVarP: same values, text, type, and usage lines.
func TestStringArrayAsPflag(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"-c", "a.yml"},
		{"-c", "a.yml", "--compose-file=b,c.yml", "-c", `q"uote`, "-c", ""},
	} {
		var ours, theirs []string
		a := pflag.NewFlagSet("ours", pflag.ContinueOnError)
		stringArrayVarP(a, &ours, "compose-file", "c", "Compose file to read (repeatable)")
		b := pflag.NewFlagSet("theirs", pflag.ContinueOnError)
		b.StringArrayVarP(&theirs, "compose-file", "c", nil, "Compose file to read (repeatable)")
		if err := a.Parse(args); err != nil {
			t.Fatal(err)
		}
		if err := b.Parse(args); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ours, theirs) {
			t.Errorf("%q: values %q, pflag's %q", args, ours, theirs)
		}
		fa, fb := a.Lookup("compose-file"), b.Lookup("compose-file")
		if fa.Value.String() != fb.Value.String() || fa.Value.Type() != fb.Value.Type() || fa.Changed != fb.Changed {
			t.Errorf("%q: %q %s %v, pflag's %q %s %v", args, fa.Value.String(), fa.Value.Type(), fa.Changed,
				fb.Value.String(), fb.Value.Type(), fb.Changed)
		}
		if a.FlagUsages() != b.FlagUsages() {
			t.Errorf("usage %q, pflag's %q", a.FlagUsages(), b.FlagUsages())
		}
		sa, sb := fa.Value.(pflag.SliceValue), fb.Value.(pflag.SliceValue)
		if !reflect.DeepEqual(sa.GetSlice(), sb.GetSlice()) {
			t.Errorf("%q: GetSlice %q, pflag's %q", args, sa.GetSlice(), sb.GetSlice())
		}
		for _, v := range []pflag.SliceValue{sa, sb} {
			_ = v.Append("x")
		}
		_ = sa.Replace([]string{"r", "s"})
		_ = sb.Replace([]string{"r", "s"})
		if !reflect.DeepEqual(ours, theirs) || !strings.HasPrefix(fa.Value.String(), "[r,s") {
			t.Errorf("%q: after Replace %q, pflag's %q", args, ours, theirs)
		}
	}
}

// BenchmarkNewRootCommand is the command tree every start builds.
func BenchmarkNewRootCommand(b *testing.B) {
	a := &app{stdin: os.Stdin, stdout: io.Discard, stderr: io.Discard}
	b.ReportAllocs()
	for b.Loop() {
		newRootCommand(a)
	}
}

// BenchmarkVersion is `podtemplate version` after the process started.
func BenchmarkVersion(b *testing.B) {
	a := &app{stdin: os.Stdin, stdout: io.Discard, stderr: io.Discard}
	b.ReportAllocs()
	for b.Loop() {
		if code := run([]string{"podtemplate", "version"}, a); code != 0 {
			b.Fatal(code)
		}
	}
}

// TestOneCommandTree checks that running a command from a tree that holds
// only it (newRootCommandFor) prints and exits as from the whole tree.
func TestOneCommandTree(t *testing.T) {
	dir := t.TempDir()
	stack := filepath.Join(dir, "stack.yml")
	if err := os.WriteFile(stack, []byte(tinyStack), 0o644); err != nil {
		t.Fatal(err)
	}
	argvs := [][]string{
		{"version"}, {"version", "--format", "json"}, {"version", "x"}, {"version", "--bogus"},
		{"render", "-c", stack}, {"render", "--file", stack, "--format", "json"}, {"render", "--values", "missing.yml", stack},
		{"render"}, {"render", "-c", "missing.yml"}, {"validate", stack}, {"validate", "--strict", "-c", stack},
		{"deploy"}, {"deploy", "-c", stack, "a", "b"}, {"run"}, {"diff"}, {"diff", "-c", stack},
		{"jobs"}, {"jobs", "bogus"}, {"jobs", "lss", "s"}, {"jobs", "ls"}, {"jobs", "wait"}, {"jobs", "--bogus"},
		{"templates"}, {"templates", "ls"}, {"templates", "list", "--format", "json"}, {"templates", "show", "builtin:healthcheck"},
		{"templates", "show", "nope"},
	}
	for _, c := range commands {
		argvs = append(argvs, []string{c.name, "--help"}, []string{c.name, "-h"}, []string{c.name, "--bogus"})
	}
	defer func() { wholeTree = false }()
	for _, argv := range argvs {
		wholeTree = true
		wantOut, wantErr, wantCode := runCLI(t, "", argv...)
		wholeTree = false
		out, errOut, code := runCLI(t, "", argv...)
		if out != wantOut || errOut != wantErr || code != wantCode {
			t.Errorf("%q: exit %d\n%s%s\nwhole tree: exit %d\n%s%s", argv, code, out, errOut, wantCode, wantOut, wantErr)
		}
	}
}
