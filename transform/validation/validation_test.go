package validation

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/docker/cli/cli/compose/schema"
	"github.com/podtemplate/podtemplate/transform/config"
	"github.com/podtemplate/podtemplate/transform/load"
	"github.com/podtemplate/podtemplate/transform/validation/internal/fastschema"
)

var envLine = regexp.MustCompile(`(?m)^# env:(.*)$`)

// loadStack reads one stack file as the pipeline hands it to Check.
func loadStack(t *testing.T, dir, name string, data []byte) (*load.File, Options) {
	t.Helper()
	env := map[string]string{"HOME": "/home/test"}
	for _, m := range envLine.FindAllStringSubmatch(string(data), -1) {
		for _, kv := range strings.Fields(m[1]) {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	}
	f, err := load.Parse(name, dir, data)
	if err != nil {
		t.Skipf("not a stack file: %v", err)
	}
	if err := load.Interpolate(f, env, nil); err != nil {
		return nil, Options{}
	}
	cfg, _ := config.Collect([]*load.File{f})
	config.Strip([]*load.File{f})
	opts := Options{Env: env, Pods: map[string]bool{}, Built: map[string]bool{}}
	if cfg != nil {
		for n := range cfg.Pods {
			opts.Pods[n] = true
		}
	}
	return f, opts
}

// exactProblems runs the exact (per service) check alone.
func exactProblems(t *testing.T, f *load.File, opts Options) bool {
	t.Helper()
	c := &checkedFile{file: f}
	dict, err := toDict(f)
	if err != nil {
		return true
	}
	c.dict = dict
	c.version = versionOf(f)
	if c.forbidden() != nil {
		return true
	}
	c.exemptPodKeys(opts)
	return c.exactCheck(opts) != nil
}

// TestFastCheckAgreesWithExact checks the shape abstraction on every
// stack of the differential corpus and on variants of each: the fast check
// (each distinct shape once) accepts exactly what docker's schema and
// loader accept service by service.
func TestFastCheckAgreesWithExact(t *testing.T) {
	root := filepath.Join("..", "..", "testdata", "docker")
	paths, _ := filepath.Glob(filepath.Join(root, "*.yml"))
	if len(paths) < 100 {
		t.Fatalf("only %d corpus files", len(paths))
	}
	variants := []struct{ from, to string }{
		{"", ""},
		{`"80:80"`, `"80:80", "80:80"`}, // a duplicate port
		{"- RACK_ENV=development", "- SHOW=true\n  - SHOW=true"}, // a duplicate list entry
		{"image: nginx", "image: \"nginx\"\n    labels: {a: true}"},
		{"8000:8000", "80000:8000"},
		{"3000-3005", "3005-3000"},
		{"image: nginx:1.25", "image: [nginx]"},
	}
	checked := 0
	observed := 0
	observeSchemaCheck = func(doc map[string]any, version string, r fastschema.Result) {
		observed++
		acceptorAgrees(t, doc, version)
	}
	defer func() { observeSchemaCheck = nil }()
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range variants {
			if v.from != "" && !strings.Contains(string(data), v.from) {
				continue
			}
			text := strings.Replace(string(data), v.from, v.to, 1)
			name := filepath.Base(p)
			t.Run(name+"/"+string(rune('a'+i)), func(t *testing.T) {
				f, opts := loadStack(t, root, name, []byte(text))
				if f == nil || aliasCycle(f) != nil || stringKeys(f) != nil {
					return
				}
				c := &checkedFile{file: f, version: versionOf(f)}
				if c.forbidden() != nil {
					return
				}
				fast := c.fastValid(opts)
				exact := !exactProblems(t, f, opts)
				if fast != exact {
					t.Fatalf("fast check says valid=%v, exact check valid=%v:\n%s", fast, exact, text)
				}
				// fastschema against docker's schema: on the whole file,
				// each service alone, and (observed) every document the
				// checks above asked about.
				dict, err := toDict(f)
				if err != nil {
					return
				}
				acceptorAgrees(t, dict, c.version)
				services, _ := dict["services"].(map[string]any)
				for name, svc := range services {
					one := map[string]any{"services": map[string]any{name: svc}}
					if v, ok := dict["version"]; ok {
						one["version"] = v
					}
					acceptorAgrees(t, one, c.version)
				}
				checked++
			})
		}
	}
	if checked < 150 || observed < 150 {
		t.Errorf("only %d inputs compared, %d documents observed", checked, observed)
	}
}

// acceptorAgrees fails when fastschema contradicts docker's schema on doc,
// or is unsure of a document docker accepts (every such document of the
// corpus costs a schema compilation).
func acceptorAgrees(t *testing.T, doc map[string]any, version string) {
	t.Helper()
	got := fastschema.Check(doc, version)
	err := schema.Validate(doc, version)
	switch {
	case got == fastschema.Valid && err != nil, got == fastschema.Invalid && err == nil:
		t.Fatalf("fastschema says %v; docker's schema: %v\n%v", got, err, doc)
	case got == fastschema.Unsure && err == nil:
		t.Errorf("fastschema is unsure of a document docker's schema accepts:\n%v", doc)
	}
}

// TestServiceNameIsTheSchemasPattern checks the hand matcher against the
// schemas' regular expression.
func TestServiceNameIsTheSchemasPattern(t *testing.T) {
	re := regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)
	for _, s := range []string{"", "a", "web_1", "Web.2-x", "a b", "a/b", "é", "a\n", "\na", "-", ".", "_", "x:y", "日本", "a\x00"} {
		if got, want := IsName(s), re.MatchString(s); got != want {
			t.Errorf("IsName(%q) = %v; the pattern says %v", s, got, want)
		}
	}
	for c := 0; c < 256; c++ {
		s := "a" + string([]byte{byte(c)})
		if got, want := IsName(s), re.MatchString(s); got != want {
			t.Errorf("IsName(%q) = %v; the pattern says %v", s, got, want)
		}
	}
}
