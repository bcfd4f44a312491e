// Package fastschema decides, without compiling anything, most of what
// docker's Compose file schema check (cli/compose/schema.Validate, which
// compiles the schema with gojsonschema on every call) decides: the JSON
// schemas docker validates with are compiled ahead of time into tables
// (tables.go, written by ./gen from the schema files of the docker/cli
// module this project builds with), and Check walks a document through
// them.
//
// Check is sound, not complete: Valid means gojsonschema accepts the
// document, Invalid that it refuses it; whenever it cannot be certain
// (a value of an unexpected Go type, a number JSON would round, text that
// is not UTF-8...) it says Unsure and the caller asks docker's own code.
// Callers use docker's code for the messages in any case: Check only
// spares the compilation for the documents docker accepts.
package fastschema

//go:generate go run ./gen -o tables.go

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/docker/cli/cli/compose/schema"
	"github.com/docker/go-connections/nat"
)

// Result is what Check found.
type Result uint8

// The results, ordered by how they combine: when every part of a
// document must pass, the worst part decides.
const (
	// Valid: docker's schema accepts the document.
	Valid Result = iota
	// Unsure: Check cannot tell; ask docker's schema.
	Unsure
	// Invalid: docker's schema refuses the document.
	Invalid
)

func (r Result) String() string {
	switch r {
	case Valid:
		return "valid"
	case Invalid:
		return "invalid"
	}
	return "unsure"
}

// and combines the results of constraints that must all hold.
func and(a, b Result) Result { return max(a, b) }

// types is a set of JSON types, as a schema's "type" keyword lists them.
type types uint8

const (
	tNull types = 1 << iota
	tBoolean
	tInteger
	tNumber
	tString
	tArray
	tObject
)

// format is a schema's "format" keyword, for the formats docker registers
// with gojsonschema. Formats nobody registers always pass in gojsonschema
// ("expose" in every 3.x schema): they are left out of the tables.
type format uint8

const (
	fmtNone format = iota
	// fmtPorts is docker's "ports" checker: nat.ParsePortSpec accepts the
	// string, or the number written in decimal.
	fmtPorts
	// fmtDuration is docker's "duration" checker: a string
	// time.ParseDuration accepts.
	fmtDuration
)

type flags uint8

const (
	// uniqueItems: an array's items must differ.
	fUniqueItems flags = 1 << iota
	// fNoAdditional: "additionalProperties": false.
	fNoAdditional
	fMinimum
	fMaximum
)

// pattern is a key pattern of "patternProperties", matched by hand: the
// generator maps each regular expression the schemas use to one of these
// (and the tests check each against the regular expression).
type pattern uint8

const (
	// patName is ^[a-zA-Z0-9._-]+$ (service, network... names).
	patName pattern = iota
	// patExtension is ^x- (extension fields).
	patExtension
	// patLine is ^.+$: not empty, no newline.
	patLine
	// patSome is .+: some character that is not a newline.
	patSome
	// patLower is ^[a-z]+$ (ulimits).
	patLower
)

// match reports whether key (valid UTF-8) matches the pattern as Go's
// regexp package matches it.
func (p pattern) match(key string) bool {
	switch p {
	case patName:
		if key == "" {
			return false
		}
		for i := 0; i < len(key); i++ {
			c := key[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
				return false
			}
		}
		return true
	case patExtension:
		return len(key) >= 2 && key[0] == 'x' && key[1] == '-'
	case patLine:
		if key == "" {
			return false
		}
		for i := 0; i < len(key); i++ {
			if key[i] == '\n' {
				return false
			}
		}
		return true
	case patSome:
		for i := 0; i < len(key); i++ {
			if key[i] != '\n' {
				return true
			}
		}
		return false
	case patLower:
		if key == "" {
			return false
		}
		for i := 0; i < len(key); i++ {
			if c := key[i]; c < 'a' || c > 'z' {
				return false
			}
		}
		return true
	}
	panic("fastschema: unknown pattern")
}

// node is one compiled subschema. Child schemas are indices into nodes;
// index 0 is the empty schema {}, which accepts everything, so a zero
// index also stands for an absent keyword ("items", "additionalProperties").
// A "$ref" is resolved by the generator: its node is the referenced one
// (gojsonschema ignores a $ref's sibling keywords too).
type node struct {
	types      types // 0: any type
	format     format
	flags      flags
	minimum    int64
	maximum    int64
	items      int32
	additional int32
	props      []prop // sorted by name
	patterns   []patternProp
	required   []string
	enum       []string // strings only (the generator refuses others)
	oneOf      []int32
	anyOf      []int32
	allOf      []int32
}

