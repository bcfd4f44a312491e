package render

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"text/template"
	"time"
)

// Budgets of a render. Templates are untrusted code (they are shared
// across teams and fetched over HTTP), so everything a template can grow
// is bounded; the benchmark stack of 30 000 pods (internal/benchgen)
// renders about 12 MiB of template output in all, values of a few KiB and
// no include deeper than 2, far inside each.
const (
	// maxOutput caps one template execution's output (also one include or
	// tpl result).
	maxOutput = 16 << 20
	// MaxTotalOutput caps the output of all template executions of a run,
	// so many templates each under maxOutput cannot add up to gigabytes.
	MaxTotalOutput = 256 << 20
	// MaxValue caps the weight (about the bytes it prints as) of any value
	// a function takes or returns: a string doubled with cat, or a dict
	// holding itself twice, nested 40 times, stops here instead of
	// exhausting memory when printed.
	MaxValue = 32 << 20
	// MaxDepth caps nested include and tpl calls, as Helm does: a
	// template that includes itself fails instead of exhausting the stack.
	MaxDepth = 1000
)

// errStopped is returned by every function once the render was cancelled
// or ran out of time, so a template that calls functions stops soon.
var errStopped = errors.New("the render was stopped")

// tooBig is a value over MaxValue.
type tooBig struct{ what string }

func (e *tooBig) Error() string {
	verb := "is"
	if strings.HasSuffix(e.what, "s") {
		verb = "are"
	}
	return fmt.Sprintf("%s %s larger than %d MiB: does a template double a value in a loop?", e.what, verb, MaxValue>>20)
}

// cycleError is a map or list that contains itself.
var errCycle = errors.New("a value contains itself (set or merge put a dict into itself); it cannot be printed or copied")

// weigher measures a value about as fmt would print it, stopping once over
// budget, and detects values that contain themselves.
type weigher struct {
	left  int
	path  map[[2]uintptr]bool // maps and lists on the current path
	memo  *sync.Map           // pointer -> weight, for immutable typed data
	depth int
}

func weigh(v reflect.Value, budget int, memo *sync.Map) (int, error) {
	w := &weigher{left: budget, memo: memo}
	if err := w.walk(v); err != nil {
		return 0, err
	}
	return budget - w.left, nil
}

func (w *weigher) enter(key [2]uintptr) error {
	if w.path == nil {
		w.path = map[[2]uintptr]bool{}
	}
	if w.path[key] {
		return errCycle
	}
	w.path[key] = true
	return nil
}

func (w *weigher) walk(v reflect.Value) error {
	w.left -= 2
	if w.left < 0 {
		return &tooBig{what: "a value"}
	}
	if !v.IsValid() {
		return nil
	}
	w.depth++
	defer func() { w.depth-- }()
	if w.depth > 10000 {
		return errors.New("a value nests deeper than 10000 levels")
	}
	switch v.Kind() {
	case reflect.String:
		w.left -= v.Len()
	case reflect.Interface:
		if !v.IsNil() {
			return w.walk(v.Elem())
		}
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		key := [2]uintptr{v.Pointer(), 0}
		// Typed data (.Project, .Job) sits behind pointers that templates
		// cannot change: weigh each once per run.
		if w.memo != nil && v.Elem().Kind() == reflect.Struct {
			if wt, ok := w.memo.Load(key); ok {
				w.left -= wt.(int)
				if w.left < 0 {
					return &tooBig{what: "a value"}
				}
				return nil
			}
		}
		if err := w.enter(key); err != nil {
			return err
		}
		before := w.left
		err := w.walk(v.Elem())
		delete(w.path, key)
		if err == nil && w.memo != nil && v.Elem().Kind() == reflect.Struct {
			w.memo.Store(key, before-w.left)
		}
		return err
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		key := [2]uintptr{v.Pointer(), 1}
		if err := w.enter(key); err != nil {
			return err
		}
		it := v.MapRange()
		for it.Next() {
			if err := w.walk(it.Key()); err != nil {
				return err
			}
			if err := w.walk(it.Value()); err != nil {
				return err
			}
		}
		delete(w.path, key)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			w.left -= 4 * v.Len() // printed as numbers
			break
		}
		if v.Len() == 0 {
			break
		}
		key := [2]uintptr{v.Pointer(), uintptr(v.Len())}
		if err := w.enter(key); err != nil {
			return err
		}
		for i := 0; i < v.Len(); i++ {
			if err := w.walk(v.Index(i)); err != nil {
				return err
			}
		}
		delete(w.path, key)
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if err := w.walk(v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if err := w.walk(v.Field(i)); err != nil {
				return err
			}
		}
	default:
		w.left -= 6 // a number, a bool
	}
	if w.left < 0 {
		return &tooBig{what: "a value"}
	}
	return nil
}

