package render

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"gopkg.in/yaml.v3"
)

// Blocked lists the sprig functions templates do not get: they read the
// environment, the network or the clock, draw random numbers, or otherwise
// give different output on different runs. A template fetched from another
// team must not read CI secrets, and output must be reproducible.
var Blocked = []string{
	// environment and network
	"env", "expandenv", "getHostByName",
	// clock
	"now", "date", "date_in_zone", "dateInZone", "date_modify", "dateModify",
	"must_date_modify", "mustDateModify", "htmlDate", "htmlDateInZone",
	"ago", "toDate", "mustToDate",
	// randomness
	"randAlphaNum", "randAlpha", "randAscii", "randNumeric", "randBytes",
	"randInt", "uuidv4", "shuffle", "bcrypt", "htpasswd", "encryptAES",
	"genPrivateKey", "genCA", "genCAWithKey", "genSelfSignedCert",
	"genSelfSignedCertWithKey", "genSignedCert", "genSignedCertWithKey",
}

var blocked = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range Blocked {
		m[f] = true
	}
	return m
}()

// maxRange bounds the lists until/untilStep/seq/repeat may build, so a
// template cannot exhaust memory.
const maxRange = 100000

// maxItems bounds the list items until and untilStep build in one run, so
// nested loops cannot run for hours without output.
const maxItems = 2_000_000

// baseFuncs is sprig minus Blocked plus podlike's functions; include and tpl
// are bound per engine, and so is budget (list items left this run; nil:
// unbounded, for listing names).
func baseFuncs(budget *atomic.Int64) template.FuncMap {
	f := sprig.TxtFuncMap()
	for _, name := range Blocked {
		delete(f, name)
	}
	untilStep := f["untilStep"].(func(int, int, int) []int)
	repeat := f["repeat"].(func(int, string) string)
	extra := template.FuncMap{
		// text/template's own print functions, guarded like the others.
		"print":      fmt.Sprint,
		"printf":     fmt.Sprintf,
		"println":    fmt.Sprintln,
		"yaml":       toYAML,
		"toYaml":     toYAML,
		"fromYaml":   fromYAML,
		"notEmpty":   func(v any) bool { return !isEmpty(v) },
		"startsWith": func(prefix, s string) bool { return strings.HasPrefix(s, prefix) },
		"replace":    replace,
		"required":   required,
		"keys":       sortedKeys,
		"values":     sortedValues,
		"until": func(n int) ([]int, error) {
			return boundedRange(budget, 0, n, sign(n), untilStep)
		},
		"untilStep": func(start, stop, step int) ([]int, error) {
			return boundedRange(budget, start, stop, step, untilStep)
		},
		"repeat": repeat,
	}
	for k, v := range extra {
		f[k] = v
	}
	delete(f, "seq") // seq has no bound and a shell-like interface; until covers it
	return f
}

// boundedRange is sprig's untilStep with a bound on one list and on all
// lists of the run.
func boundedRange(budget *atomic.Int64, start, stop, step int, untilStep func(int, int, int) []int) ([]int, error) {
	if step != 0 {
		if count := (float64(stop) - float64(start)) / float64(step); count > maxRange {
			return nil, fmt.Errorf("a list of %.0f items is more than %d", count, maxRange)
		}
	}
	items := untilStep(start, stop, step)
	if budget != nil && budget.Add(-int64(len(items))) < 0 {
		return nil, fmt.Errorf("templates built more than %d list items in this run: does a loop nest too deep?", maxItems)
	}
	return items, nil
}

func sign(n int) int {
	if n < 0 {
		return -1
	}
	return 1
}

func toYAML(v any) (string, error) {
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(b), "\n"), nil
}

func fromYAML(s string) (map[string]any, error) {
	var m map[string]any
	err := yaml.Unmarshal([]byte(s), &m)
	return m, err
}

// replace accepts podlike's "replace OLD NEW N STR" and sprig's
// "replace OLD NEW STR".
func replace(old, new string, rest ...any) (string, error) {
	switch len(rest) {
	case 1:
		return strings.ReplaceAll(fmt.Sprint(rest[0]), old, new), nil
	case 2:
		n, ok := toInt(rest[0])
		if !ok {
			return "", fmt.Errorf("replace: count %v is not a number", rest[0])
		}
		return strings.Replace(fmt.Sprint(rest[1]), old, new, n), nil
	}
	return "", fmt.Errorf("replace: expected OLD NEW [N] STRING, got %d arguments", 2+len(rest))
}

func toInt(v any) (int, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return int(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int(rv.Uint()), true
	}
	return 0, false
}

// required fails on nil and "" only, as Helm's does: 0 and false are
// values.
func required(msg string, v any) (any, error) {
	if v == nil {
		return nil, fmt.Errorf("%s", msg)
	}
	if s, ok := v.(string); ok && s == "" {
		return nil, fmt.Errorf("%s", msg)
	}
	return v, nil
}

// isEmpty matches sprig's empty.
func isEmpty(v any) bool {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return true
	}
	switch rv.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return rv.Len() == 0
	case reflect.Bool:
		return !rv.Bool()
	case reflect.Complex64, reflect.Complex128:
		return rv.Complex() == 0
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return rv.Float() == 0
	case reflect.Interface, reflect.Ptr:
		return rv.IsNil()
	case reflect.Struct:
		return rv.IsZero()
	}
	return false
}

// sortedKeys is sprig's keys with a stable order.
func sortedKeys(dicts ...map[string]any) []string {
	var out []string
	seen := map[string]bool{}
	for _, d := range dicts {
		for k := range d {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// sortedValues is sprig's values in key order.
func sortedValues(d map[string]any) []any {
	keys := sortedKeys(d)
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = d[k]
	}
	return out
}

// FuncNames lists every function a template can call, sorted.
func FuncNames() []string {
	f := baseFuncs(nil)
	f["include"], f["tpl"] = nil, nil
	names := make([]string, 0, len(f))
	for k := range f {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