type prop struct {
	name   string
	schema int32
}

type patternProp struct {
	pattern pattern
	schema  int32
}

// version is one schema file: its version and root node.
type version struct {
	name string
	root int32
}

// rootOf returns the root node of the schema docker validates version
// with.
func rootOf(v string) (int32, bool) {
	if v == "" || v == "3" {
		v = schema.Version(nil) // docker's default version
	}
	for _, x := range versions {
		if x.name == v {
			return x.root, true
		}
	}
	return 0, false
}

// Check decides whether docker's schema for version (as schema.Validate
// takes it) accepts doc, a document as docker's YAML reader or
// yamlx.Value builds it. Valid and Invalid are certain; Unsure means ask
// schema.Validate.
func Check(doc map[string]any, version string) Result {
	root, ok := rootOf(version)
	if !ok {
		return Unsure
	}
	return check(root, doc)
}

// ServiceKeyKnown reports whether docker's schema for version lets a
// service have key at all (defined, or matched by a pattern such as x-);
// ok is false when it cannot tell.
func ServiceKeyKnown(version, key string) (known, ok bool) {
	root, found := rootOf(version)
	if !found || !utf8.ValidString(key) {
		return false, false
	}
	services, found := nodes[root].prop("services")
	if !found || len(nodes[services].patterns) != 1 {
		return false, false
	}
	svc := &nodes[nodes[services].patterns[0].schema]
	if svc.types != tObject || len(svc.oneOf)+len(svc.anyOf)+len(svc.allOf) != 0 {
		return false, false
	}
	if _, has := svc.prop(key); has {
		return true, true
	}
	for _, p := range svc.patterns {
		if p.pattern.match(key) {
			return true, true
		}
	}
	return svc.flags&fNoAdditional == 0, true
}

// prop returns the schema of property name.
func (n *node) prop(name string) (int32, bool) {
	lo, hi := 0, len(n.props)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch p := n.props[m].name; {
		case p == name:
			return n.props[m].schema, true
		case p < name:
			lo = m + 1
		default:
			hi = m
		}
	}
	return 0, false
}

// check follows gojsonschema's validateRecursive: the value's type
// against "type", then the keywords for that type. gojsonschema sees the
// document through JSON (json.Marshal, then a decoder with UseNumber):
// every number is a json.Number, integer when its text is.
func check(i int32, v any) Result {
	if i == 0 {
		// The empty schema accepts any value JSON can write; one it
		// cannot (NaN) fails schema.Validate as a whole.
		if jsonable(v) {
			return Valid
		}
		return Unsure
	}
	n := &nodes[i]
	switch x := v.(type) {
	case nil:
		if n.types != 0 && n.types&tNull == 0 {
			return Invalid
		}
		return and(n.applicators(v), n.notInEnum())
	case bool:
		if n.types != 0 && n.types&tBoolean == 0 {
			return Invalid
		}
		return and(n.applicators(v), n.notInEnum())
	case string:
		return n.checkString(x)
	case int:
		return n.checkInt(int64(x), v)
	case int64:
		return n.checkInt(x, v)
	case int32:
		return n.checkInt(int64(x), v)
	case uint64:
		if x > math.MaxInt64 {
			return Unsure
		}
		return n.checkInt(int64(x), v)
	case float64:
		return n.checkFloat(x)
	case map[string]any:
		return n.checkObject(x)
	case []any:
		return n.checkArray(x)
	}
	return Unsure
}

// notInEnum is the "enum" keyword for a value that is not a string: the
// enums hold strings only.
func (n *node) notInEnum() Result {
	if n.enum != nil {
		return Invalid
	}
	return Valid
}

// applicators are oneOf, anyOf and allOf. Within oneOf "invalid" matters
// as much as "valid": an Unsure branch leaves the count open.
func (n *node) applicators(v any) Result {
	r := Valid
	if n.anyOf != nil {
		best := Invalid
		for _, s := range n.anyOf {
			if best = min(best, check(s, v)); best == Valid {
				break
			}
		}
		if r = and(r, best); r == Invalid {
			return r
		}
	}
	if n.oneOf != nil {
		valid, unsure := 0, 0
		for _, s := range n.oneOf {
			switch check(s, v) {
			case Valid:
				valid++
			case Unsure:
				unsure++
			}
		}
		switch {
		case valid > 1:
			return Invalid
		case unsure > 0:
			r = and(r, Unsure)
		case valid == 0:
			return Invalid
		}
	}
	for _, s := range n.allOf {
		if r = and(r, check(s, v)); r == Invalid {
			return r
		}
	}
	return r
}

