package render

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
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
	// Output is kept (parsed, then encoded) until the stack is written,
	// so this also bounds the memory templates can take: 64 MiB is five
	// times the 30 000-pod benchmark's.
	MaxTotalOutput = 64 << 20
	// MaxValue caps the weight (about the bytes it prints as) of any value
	// a function takes or returns: a string doubled with cat, or a dict
	// holding itself twice, nested 40 times, stops here instead of
	// exhausting memory when printed.
	MaxValue = 32 << 20
	// MaxDepth caps nested include and tpl calls, as Helm does: a
	// template that includes itself fails instead of exhausting the stack.
	MaxDepth = 1000
)

// ErrBudgetSpent is the error of every execution that spends the rest of
// the run's total output budget or starts after it was spent. Which
// services those are depends on scheduling, so the compiler reports the
// budget once, for the run.
var ErrBudgetSpent = &limitError{fmt.Sprintf("templates wrote more than %d MiB in all in this run: does a template loop?", MaxTotalOutput>>20)}

// errStopped is returned by every function once the render was cancelled
// or ran out of time, so a template that calls functions stops soon.
var errStopped = &limitError{"the render was stopped"}

// errIterations is MaxIterations passed.
var errIterations = &limitError{fmt.Sprintf("ranges and template calls ran more than %d times in one template: does a loop nest too deep, or a template call itself?", MaxIterations)}

// limitError is a budget or a stop: it is passed up unchanged through
// the include, tpl and template calls that led to it, instead of being
// wrapped once per level.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }
func (*limitError) limit()          {}

// limitOf returns the limit error in err's chain, if any.
func limitOf(err error) error {
	var l interface {
		error
		limit()
	}
	if errors.As(err, &l) {
		return l
	}
	return nil
}

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
	done  map[[2]uintptr]int  // maps and lists weighed in this walk
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

// enter marks a map or list as on the path; seen says it was weighed
// already in this walk (a value shared in several places, as a dict that
// holds one dict twice), and its weight was counted again.
func (w *weigher) enter(key [2]uintptr) (seen bool, err error) {
	if w.path == nil {
		w.path, w.done = map[[2]uintptr]bool{}, map[[2]uintptr]int{}
	}
	if w.path[key] {
		return false, errCycle
	}
	if wt, ok := w.done[key]; ok {
		w.left -= wt
		if w.left < 0 {
			return true, &tooBig{what: "a value"}
		}
		return true, nil
	}
	w.path[key] = true
	return false, nil
}

// leave unmarks key, remembering its weight.
func (w *weigher) leave(key [2]uintptr, before int) {
	delete(w.path, key)
	w.done[key] = before - w.left
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
		if seen, err := w.enter(key); seen || err != nil {
			return err
		}
		before := w.left
		err := w.walk(v.Elem())
		w.leave(key, before)
		if err == nil && w.memo != nil && v.Elem().Kind() == reflect.Struct {
			w.memo.Store(key, before-w.left)
		}
		return err
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		key := [2]uintptr{v.Pointer(), 1}
		if seen, err := w.enter(key); seen || err != nil {
			return err
		}
		before := w.left
		it := v.MapRange()
		for it.Next() {
			if err := w.walk(it.Key()); err != nil {
				return err
			}
			if err := w.walk(it.Value()); err != nil {
				return err
			}
		}
		w.leave(key, before)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			w.left -= 4 * v.Len() // printed as numbers
			break
		}
		if v.Len() == 0 {
			break
		}
		key := [2]uintptr{v.Pointer(), uintptr(v.Len())}
		if seen, err := w.enter(key); seen || err != nil {
			return err
		}
		before := w.left
		for i := 0; i < v.Len(); i++ {
			if err := w.walk(v.Index(i)); err != nil {
				return err
			}
		}
		w.leave(key, before)
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
	// A string result is weighed too (b64enc or cat in a loop doubles a
	// string without any argument being large).
	wrap = wrap || dynamic(t.Out(0)) || t.Out(0).Kind() == reflect.String
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

// mutates says whether templates calling the functions called (from
// calledFuncs) can change their data: they call a mutator or tpl (whose
// text, known only when it runs, may call one), or the list may miss some.
func mutates(called map[string]bool, unknown bool) bool {
	if unknown || called["tpl"] {
		return true
	}
	for name := range called {
		if mutators[name] {
			return true
		}
	}
	return false
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
		out[name] = e.guardFunc(name, fn)
	}
	return out
}

// guardFunc wraps one function (see guard and guardMutator).
func (e *Engine) guardFunc(name string, fn any) any {
	if mutators[name] {
		fn = guardMutator(name, fn)
	}
	return e.guard(name, fn)
}