var errorType = reflect.TypeOf((*error)(nil)).Elem()

// dynamic says whether values of t can hold maps, lists or structs, the
// values that can grow without bound or contain themselves.
func dynamic(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Interface, reflect.Map, reflect.Slice, reflect.Array, reflect.Struct, reflect.Pointer:
		return t != errorType
	}
	return false
}

// guard wraps fn so that it checks the render was not stopped, weighs its
// arguments before the call and its result after it, and returns an error
// where the function would panic or loop. Functions of strings and numbers
// only are left alone unless grow says they multiply their input.
func (e *Engine) guard(name string, fn any) any {
	v := reflect.ValueOf(fn)
	t := v.Type()
	if t.Kind() != reflect.Func || t.NumOut() == 0 || t.NumOut() > 2 {
		return fn
	}
	if t.NumOut() == 2 && t.Out(1) != errorType {
		return fn
	}
	wrap := grow[name] != nil
	for i := 0; i < t.NumIn(); i++ {
		wrap = wrap || dynamic(t.In(i))
	}
	wrap = wrap || dynamic(t.Out(0))
	if !wrap {
		return fn
	}
	in := make([]reflect.Type, t.NumIn())
	for i := range in {
		in[i] = t.In(i)
	}
	ft := reflect.FuncOf(in, []reflect.Type{t.Out(0), errorType}, t.IsVariadic())
	zero := reflect.Zero(t.Out(0))
	fail := func(err error) []reflect.Value {
		return []reflect.Value{zero, reflect.ValueOf(&err).Elem()}
	}
	pre := grow[name]
	return reflect.MakeFunc(ft, func(args []reflect.Value) []reflect.Value {
		if e.stopped.Load() {
			return fail(errStopped)
		}
		total := 0
		for _, a := range args {
			n, err := weigh(a, MaxValue-total, &e.weights)
			if err != nil {
				if tb := (*tooBig)(nil); errors.As(err, &tb) {
					tb.what = "its arguments"
				}
				return fail(err)
			}
			total += n
		}
		if pre != nil {
			if err := pre(args); err != nil {
				return fail(err)
			}
		}
		var res []reflect.Value
		if t.IsVariadic() {
			res = v.CallSlice(args)
		} else {
			res = v.Call(args)
		}
		if len(res) == 2 && !res[1].IsNil() {
			return res
		}
		if _, err := weigh(res[0], MaxValue, &e.weights); err != nil {
			if tb := (*tooBig)(nil); errors.As(err, &tb) {
				tb.what = "its result"
			}
			return fail(err)
		}
		return []reflect.Value{res[0], reflect.Zero(errorType)}
	}).Interface()
}

// grow holds checks, before the call, for functions whose result can be
// far larger than their arguments.
var grow = map[string]func(args []reflect.Value) error{
	"repeat": func(a []reflect.Value) error {
		return within(a[0].Int(), int64(a[1].Len()))
	},
	"indent": func(a []reflect.Value) error {
		return within(a[0].Int(), int64(strings.Count(a[1].String(), "\n")+1))
	},
	"nindent": func(a []reflect.Value) error {
		return within(a[0].Int(), int64(strings.Count(a[1].String(), "\n")+1))
	},
	"replace": func(a []reflect.Value) error {
		old, repl := a[0].String(), a[1].String()
		n := 0
		if rest := a[2]; rest.Len() > 0 {
			n = len(fmt.Sprint(rest.Index(rest.Len() - 1).Interface()))
		}
		if old == "" {
			return within(int64(n+1), int64(len(repl)))
		}
		return within(int64(n/len(old)+1), int64(len(repl)))
	},
	"join": func(a []reflect.Value) error {
		list := reflect.Indirect(a[1])
		for list.Kind() == reflect.Interface && !list.IsNil() {
			list = list.Elem()
		}
		if list.Kind() == reflect.Slice || list.Kind() == reflect.Array {
			return within(int64(list.Len()), int64(a[0].Len()))
		}
		return nil
	},
	"regexReplaceAll":            regexGrow,
	"regexReplaceAllLiteral":     regexGrow,
	"mustRegexReplaceAll":        regexGrow,
	"mustRegexReplaceAllLiteral": regexGrow,
	"durationRound": func(a []reflect.Value) error {
		v := a[0]
		for v.Kind() == reflect.Interface && !v.IsNil() {
			v = v.Elem()
		}
		if v.IsValid() && v.Type() == reflect.TypeOf(time.Time{}) {
			return errors.New("durationRound of a time measures it from the clock, which templates do not read; pass a duration")
		}
		return nil
	},
}

