package inputs

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseSet(t *testing.T) {
	for in, want := range map[string]map[string]any{
		"a=3":       {"a": 3},
		"a.b=true":  {"a": map[string]any{"b": true}},
		"a='3'":     {"a": "3"},
		"a=":        {"a": ""},
		"a=x=y":     {"a": "x=y"},
		"a.b.c=[1]": {"a": map[string]any{"b": map[string]any{"c": "[1]"}}},
	} {
		got, err := ParseSet(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseSet(%q) = %#v, %v; want %#v", in, got, err, want)
		}
	}
	for _, in := range []string{"a", "=3", "a..b=1", ".a=1"} {
		_, err := ParseSet(in)
		var fe *FlagError
		if !errors.As(err, &fe) || fe.Flag != "set" {
			t.Errorf("ParseSet(%q): error %v, want a FlagError", in, err)
		}
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("vars.env", "A=from-file\nB=from-file\n")
	write("args.yml", "Port: 80\nProxy: {Image: nginx}\n")
	write("lib/one.tpl", "")
	write("lib/two.tpl", "")
	write("lib/.hidden", "")
	v, err := Options{
		Env: map[string]string{"A": "from-env"}, EnvFiles: []string{"vars.env"},
		ArgsFiles: []string{"args.yml"}, Set: []string{"Proxy.Image=caddy"},
		Library: []string{"lib"},
	}.Resolve(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v.Env["A"] != "from-env" || v.Env["B"] != "from-file" {
		t.Errorf("env = %v; the environment must win over env files", v.Env)
	}
	if want := map[string]any{"Port": 80, "Proxy": map[string]any{"Image": "caddy"}}; !reflect.DeepEqual(v.Args, want) {
		t.Errorf("args = %#v; want %#v (--set over args files)", v.Args, want)
	}
	if len(v.Library) != 2 || filepath.Base(v.Library[0].Path) != "one.tpl" || filepath.Base(v.Library[1].Path) != "two.tpl" {
		t.Errorf("library = %v; want one.tpl, two.tpl", v.Library)
	}
	if _, err := (Options{Env: map[string]string{}, EnvFiles: []string{"missing.env"}}).Resolve(dir); err == nil {
		t.Error("a missing env file was accepted")
	}
}
