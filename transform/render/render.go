// Package render is the template stage: it parses every template source
// once into one template set (so {{ define }} blocks are shared across the
// run, as library files need), executes templates with .Service, .Args,
// .Project and .Job, and parses each result as a YAML mapping.
package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"text/template/parse"

	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/internal/codec"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// Engine renders parsed templates. Execution is safe for concurrent use.
type Engine struct {
	root   *template.Template
	names  map[string]string // source key -> template name
	strict bool

	// parsed caches the parsed outputs seen more than once, by hash
	// (seen marks first sightings, without keeping the text).
	parsedMu sync.RWMutex
	parsed   map[uint64]parsedOutput
	seen     [seenSlots]atomic.Uint64
	seed     maphash.Seed
	budget   atomic.Int64     // list items templates may still build
	output   atomic.Int64     // output bytes templates may still write
	stopped  atomic.Bool      // the render was cancelled or ran out of time
	weights  sync.Map         // typed data pointer -> weight (see weigh)
	escape   bool             // $ -> $$ in every output value (see EscapeOutput)
	ticked   sync.Map         // *parse.Tree -> true once addTicks ran on it
	plans    map[string]*plan // template name -> its plan (see plan), if it has one
	// mutable says a template can change its data (it calls set, unset,
	// the merge family or tpl): each execution then gets its own copy of
	// the data mapping and of .Args.
	mutable bool

	mu        sync.Mutex
	executors []*executor // idle executors
}

// executor is one clone of the template set whose include and tpl count
// their nesting: an execution holds one for its whole run, so the count is
// that of the calls on its own stack.
type executor struct {
	e          *Engine
	root       *template.Template
	depth      int    // include and tpl calls on the stack
	iterations int    // range iterations of this execution
	out        capped // the output buffer of its top-level executions
}

// maxParsed bounds the cache of parsed outputs: templates that render the
// same text for many services (a pod template with a few arg values) are
// parsed once; unique outputs stop being cached once it is full.
const maxParsed = 4096

// seenSlots is how many first sightings of outputs are remembered. A
// sighting lost to another output in the same slot only delays caching.
const seenSlots = 1 << 13

// parsedOutput is a cached parse of one template's output.
type parsedOutput struct {
	name, out string
	node      *yaml.Node
}

// Template is a template's text to parse: its key, a display name and its
// text, and where the stack names it (for errors).
type Template struct {
	Key, Name, Body string
	Pos             diag.Pos
	Service         string
}