func (n *node) checkString(s string) Result {
	if n.types != 0 && n.types&tString == 0 {
		return Invalid
	}
	r := n.applicators(s)
	if r == Invalid {
		return r
	}
	if n.enum != nil || n.format != fmtNone {
		if !utf8.ValidString(s) {
			// JSON would have replaced the bad bytes: gojsonschema sees
			// other text.
			return Unsure
		}
	}
	if n.enum != nil {
		found := false
		for _, e := range n.enum {
			if e == s {
				found = true
				break
			}
		}
		if !found {
			return Invalid
		}
	}
	switch n.format {
	case fmtPorts:
		if _, err := nat.ParsePortSpec(s); err != nil {
			return Invalid
		}
	case fmtDuration:
		if _, err := time.ParseDuration(s); err != nil {
			return Invalid
		}
	}
	return r
}

// checkInt checks an integer (v is the original value, for applicators).
func (n *node) checkInt(x int64, v any) Result {
	if n.types != 0 && n.types&(tNumber|tInteger) == 0 {
		return Invalid
	}
	r := n.applicators(v)
	if r == Invalid {
		return r
	}
	if n.flags&fMinimum != 0 && x < n.minimum || n.flags&fMaximum != 0 && x > n.maximum {
		return Invalid
	}
	switch n.format {
	case fmtPorts:
		// docker's checker gets the number as a *big.Rat and parses the
		// numerator of its "n/1" form.
		if _, err := nat.ParsePortSpec(strconv.FormatInt(x, 10)); err != nil {
			return Invalid
		}
	case fmtDuration:
		return Invalid // docker's checker takes strings only
	}
	return and(r, n.notInEnum())
}

// maxExact bounds the floats whose JSON text is the integer itself.
const maxExact = 1 << 53

func (n *node) checkFloat(f float64) Result {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Unsure // JSON cannot write it: schema.Validate fails
	}
	if f == math.Trunc(f) && math.Abs(f) < maxExact {
		return n.checkInt(int64(f), f)
	}
	if n.types != 0 && n.types&tNumber == 0 {
		if n.types&tInteger == 0 || f != math.Trunc(f) {
			return Invalid
		}
		return Unsure // an integer too large to compare exactly
	}
	r := n.applicators(f)
	if r == Invalid {
		return r
	}
	if n.flags&(fMinimum|fMaximum) != 0 || n.format != fmtNone {
		return Unsure
	}
	return and(r, n.notInEnum())
}

func (n *node) checkObject(m map[string]any) Result {
	if n.types != 0 && n.types&tObject == 0 {
		return Invalid
	}
	r := n.applicators(m)
	if r == Invalid {
		return r
	}
	for _, k := range n.required {
		if _, ok := m[k]; !ok {
			return Invalid
		}
	}
	for k, v := range m {
		if !utf8.ValidString(k) {
			r = and(r, Unsure)
			continue
		}
		matched := false
		if s, ok := n.prop(k); ok {
			matched = true
			r = and(r, check(s, v))
		}
		for _, p := range n.patterns {
			if p.pattern.match(k) {
				matched = true
				r = and(r, check(p.schema, v))
			}
		}
		if !matched {
			if n.flags&fNoAdditional != 0 {
				return Invalid
			}
			r = and(r, check(n.additional, v))
		}
		if r == Invalid {
			return r
		}
	}
	return and(r, n.notInEnum())
}

func (n *node) checkArray(list []any) Result {
	if n.types != 0 && n.types&tArray == 0 {
		return Invalid
	}
	r := n.applicators(list)
	if r == Invalid {
		return r
	}
	for _, v := range list {
		if r = and(r, check(n.items, v)); r == Invalid {
			return r
		}
	}
	if n.flags&fUniqueItems != 0 {
		if r = and(r, unique(list)); r == Invalid {
			return r
		}
	}
	return and(r, n.notInEnum())
}