// regexGrow bounds regexReplaceAll REGEX STRING REPLACEMENT: every match
// (at most one per byte, plus one) becomes the replacement, whose $1
// references repeat the matched text.
func regexGrow(a []reflect.Value) error {
	s, repl := a[1].String(), a[2].String()
	refs := int64(strings.Count(repl, "$"))
	if err := within(int64(len(s)+1), int64(len(repl))); err != nil {
		return err
	}
	return within(refs+1, int64(len(s)))
}

// within checks that n copies of size bytes stay under MaxValue.
func within(n, size int64) error {
	if n < 0 {
		n = -n
	}
	if n > 0 && size > 0 && (n > MaxValue || size > MaxValue || n*size > MaxValue) {
		return &tooBig{what: "its result"}
	}
	return nil
}

// mutators are sprig's functions that change a dict in place. They may
// change only plain dicts (from dict, fromYaml, or .Args, which each
// execution gets its own copy of), never the typed stack data that
// executions share, and may never put a dict into itself.
var mutators = map[string]bool{
	"set": true, "unset": true, "merge": true, "mergeOverwrite": true,
	"mustMerge": true, "mustMergeOverwrite": true,
}

// guardMutator wraps set, unset and the merge family.
func guardMutator(name string, fn any) any {
	v := reflect.ValueOf(fn)
	t := v.Type()
	in := make([]reflect.Type, t.NumIn())
	for i := range in {
		in[i] = t.In(i)
	}
	// The first argument is taken as any, so a typed map (whose type the
	// call would otherwise convert away) can be refused.
	in[0] = reflect.TypeOf((*any)(nil)).Elem()
	ft := reflect.FuncOf(in, []reflect.Type{t.Out(0), errorType}, t.IsVariadic())
	zero := reflect.Zero(t.Out(0))
	plain := reflect.TypeOf(map[string]any(nil))
	return reflect.MakeFunc(ft, func(args []reflect.Value) []reflect.Value {
		fail := func(err error) []reflect.Value {
			return []reflect.Value{zero, reflect.ValueOf(&err).Elem()}
		}
		dst := args[0].Elem()
		if !dst.IsValid() || dst.Type() != plain || dst.IsNil() {
			return fail(errors.New("only a dict made by a template (dict, fromYaml) or .Args can be changed; the stack's typed data is shared by every template"))
		}
		target := dst.Pointer()
		for _, a := range args[1:] {
			if reaches(a, target, map[[2]uintptr]bool{}) {
				return fail(errors.New("this would put a dict into itself, and a value that contains itself cannot be printed"))
			}
		}
		call := append([]reflect.Value{dst}, args[1:]...)
		var res []reflect.Value
		if t.IsVariadic() {
			res = v.CallSlice(call)
		} else {
			res = v.Call(call)
		}
		if len(res) == 2 {
			return res
		}
		return []reflect.Value{res[0], reflect.Zero(errorType)}
	}).Interface()
}

// reaches says whether v holds the map whose pointer is target.
func reaches(v reflect.Value, target uintptr, seen map[[2]uintptr]bool) bool {
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return false
		}
		if v.Kind() == reflect.Pointer {
			key := [2]uintptr{v.Pointer(), 0}
			if seen[key] {
				return false
			}
			seen[key] = true
		}
		return reaches(v.Elem(), target, seen)
	case reflect.Map:
		if v.IsNil() {
			return false
		}
		if v.Pointer() == target {
			return true
		}
		key := [2]uintptr{v.Pointer(), 1}
		if seen[key] {
			return false
		}
		seen[key] = true
		it := v.MapRange()
		for it.Next() {
			if reaches(it.Value(), target, seen) {
				return true
			}
		}
	case reflect.Slice:
		if v.Len() == 0 || v.Type().Elem().Kind() == reflect.Uint8 {
			return false
		}
		key := [2]uintptr{v.Pointer(), uintptr(v.Len())}
		if seen[key] {
			return false
		}
		seen[key] = true
		for i := 0; i < v.Len(); i++ {
			if reaches(v.Index(i), target, seen) {
				return true
			}
		}
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if reaches(v.Index(i), target, seen) {
				return true
			}
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if reaches(v.Field(i), target, seen) {
				return true
			}
		}
	}
	return false
}

// guardFuncs wraps every function of f.
func (e *Engine) guardFuncs(f template.FuncMap) template.FuncMap {
	out := make(template.FuncMap, len(f))
	for name, fn := range f {
		if mutators[name] {
			fn = guardMutator(name, fn)
		}
		out[name] = e.guard(name, fn)
	}
	return out
}

// copyArgs deep-copies plain maps and lists, so each execution may change
// its .Args (with set) without racing the executions of other services.
func copyArgs(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = copyArgs(x)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, x := range v {
			l[i] = copyArgs(x)
		}
		return l
	}
	return v
}