// New parses every template into one set. strict makes a missing key an
// error instead of empty.
func New(sources []Template, strict bool) (*Engine, error) {
	e := &Engine{names: map[string]string{}, strict: strict, parsed: map[uint64]parsedOutput{}, seed: maphash.MakeSeed()}
	missing := "missingkey=zero"
	if strict {
		missing = "missingkey=error"
	}
	e.budget.Store(maxItems)
	e.output.Store(MaxTotalOutput)
	base := baseFuncs(&e.budget)
	// Placeholders for parsing; each executor binds its own.
	placeholders := template.FuncMap{
		"include": func(string, any) (string, error) { return "", nil },
		"tpl":     func(string, any) (string, error) { return "", nil },
		tickName:  func() (string, error) { return "", nil },
		callName:  func(string, any) (string, error) { return "", nil },
	}
	e.root = template.New("").Option(missing)
	sort.Slice(sources, func(i, j int) bool { return sources[i].Key < sources[j].Key })
	used := map[string]bool{}
	names := make([]string, len(sources))
	for i, s := range sources {
		// text/template puts a template's name into the format of its
		// error messages, so a % (a URL's %20) would garble them: it is
		// shown as the fullwidth ％.
		display := strings.ReplaceAll(s.Name, "%", "\uFF05")
		name := display
		for i := 2; used[name]; i++ {
			name = fmt.Sprintf("%s#%d", display, i)
		}
		used[name] = true
		e.names[s.Key] = name
		names[i] = name
	}
	if sets, ok := parseUnchecked(sources, names, base, placeholders); ok {
		// The set holds only the functions its templates call (see
		// guardUsed), so registering and cloning it is cheap.
		for _, set := range sets {
			for name, tree := range set {
				if _, err := e.root.AddParseTree(name, tree); err != nil {
					return nil, err
				}
			}
		}
		e.root.Funcs(placeholders)
	} else {
		// Parsed with every function, as they are: the errors are
		// text/template's own.
		funcs := maps.Clone(base)
		maps.Copy(funcs, placeholders)
		e.root.Funcs(funcs)
		var errs diag.List
		for i, s := range sources {
			if _, err := e.root.New(names[i]).Parse(s.Body); err != nil {
				d := templateError(names[i], err).(*diag.Error)
				d.File, d.Line, d.Column = s.Pos.File, s.Pos.Line, s.Pos.Column
				errs.Add(d.WithService(s.Service))
			}
		}
		if err := errs.Err(); err != nil {
			return nil, err
		}
	}
	var trees []*parse.Tree
	for _, t := range e.root.Templates() {
		trees = append(trees, t.Tree)
	}
	called, unknown := calledFuncs(trees)
	e.root.Funcs(e.guardUsed(base, called, unknown))
	e.mutable = mutates(called, unknown)
	for _, tree := range trees {
		e.ticked.Store(tree, true)
		addTicks(tree)
	}
	e.plans = map[string]*plan{}
	for _, name := range e.names {
		if t := e.root.Lookup(name); t != nil {
			if p := newPlan(t.Tree); p != nil {
				e.plans[name] = p
			}
		}
	}
	return e, nil
}

// parseUnchecked parses each source as text/template does, but without
// looking its function names up (parse.SkipFuncCheck): registering
// sprig's two hundred functions on a set, and copying them into each
// executor's clone, cost a twentieth of a small render. ok is false when
// a source does not parse or calls a function that neither funcs,
// placeholders nor text/template's builtins define: New then parses the
// usual way, which gives text/template's own errors.
func parseUnchecked(sources []Template, names []string, funcs, placeholders template.FuncMap) (sets []map[string]*parse.Tree, ok bool) {
	sets = make([]map[string]*parse.Tree, len(sources))
	for i, s := range sources {
		t := parse.New(names[i])
		t.Mode = parse.SkipFuncCheck
		set := map[string]*parse.Tree{}
		if _, err := t.Parse(s.Body, "", "", set); err != nil {
			return nil, false
		}
		sets[i] = set
	}
	for _, set := range sets {
		called, unknown := calledFuncs(slices.Collect(maps.Values(set)))
		if unknown {
			return nil, false
		}
		for name := range called {
			if funcs[name] == nil && placeholders[name] == nil && !builtin(name) {
				return nil, false
			}
		}
	}
	return sets, true
}

// builtin says whether text/template defines function name itself.
func builtin(name string) bool {
	_, err := template.New("").Parse("{{" + name + "}}")
	return err == nil
}

// EscapeOutput makes every value of a template's output escaped for the
// deploy's interpolation ($ becomes $$). The compiler escapes the whole
// output when it interpolated the input; with --no-interpolate it escapes
// only template output: ${VAR} the stack's author wrote is left for the
// deploy, but a template (another team's code) must never make the
// deploy read the deployer's environment. Call it before any execution.
func (e *Engine) EscapeOutput() { e.escape = true }

// escapeDollars doubles every $ in the values (not the keys) of n.
func escapeDollars(n *yaml.Node) {
	switch n.Kind {
	case yaml.ScalarNode:
		n.Value = strings.ReplaceAll(n.Value, "$", "$$")
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			escapeDollars(n.Content[i])
		}
	default:
		for _, c := range n.Content {
			escapeDollars(c)
		}
	}
}

// Stop makes every template function fail from now on, so executions
// that call functions end soon; Bind calls it when its context is done.
func (e *Engine) Stop() { e.stopped.Store(true) }