// unique is "uniqueItems" as gojsonschema decides it: two items are equal
// when their JSON texts are, after the numbers went through float64
// (marshalWithoutNumber).
func unique(list []any) Result {
	if len(list) < 2 {
		return Valid
	}
	strs := true
	for _, v := range list {
		s, ok := v.(string)
		if !ok {
			strs = false
			break
		}
		if !utf8.ValidString(s) {
			return Unsure
		}
	}
	if strs {
		if len(list) <= 16 {
			for i := 1; i < len(list); i++ {
				for j := 0; j < i; j++ {
					if list[i].(string) == list[j].(string) {
						return Invalid
					}
				}
			}
			return Valid
		}
		seen := make(map[string]struct{}, len(list))
		for _, v := range list {
			s := v.(string)
			if _, dup := seen[s]; dup {
				return Invalid
			}
			seen[s] = struct{}{}
		}
		return Valid
	}
	keys := make([]string, len(list))
	for i, v := range list {
		k, ok := jsonKey(v)
		if !ok {
			return Unsure
		}
		keys[i] = k
	}
	seen := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		if _, dup := seen[k]; dup {
			return Invalid
		}
		seen[k] = struct{}{}
	}
	return Valid
}

// jsonKey is the text gojsonschema compares an item by: scalars directly
// (a number by its float64 bits: JSON's shortest form of a float64
// round-trips), anything else by marshalWithoutNumber's own steps.
func jsonKey(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "n", true
	case bool:
		if x {
			return "t", true
		}
		return "f", true
	case string:
		if !utf8.ValidString(x) {
			return "", false
		}
		return "s" + x, true
	case int:
		return floatKey(float64(x))
	case int64:
		return floatKey(float64(x))
	case int32:
		return floatKey(float64(x))
	case uint64:
		return floatKey(float64(x))
	case float64:
		return floatKey(x)
	case map[string]any, []any:
		if !plainJSON(x) {
			return "", false
		}
		b, err := json.Marshal(x)
		if err != nil {
			return "", false
		}
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			return "", false
		}
		if b, err = json.Marshal(doc); err != nil {
			return "", false
		}
		return "j" + string(b), true
	}
	return "", false
}

func floatKey(f float64) (string, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", false
	}
	return "d" + strconv.FormatUint(math.Float64bits(f), 16), true
}

// jsonable reports whether json.Marshal writes v: the types check knows,
// without NaN or infinities (JSON has none).
func jsonable(v any) bool {
	switch x := v.(type) {
	case nil, bool, string, int, int64, int32, uint64:
		return true
	case float64:
		return !math.IsNaN(x) && !math.IsInf(x, 0)
	case map[string]any:
		for _, e := range x {
			if !jsonable(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range x {
			if !jsonable(e) {
				return false
			}
		}
		return true
	}
	return false
}

// plainJSON reports whether v holds only the types check knows, with
// UTF-8 text: JSON keeps such values as they are.
func plainJSON(v any) bool {
	switch x := v.(type) {
	case nil, bool, int, int64, int32, uint64:
		return true
	case float64:
		return !math.IsNaN(x) && !math.IsInf(x, 0)
	case string:
		return utf8.ValidString(x)
	case map[string]any:
		for k, e := range x {
			if !utf8.ValidString(k) || !plainJSON(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range x {
			if !plainJSON(e) {
				return false
			}
		}
		return true
	}
	return false
}

// UniqueItems reports whether version's schema wants the items of the
// array at path (keys from the top, a service's name among them) to
// differ; ok is false for a version the tables do not hold.
func UniqueItems(version string, path []string) (unique, ok bool) {
	root, found := rootOf(version)
	if !found {
		return false, false
	}
	at := closure([]int32{root})
	for _, key := range path {
		var next []int32
		for _, i := range at {
			n := &nodes[i]
			if s, has := n.prop(key); has {
				next = append(next, s)
				continue
			}
			matched := false
			for _, p := range n.patterns {
				if p.pattern.match(key) {
					next, matched = append(next, p.schema), true
				}
			}
			if !matched && n.additional != 0 {
				next = append(next, n.additional)
			}
		}
		at = closure(next)
	}
	for _, i := range at {
		if nodes[i].flags&fUniqueItems != 0 {
			return true, true
		}
	}
	return false, true
}

// closure is the schemas in list and those their oneOf, anyOf and allOf
// name, transitively (the "any" schema 0 left out).
func closure(list []int32) []int32 {
	seen := map[int32]bool{}
	var out []int32
	for len(list) > 0 {
		i := list[len(list)-1]
		list = list[:len(list)-1]
		if i == 0 || seen[i] {
			continue
		}
		seen[i] = true
		out = append(out, i)
		n := &nodes[i]
		list = append(append(append(list, n.oneOf...), n.anyOf...), n.allOf...)
	}
	return out
}
