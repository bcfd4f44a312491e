package inputs

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/podtemplate/podtemplate/internal/fileio"
)

func TestParseSet(t *testing.T) {
	type m = map[string]any
	for in, want := range map[string]map[string]any{
		"a=3":                          {"a": 3},
		"a=-42":                        {"a": -42},
		"a=0":                          {"a": 0},
		"a.b=true":                     {"a": m{"b": true}},
		"a=TRUE,b=False":               {"a": true, "b": false},
		"a=null":                       {"a": nil},
		"a='3'":                        {"a": "'3'"},
		"a=":                           {"a": ""},
		"a=x=y":                        {"a": "x=y"},
		"a.b.c=[1]":                    {"a": m{"b": m{"c": "[1]"}}},
		"Sidecar.Tag=1.10":             {"Sidecar": m{"Tag": "1.10"}},
		"Msg=0123456":                  {"Msg": "0123456"},
		"Msg=1234e56":                  {"Msg": "1234e56"},
		"Msg=1e5":                      {"Msg": "1e5"},
		"v=3.0":                        {"v": "3.0"},
		"v=0x1F":                       {"v": "0x1F"},
		"Version=4a2f0c1":              {"Version": "4a2f0c1"},
		"Version=1234567":              {"Version": 1234567},
		"Version=99999999999999999999": {"Version": "99999999999999999999"},
		"a=yes,b=on,c=~":               {"a": "yes", "b": "on", "c": "~"},
		"a=1,b=2":                      {"a": 1, "b": 2},
		"a.b=1,a.c=2":                  {"a": m{"b": 1, "c": 2}},
		"list[0]=x":                    {"list": []any{"x"}},
		"list[2]=x":                    {"list": []any{nil, nil, "x"}},
		"list[0]=x,list[1]=y":          {"list": []any{"x", "y"}},
		"list[1].name=b":               {"list": []any{nil, m{"name": "b"}}},
		"list[0][1]=z":                 {"list": []any{[]any{nil, "z"}}},
		"list={a,1,true}":              {"list": []any{"a", 1, true}},
		"list={a,b},c=d":               {"list": []any{"a", "b"}, "c": "d"},
		`a\.b=1`:                       {"a.b": 1},
		`msg=x\,y`:                     {"msg": "x,y"},
		"a=1,a=2":                      {"a": 2},
		"a=1,a.b=2":                    {"a": m{"b": 2}},
	} {
		got, err := ParseSet(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseSet(%q) = %#v, %v; want %#v", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"a":                              `key "a" has no value`,
		"=3":                             "empty key",
		"a..b=1":                         `empty key after "a."`,
		".a=1":                           "empty key",
		"a=1,b":                          `key "b" has no value`,
		"a,b=1":                          `key "a" has no value`,
		"a[x]=1":                         `list index "x"`,
		"a[-1]=1":                        `list index "-1"`,
		"a[99999999]=1":                  "over the limit",
		"a[0=1":                          "list index without ]",
		"a[0]b=1":                        `unexpected "b"`,
		"a={x,y":                         "must end with }",
		"":                               "expected KEY=VALUE",
		strings.Repeat("a.", 40) + "a=1": "nested deeper",
	} {
		_, err := ParseSet(in)
		var fe *FlagError
		if !errors.As(err, &fe) || fe.Flag != "set" || fe.Value != in || !strings.Contains(fe.Msg, msg) {
			t.Errorf("ParseSet(%q): error %v, want a FlagError saying %q", in, err, msg)
		}
	}
}

func TestSetValues(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "motd.txt"), []byte("hello, world\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := SetValues{
		Set:    []string{"a=1", "b=1.10", "j.x=from-set"},
		String: []string{"a=007,c=true"},
		File:   []string{"motd=motd.txt"},
		JSON:   []string{`j={"x":1,"y":[1,2.5,"s",null],"z":{"k":true}}`, "n=", `q="text",r=[1]`},
	}.Parse(dir)
	want := map[string]any{
		"a": "007", "b": "1.10", "c": "true", "motd": "hello, world\n",
		"j": map[string]any{"x": "from-set", "y": []any{1, 2.5, "s", nil}, "z": map[string]any{"k": true}},
		"n": nil, "q": "text", "r": []any{1},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Parse = %#v, %v\nwant %#v", got, err, want)
	}
	_, err = SetValues{File: []string{"motd=missing.txt"}}.Parse(dir)
	if err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("--set-file of a missing file: %v", err)
	}
	for _, dev := range []string{"/dev/zero", dir} {
		_, err = SetValues{File: []string{"z=" + dev}}.Parse(dir)
		if !errors.Is(err, fileio.ErrNotRegular) {
			t.Errorf("--set-file of %s: %v, want a not-a-regular-file error", dev, err)
		}
	}
	for _, bad := range []string{`j={"x":`, `j=[1] x`, "j=nope", "j=1e999", `j={"a":[-1e400]}`} {
		_, err = SetValues{JSON: []string{bad}}.Parse(dir)
		var fe *FlagError
		if !errors.As(err, &fe) || fe.Flag != "set-json" {
			t.Errorf("--set-json %q: error %v, want a FlagError", bad, err)
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
	// An empty args file, or one of comments only, holds no args.
	write("empty.yml", "")
	write("comments.yml", "# nothing yet\n")
	v, err = Options{Env: map[string]string{}, ArgsFiles: []string{"args.yml", "empty.yml", "comments.yml"}}.Resolve(dir)
	if err != nil || v.Args["Port"] != 80 {
		t.Errorf("empty args files: %v, %v", v, err)
	}
	// A syntax error in an args file is placed.
	write("nul.yml", "a: 1\nb: \"x\x00\"\n")
	write("tab.yml", "a:\n\tb: 1\n")
	for name, want := range map[string]string{"nul.yml": "nul.yml:2:6: invalid YAML: control characters are not allowed", "tab.yml": "tab.yml:2: invalid YAML: found character that cannot start any token"} {
		_, err := Options{Env: map[string]string{}, ArgsFiles: []string{name}}.Resolve(dir)
		if err == nil || err.Error() != want {
			t.Errorf("args file %s: %v, want %s", name, err, want)
		}
	}
	// A later env file sees the earlier ones' variables, and wins.
	write("more.env", "C=${B}-c\nB=second\n")
	v, err = Options{Env: map[string]string{"A": "from-env"}, EnvFiles: []string{"vars.env", "more.env"}}.Resolve(dir)
	if err != nil || v.Env["A"] != "from-env" || v.Env["B"] != "second" || v.Env["C"] != "from-file-c" {
		t.Errorf("two env files: %v, %v", v, err)
	}
	// A huge (sparse) env file is refused before it is read.
	write("huge.env", "")
	if err := os.Truncate(filepath.Join(dir, "huge.env"), 1<<40); err != nil {
		t.Fatal(err)
	}
	if _, err := (Options{Env: map[string]string{}, EnvFiles: []string{"huge.env"}}).Resolve(dir); err == nil || !strings.Contains(err.Error(), "huge.env: the env file is larger than") {
		t.Errorf("a huge env file: %v", err)
	}
}

func TestFlagErrorCutsLongValues(t *testing.T) {
	long := "a=" + strings.Repeat("é", 5000)
	_, err := SetValues{JSON: []string{long}}.Parse("")
	if err == nil {
		t.Fatal("a bad --set-json value was accepted")
	}
	msg := err.Error()
	if len(msg) > 400 || !strings.Contains(msg, `... (10002 bytes)`) || !utf8.ValidString(msg) {
		t.Errorf("error of %d bytes: %.500s", len(msg), msg)
	}
	short := (&FlagError{Flag: "set", Value: "a=b", Msg: "m"}).Error()
	if short != `--set "a=b": m` {
		t.Errorf("short value: %s", short)
	}
}