// Bind stops the engine when ctx is done. The returned function releases
// the binding.
func (e *Engine) Bind(ctx context.Context) (release func() bool) {
	return context.AfterFunc(ctx, e.Stop)
}

// acquire returns an idle executor, or a new clone of the template set.
func (e *Engine) acquire() (*executor, error) {
	e.mu.Lock()
	if n := len(e.executors); n > 0 {
		x := e.executors[n-1]
		e.executors = e.executors[:n-1]
		e.mu.Unlock()
		return x, nil
	}
	e.mu.Unlock()
	root, err := e.root.Clone()
	if err != nil {
		return nil, err
	}
	x := &executor{e: e, root: root}
	root.Funcs(template.FuncMap{"include": x.include, "tpl": x.tpl, tickName: x.tick, callName: x.call})
	return x, nil
}

func (e *Engine) release(x *executor) {
	x.depth, x.iterations = 0, 0
	if x.out.Cap() > maxPooledOutput {
		x.out = capped{}
	}
	x.out.Reset()
	e.mu.Lock()
	e.executors = append(e.executors, x)
	e.mu.Unlock()
}

// Has reports whether a source key was parsed.
func (e *Engine) Has(key string) bool { _, ok := e.names[key]; return ok }

// Name returns the template name of a source key.
func (e *Engine) Name(key string) string { return e.names[key] }

// maxPooledOutput is the largest output buffer an idle executor keeps.
const maxPooledOutput = 1 << 20

// Execute runs the template of source key with data and returns its text.
// Where a template can change its data, a data mapping and its "Args" are
// copied first, so a template may change its own .Args.
func (e *Engine) Execute(key string, data any) (string, error) {
	name, ok := e.names[key]
	if !ok {
		return "", &diag.Error{Msg: "internal: template not loaded", Template: key}
	}
	if e.stopped.Load() {
		return "", &diag.Error{Template: name, Msg: errStopped.Error()}
	}
	if e.output.Load() <= 0 {
		return "", ErrBudgetSpent
	}
	p := e.plans[name]
	if m, ok := data.(map[string]any); ok && e.mutable && p == nil {
		if args, ok := m["Args"].(map[string]any); ok {
			c := make(map[string]any, len(m))
			for k, v := range m {
				c[k] = v
			}
			c["Args"] = copyArgs(args)
			data = c
		}
	}
	x, err := e.acquire()
	if err != nil {
		return "", err
	}
	defer e.release(x)
	t := x.root.Lookup(name)
	w := &x.out
	w.total = &e.output
	if err := execute(p, t, w, data); err != nil {
		if errors.Is(err, ErrBudgetSpent) {
			return "", ErrBudgetSpent
		}
		return "", templateError(name, err)
	}
	out := w.String()
	if !e.strict {
		out = strings.ReplaceAll(out, "<no value>", "")
	}
	return out, nil
}

// execute runs template t, by its plan p where it has one that applies.
func execute(p *plan, t *template.Template, w *capped, data any) error {
	if p != nil {
		if ok, err := p.run(w, data); ok {
			return err
		}
	}
	return t.Execute(w, data)
}

// Mapping runs the template of source key and parses its output as a YAML
// mapping (empty output is an empty mapping).
func (e *Engine) Mapping(key string, data any) (*yaml.Node, error) {
	out, err := e.Execute(key, data)
	if err != nil {
		return nil, err
	}
	name := e.names[key]
	h := e.outputHash(name, out)
	e.parsedMu.RLock()
	c, cached := e.parsed[h]
	e.parsedMu.RUnlock()
	if cached && c.name == name && c.out == out {
		return copyTree(c.node), nil
	}
	n, err := ParseOutput(name, out)
	if err != nil {
		return nil, err
	}
	if e.escape {
		escapeDollars(n)
	}
	// Keep a parsed copy only from an output's second sighting on, so
	// outputs unique to one service cost neither memory nor a key.
	if !cached && e.seen[h%seenSlots].Swap(h) == h {
		e.parsedMu.Lock()
		if _, ok := e.parsed[h]; !ok && len(e.parsed) < maxParsed {
			e.parsed[h] = parsedOutput{name: name, out: out, node: yamlx.Copy(n)}
		}
		e.parsedMu.Unlock()
	}
	return n, nil
}

