package main

import (
	"io"
	"os"
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
