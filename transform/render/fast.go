package render

import (
	"fmt"
	"reflect"
	"sync/atomic"
	"text/template/parse"
)

// A plan runs a template that is only text and actions printing a field
// chain of the data ({{ .Args.Port }}, {{ .Service.Image }}), the common
// kind, without text/template: its executions allocate for every map
// lookup, box every value they print, and look a field up in compose-go's
// ServiceConfig (whose fields are in embedded structs) by a breadth-first
// search each time. A plan resolves every value first, the way
// text/template would, and declines (ok false, nothing written) where one
// is not a plain string, number or boolean reached through map[string]any
// entries and struct fields: text/template then runs the template, and
// reports the error if there is one. Its writes are text/template's (one
// for each text and each value, in order), so output and write errors
// (the output caps) are the same.
type plan struct {
	parts []planPart
	// values is how many parts are actions.
	values int
}

// planPart is a text to write, or (chain not nil) a field chain to print.
type planPart struct {
	text  []byte
	chain []planStep
}

// planStep is one field name of a chain, with the struct field it named
// on the last struct type it was looked up on.
type planStep struct {
	name  string
	field *atomic.Pointer[fieldAt]
}

// fieldAt is where a field name is in a struct type: a field (index)
// reached the way text/template reaches it, or not (index nil: a method,
// an unexported or missing field; the plan declines).
type fieldAt struct {
	typ   reflect.Type
	addr  bool // the struct value was addressable (methods of *T count)
	index []int
}

// newPlan returns the plan of tree, or nil where text/template must run it.
func newPlan(tree *parse.Tree) *plan {
	if tree == nil || tree.Root == nil {
		return nil
	}
	p := &plan{}
	for _, n := range tree.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			p.parts = append(p.parts, planPart{text: n.Text})
		case *parse.ActionNode:
			pipe := n.Pipe
			if pipe == nil || len(pipe.Decl) > 0 || pipe.IsAssign || len(pipe.Cmds) != 1 || len(pipe.Cmds[0].Args) != 1 {
				return nil
			}
			f, ok := pipe.Cmds[0].Args[0].(*parse.FieldNode)
			if !ok || len(f.Ident) == 0 {
				return nil
			}
			part := planPart{chain: make([]planStep, len(f.Ident))}
			for i, name := range f.Ident {
				part.chain[i] = planStep{name: name, field: new(atomic.Pointer[fieldAt])}
			}
			p.parts = append(p.parts, part)
			p.values++
		default:
			return nil
		}
	}
	if p.values == 0 {
		return nil
	}
	return p
}

var (
	mapType    = reflect.TypeFor[map[string]any]()
	stringType = reflect.TypeFor[string]()
)

// printable says values of t print the same through fmt.Fprint as
// text/template prints them: the predeclared scalar types (no methods).
func printable(t reflect.Type) bool {
	switch t {
	case stringType, reflect.TypeFor[bool](),
		reflect.TypeFor[int](), reflect.TypeFor[int8](), reflect.TypeFor[int16](), reflect.TypeFor[int32](), reflect.TypeFor[int64](),
		reflect.TypeFor[uint](), reflect.TypeFor[uint8](), reflect.TypeFor[uint16](), reflect.TypeFor[uint32](), reflect.TypeFor[uint64](),
		reflect.TypeFor[float32](), reflect.TypeFor[float64]():
		return true
	}
	return false
}

// run executes the plan on data into w. ok is false, with nothing
// written, where text/template must run the template instead.
func (p *plan) run(w *capped, data any) (ok bool, err error) {
	var buf [8]reflect.Value
	vals := buf[:0]
	if p.values > len(buf) {
		vals = make([]reflect.Value, 0, p.values)
	}
	for i := range p.parts {
		if c := p.parts[i].chain; c != nil {
			v, ok := resolve(reflect.ValueOf(data), c)
			if !ok {
				return false, nil
			}
			vals = append(vals, v)
		}
	}
	for i := range p.parts {
		part := &p.parts[i]
		if part.chain == nil {
			if _, err := w.Write(part.text); err != nil {
				return true, err
			}
			continue
		}
		v := vals[0]
		vals = vals[1:]
		if v.Type() == stringType {
			err = w.writeString(v.String())
		} else {
			_, err = fmt.Fprint(w, v.Interface())
		}
		if err != nil {
			return true, err
		}
	}
	return true, nil
}

// resolve evaluates a field chain on dot as text/template's evalFieldChain
// and evalPipeline do, for map[string]any entries and exported struct
// fields only; ok is false for anything else (a missing key, a nil, a
// method, another map type, a value that is not printable).
func resolve(v reflect.Value, chain []planStep) (reflect.Value, bool) {
	for i := range chain {
		s := &chain[i]
		if !v.IsValid() {
			return reflect.Value{}, false
		}
		// text/template's indirect: through pointers and interfaces.
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		switch {
		case v.Type() == mapType:
			// No methods; the key is the name. Zero values of missing
			// keys and nil entries are text/template's to print.
			x, found := v.Interface().(map[string]any)[s.name]
			if !found || x == nil {
				return reflect.Value{}, false
			}
			v = reflect.ValueOf(x)
		case v.Kind() == reflect.Struct:
			at := s.field.Load()
			addr := v.CanAddr()
			if at == nil || at.typ != v.Type() || at.addr != addr {
				at = lookupField(v.Type(), addr, s.name)
				s.field.Store(at)
			}
			if at.index == nil {
				return reflect.Value{}, false
			}
			f, err := v.FieldByIndexErr(at.index)
			if err != nil {
				return reflect.Value{}, false
			}
			v = f
		default:
			return reflect.Value{}, false
		}
	}
	// evalPipeline digs one level into an empty interface.
	if v.Kind() == reflect.Interface && v.Type().NumMethod() == 0 {
		if v.IsNil() {
			return reflect.Value{}, false
		}
		v = v.Elem()
	}
	if !v.IsValid() || !printable(v.Type()) || !v.CanInterface() {
		return reflect.Value{}, false
	}
	return v, true
}

// lookupField finds name in struct type t as text/template's evalField
// does: a method (of *t where the value is addressable) comes first.
func lookupField(t reflect.Type, addr bool, name string) *fieldAt {
	at := &fieldAt{typ: t, addr: addr}
	mt := t
	if addr {
		mt = reflect.PointerTo(t)
	}
	if _, isMethod := mt.MethodByName(name); isMethod {
		return at
	}
	if f, ok := t.FieldByName(name); ok && f.IsExported() {
		at.index = f.Index
	}
	return at
}