// copyTree is yamlx.Copy of a cached output (no aliases or anchors: outputs
// are flattened) in two allocations, one for its nodes and one for their
// Content slices, instead of one for each: every service whose template
// renders a cached text gets a copy, as the build changes what it gets.
func copyTree(n *yaml.Node) *yaml.Node {
	nodes, slots := 0, 0
	yamlx.Walk(n, func(x *yaml.Node) {
		nodes++
		slots += len(x.Content)
	})
	block := make([]yaml.Node, nodes)
	content := make([]*yaml.Node, slots)
	var copyNode func(x *yaml.Node) *yaml.Node
	copyNode = func(x *yaml.Node) *yaml.Node {
		c := &block[0]
		block = block[1:]
		*c = *x
		c.Anchor, c.Alias = "", nil
		if len(x.Content) > 0 {
			c.Content = content[:len(x.Content):len(x.Content)]
			content = content[len(x.Content):]
			for i, child := range x.Content {
				c.Content[i] = copyNode(child)
			}
		}
		return c
	}
	return copyNode(n)
}

// outputHash identifies a template's output for the cache.
func (e *Engine) outputHash(name, out string) uint64 {
	var h maphash.Hash
	h.SetSeed(e.seed)
	h.WriteString(name)
	h.WriteByte(0)
	h.WriteString(out)
	return h.Sum64()
}

// maxOutputItems caps the lines and flow items (commas) of one template
// output: a parsed node takes a few hundred bytes, so a 14 MB output of
// "1," (inside maxOutput) parsed to 7 million nodes and 2.8 GB. An item
// is at most three nodes ("- a: 1"), so the cap keeps a parse under about
// 250 MB; a pod template renders tens of lines. Outputs of fewer than
// two bytes an item cannot reach it and are not counted.
const maxOutputItems = 250_000

// ParseOutput parses a template's output as a YAML mapping.
func ParseOutput(name, out string) (*yaml.Node, error) {
	if len(out) > 2*maxOutputItems {
		if n := strings.Count(out, "\n") + strings.Count(out, ","); n > maxOutputItems {
			return nil, &diag.Error{Template: name, Msg: fmt.Sprintf("rendered %d lines and list items, more than %d: does the template loop?", n, maxOutputItems)}
		}
	}
	// ParseFast declines any text holding '#', '&', '*' or "<<": an
	// output it parsed has no comments, anchors, aliases or merge keys.
	doc, fast := codec.ParseFast(out)
	if !fast {
		doc = &yaml.Node{}
		dec := yaml.NewDecoder(strings.NewReader(out))
		if err := dec.Decode(doc); err != nil && !errors.Is(err, io.EOF) {
			return nil, outputError(name, out, err)
		}
		var extra yaml.Node
		if err := dec.Decode(&extra); err == nil {
			return nil, &diag.Error{Template: name, Msg: fmt.Sprintf("rendered more than one YAML document (the next starts on line %d of the output); a template renders one mapping", extra.Line)}
		} else if !errors.Is(err, io.EOF) {
			return nil, outputError(name, out, err)
		}
	}
	body := yamlx.Body(doc)
	if doc.Kind == 0 || body == nil || yamlx.IsNull(body) {
		return yamlx.Map(), nil
	}
	if body.Kind != yaml.MappingNode {
		return nil, &diag.Error{Template: name, Msg: fmt.Sprintf("rendered %s; a template must render a YAML mapping", yamlx.KindName(body))}
	}
	if !fast && strings.Contains(out, "#") {
		// A template's comments are its own: they must not leak into
		// the services built from it.
		yamlx.Walk(body, func(n *yaml.Node) { n.HeadComment, n.LineComment, n.FootComment = "", "", "" })
	}
	if p := yamlx.CheckKeys(body); p != nil {
		return nil, &diag.Error{Template: name, Msg: fmt.Sprintf("line %d of its output: %s", p.Node.Line, p.Msg)}
	}
	// Two byte searches: ContainsAny builds an ASCII set on every call.
	if !fast && (strings.IndexByte(out, '&') >= 0 || strings.IndexByte(out, '*') >= 0 || strings.Contains(out, "<<")) {
		// anchors, aliases or merge keys
		if e := yamlx.CheckAliases(body); e != nil {
			msg := "rendered YAML whose " + e.Error()
			if e.Node != nil {
				msg = fmt.Sprintf("rendered YAML whose %s (line %d of the output)", e.Error(), e.Node.Line)
			}
			return nil, &diag.Error{Template: name, Msg: msg}
		}
		return yamlx.Flatten(body), nil
	}
	return body, nil
}