// guardUsed wraps the functions of f that the parsed set calls (called,
// from calledFuncs), or all of them when a template calls tpl (whose
// text, known only when it runs, can call any) or the list may miss some:
// only called functions run, and wrapping one costs a reflect.FuncOf and
// a reflect.MakeFunc, a third of a small render's set-up for sprig's two
// hundred functions when a set calls a dozen.
func (e *Engine) guardUsed(f template.FuncMap, called map[string]bool, unknown bool) template.FuncMap {
	if unknown || called["tpl"] {
		return e.guardFuncs(f)
	}
	out := make(template.FuncMap, len(called))
	for name := range called {
		if fn, ok := f[name]; ok {
			out[name] = e.guardFunc(name, fn)
		}
	}
	return out
}

// calledFuncs lists the function names the trees call. unknown is true
// when they hold a node calledFuncs does not know (the list may then miss
// some).
func calledFuncs(trees []*parse.Tree) (names map[string]bool, unknown bool) {
	names = map[string]bool{}
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case nil:
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.ChainNode:
			walk(n.Node)
		case *parse.IdentifierNode:
			names[n.Ident] = true
		case *parse.IfNode:
			walk(&n.BranchNode)
		case *parse.RangeNode:
			walk(&n.BranchNode)
		case *parse.WithNode:
			walk(&n.BranchNode)
		case *parse.BranchNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
		case *parse.TextNode, *parse.CommentNode, *parse.BreakNode, *parse.ContinueNode,
			*parse.DotNode, *parse.NilNode, *parse.FieldNode, *parse.VariableNode,
			*parse.BoolNode, *parse.NumberNode, *parse.StringNode:
		default:
			unknown = true
		}
	}
	for _, t := range trees {
		if t != nil {
			walk(t.Root)
		}
	}
	return names, unknown
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

// tickName is the function a range body calls on every iteration; no
// template can name it (it is not an identifier a user would write, and
// its result is always empty).
const tickName = "podtemplateRangeTick"

// MaxIterations caps the range iterations and template calls of one
// template execution (with what it includes): templates for a service
// loop over its ports, labels or args, tens of times; a loop of loops, or
// a template calling itself twice, multiplies. It is checked by a call on
// each iteration and each {{ template }}, which also notices a stopped
// render (text/template itself has no cancellation point). Many
// executions each under it are bounded by the time budget.
const MaxIterations = 1_000_000

// callName is the function each {{ template "name" X }} is rewritten to
// call, so template recursion is counted and bounded like include.
const callName = "podtemplateCall"

// tick is called on every range iteration.
func (x *executor) tick() (string, error) {
	if x.e.stopped.Load() {
		return "", errStopped
	}
	x.iterations++
	if x.iterations > MaxIterations {
		return "", errIterations
	}
	return "", nil
}

// call runs {{ template name data }}.
func (x *executor) call(name string, data any) (string, error) {
	if _, err := x.tick(); err != nil {
		return "", err
	}
	t := x.root.Lookup(name)
	if t == nil {
		return "", fmt.Errorf("no template %q", name)
	}
	return x.executeNested(t, "template "+strconv.Quote(name), data)
}

// addTicks makes the body of every range call tick first, and every
// {{ template }} a call of callName.
func addTicks(tree *parse.Tree) {
	if tree == nil || tree.Root == nil {
		return
	}
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for i, c := range n.Nodes {
				if t, ok := c.(*parse.TemplateNode); ok {
					n.Nodes[i] = templateCall(tree, t)
					continue
				}
				walk(c)
			}
		case *parse.IfNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.List)
			walk(n.ElseList)
			if n.List != nil {
				pos := n.Position()
				call := &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos,
					Args: []parse.Node{parse.NewIdentifier(tickName).SetTree(tree).SetPos(pos)}}
				action := &parse.ActionNode{NodeType: parse.NodeAction, Pos: pos, Line: n.Line,
					Pipe: &parse.PipeNode{NodeType: parse.NodePipe, Pos: pos, Line: n.Line, Cmds: []*parse.CommandNode{call}}}
				n.List.Nodes = append([]parse.Node{action}, n.List.Nodes...)
			}
		}
	}
	walk(tree.Root)
}

// A template must not see where it runs: time.Time values reach templates
// (an arg tagged !!timestamp, fromYaml), and their Local method, like
// anything else that formats in the local zone, would read TZ. The
// process's local zone is UTC; podtemplate prints no local times.
func init() { time.Local = time.UTC }

// templateCall is {{ template "name" X }} as {{ podtemplateCall "name" X }}.
func templateCall(tree *parse.Tree, t *parse.TemplateNode) parse.Node {
	pos := t.Position()
	var arg parse.Node = &parse.DotNode{NodeType: parse.NodeDot, Pos: pos}
	if t.Pipe != nil {
		arg = t.Pipe
	}
	name := &parse.StringNode{NodeType: parse.NodeString, Pos: pos, Quoted: strconv.Quote(t.Name), Text: t.Name}
	call := &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos,
		Args: []parse.Node{parse.NewIdentifier(callName).SetTree(tree).SetPos(pos), name, arg}}
	return &parse.ActionNode{NodeType: parse.NodeAction, Pos: pos, Line: t.Line,
		Pipe: &parse.PipeNode{NodeType: parse.NodePipe, Pos: pos, Line: t.Line, Cmds: []*parse.CommandNode{call}}}
}