// The regular expressions read error messages only: compiled on first use,
// not at every start of the program.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

func outputError(name, out string, err error) error {
	p := yamlx.PlaceError([]byte(out), err)
	where := ""
	if p.Column > 0 {
		where = fmt.Sprintf(" (line %d, column %d of the output)", p.Line, p.Column)
	} else if lines := strings.Split(out, "\n"); p.Line >= 1 && p.Line <= len(lines) {
		where = fmt.Sprintf(" (line %d of the output: %q)", p.Line, strings.TrimRight(lines[p.Line-1], " "))
	}
	return &diag.Error{Template: name, Msg: "rendered invalid YAML: " + p.Msg + where}
}

// execRe matches an execution error; the "executing" anchor finds the
// line even when a template's name has colons ("inline template at f:7").
var execRe = lazyRegexp(`(?s)^template: (.*?):(\d+):(\d+): executing "([^"]*)" at <.*?>: (.*)$`)
var parseRe = lazyRegexp(`(?s)^template: (.*):(\d+): (.*)$`)
var undefinedFuncRe = lazyRegexp(`function "(\w+)" not defined`)

// templateError turns text/template's "template: NAME:LINE[:COL]: msg" into
// a diag.Error naming the template and line.
func templateError(name string, err error) error {
	var d *diag.Error
	if errors.As(err, &d) {
		return d
	}
	msg := err.Error()
	if m := execRe().FindStringSubmatch(msg); m != nil {
		if m[4] != name && m[4] != m[1] {
			return &diag.Error{Template: name, Msg: fmt.Sprintf("in %q, line %s: %s", m[4], m[2], cleanExecMsg(m[5]))}
		}
		return &diag.Error{Template: name, Msg: fmt.Sprintf("line %s: %s", m[2], cleanExecMsg(m[5]))}
	}
	if rest, ok := strings.CutPrefix(msg, "template: "+name+":"); ok {
		if line, text, ok := strings.Cut(rest, ": "); ok {
			return &diag.Error{Template: name, Msg: fmt.Sprintf("line %s: %s", line, cleanExecMsg(text))}
		}
	}
	if m := parseRe().FindStringSubmatch(msg); m != nil {
		return &diag.Error{Template: name, Msg: fmt.Sprintf("line %s: %s", m[2], cleanExecMsg(m[3]))}
	}
	return &diag.Error{Template: name, Msg: cleanExecMsg(strings.TrimPrefix(msg, "template: "))}
}

// includeError words an error inside an included template for the
// include call's own error.
func includeError(err error) error {
	if m := execRe().FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("in %q, line %s: %s", m[4], m[2], cleanExecMsg(m[5]))
	}
	return err
}

var errCallingRe = lazyRegexp(`error calling (\w+): `)

// cleanExecMsg shortens text/template's wording and explains what a user
// would not guess: a blocked function, a missing {{ end }}.
func cleanExecMsg(s string) string {
	// "<.Args.X>: error calling required: msg" -> "required: msg"
	if i := strings.Index(s, ">: "); i >= 0 && strings.HasPrefix(s, "<") {
		s = s[i+3:]
	}
	s = errCallingRe().ReplaceAllString(s, "$1: ")
	s = strings.ReplaceAll(s, tickName+": ", "")
	s = strings.ReplaceAll(s, callName+": ", "")
	if m := undefinedFuncRe().FindStringSubmatch(s); m != nil && blocked[m[1]] {
		s = fmt.Sprintf("function %q is blocked: templates may not read the environment, the network or the clock, or draw random numbers (pass the value as an arg)", m[1])
	}
	if strings.Contains(s, "unexpected EOF") {
		s += " (an {{ if }}, {{ range }}, {{ with }} or {{ define }} is missing its {{ end }}, or an action its }})"
	}
	return s
}

// capped is a template's output buffer, bounded by maxOutput and by what
// is left of the run's total.
type capped struct {
	bytes.Buffer
	total *atomic.Int64 // nil: not counted in the run's total
}

func (c *capped) Write(p []byte) (int, error) {
	if c.Len()+len(p) > maxOutput {
		return 0, fmt.Errorf("output larger than %d MiB: does the template loop?", maxOutput>>20)
	}
	if c.total != nil && c.total.Add(-int64(len(p))) < 0 {
		return 0, ErrBudgetSpent
	}
	return c.Buffer.Write(p)
}

// writeString is Write of a string, without a copy to bytes.
func (c *capped) writeString(s string) error {
	if c.Len()+len(s) > maxOutput {
		return fmt.Errorf("output larger than %d MiB: does the template loop?", maxOutput>>20)
	}
	if c.total != nil && c.total.Add(-int64(len(s))) < 0 {
		return ErrBudgetSpent
	}
	_, err := c.Buffer.WriteString(s)
	return err
}

// depthError is include or tpl nested over MaxDepth.
type depthError struct{ what string }

func (*depthError) limit() {}

func (e *depthError) Error() string {
	return fmt.Sprintf("nested more than %d deep (%s): does a template include itself?", MaxDepth, e.what)
}

// nest counts one more include or tpl on this executor's stack.
func (x *executor) nest(what string) (func(), error) {
	if x.e.stopped.Load() {
		return nil, errStopped
	}
	if x.depth >= MaxDepth {
		return nil, &depthError{what}
	}
	x.depth++
	return func() { x.depth-- }, nil
}

func (x *executor) include(name string, data any) (string, error) {
	t := x.root.Lookup(name)
	if t == nil {
		return "", fmt.Errorf("no template named %q (define it with {{ define %q }} in a template or --library file)", name, name)
	}
	return x.executeNested(t, "include "+strconv.Quote(name), data)
}

// executeNested runs a named template one level deeper (what names the
// level in a too-deep error), capped like every template output.
func (x *executor) executeNested(t *template.Template, what string, data any) (string, error) {
	done, err := x.nest(what)
	if err != nil {
		return "", err
	}
	defer done()
	w := &capped{}
	if err := t.Execute(w, data); err != nil {
		if b := limitOf(err); b != nil {
			return "", b
		}
		return "", includeError(err)
	}
	return w.String(), nil
}

func (x *executor) tpl(text string, data any) (string, error) {
	done, err := x.nest("tpl")
	if err != nil {
		return "", err
	}
	defer done()
	t, err := x.root.Clone()
	if err != nil {
		return "", err
	}
	t, err = t.New("tpl").Parse(text)
	if err != nil {
		return "", fmt.Errorf("tpl: %w", err)
	}
	for _, d := range t.Templates() {
		// Trees shared with the set already have their ticks.
		if _, done := x.e.ticked.LoadOrStore(d.Tree, true); !done {
			addTicks(d.Tree)
		}
	}
	w := &capped{}
	if err := t.Execute(w, data); err != nil {
		if b := limitOf(err); b != nil {
			return "", b
		}
		return "", fmt.Errorf("tpl: %w", err)
	}
	return w.String(), nil
}
