package validation

import (
	"bytes"
	"errors"
	"sync"

	"github.com/docker/cli/cli/compose/schema"
	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/load"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// BuiltChecker checks the services the build stage makes (pods'
// controllers, jobs) with the schema and loader rules Check applies to the
// input, so what templates add is held to the same contract. Like Check's
// fast path it checks each distinct shape once; it is safe for concurrent
// use by the build's workers.
type BuiltChecker struct {
	version string
	file    *load.File // the first input file: the loader's folder and name
	opts    Options
	mu      sync.RWMutex
	valid   map[string]bool // fingerprints of accepted shapes
}

// fingerprints reuses the buffers fingerprints are written in: one a
// built service would otherwise cost several allocations.
var fingerprints = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// NewBuiltChecker returns a checker for the services of the stack whose
// merged top-level mapping is root, read from the files.
func NewBuiltChecker(files []*load.File, root *yaml.Node, env map[string]string) *BuiltChecker {
	version := map[string]any{}
	if v := yamlx.Get(root, "version"); v != nil {
		version["version"], _ = yamlx.Value(v)
	}
	return &BuiltChecker{version: schema.Version(version), file: files[0], opts: Options{Env: env}, valid: map[string]bool{}}
}

func noSkip(string) bool { return false }

// Check returns docker's messages for the built service svc named name, in
// the order the schema and loader give them; none when docker accepts it.
func (c *BuiltChecker) Check(name string, svc *yaml.Node) []string {
	svc = yamlx.Resolve(svc)
	if svc == nil || svc.Kind != yaml.MappingNode {
		return []string{"the built service is " + yamlx.KindName(svc) + "; expected a mapping"}
	}
	b := fingerprints.Get().(*bytes.Buffer)
	defer fingerprints.Put(b)
	b.Reset()
	fingerprint(b, svc, noSkip)
	c.mu.RLock()
	known := c.valid[string(b.Bytes())]
	c.mu.RUnlock()
	if known {
		return nil
	}
	v, err := yamlx.Value(svc)
	if err != nil {
		return []string{err.Error()}
	}
	m := v.(map[string]any)
	probe := map[string]any{"version": c.version, "services": map[string]any{"s": shape(m)}}
	if schemaValid(probe, c.version) {
		if _, err := loadDict(probe, c.file, c.opts); err == nil {
			c.mu.Lock()
			c.valid[b.String()] = true
			c.mu.Unlock()
			return nil
		}
	}
	// The exact messages, from a file that holds only this service.
	root := yamlx.Map(yamlx.Str("version"), yamlx.Str(c.version), yamlx.Str("services"), yamlx.Map(yamlx.Str(name), svc))
	one := &checkedFile{file: &load.File{Name: c.file.Name, Dir: c.file.Dir, Root: root}, version: c.version,
		dict: map[string]any{"version": c.version}}
	err = one.checkService(name, m, c.opts)
	if err == nil {
		// The shape was refused but the service is not: the shape's
		// stand-in values are only ever accepted, so this is the loader
		// refusing something the fingerprint abstracts; accept.
		return nil
	}
	var list diag.List
	if !errors.As(err, &list) {
		list = diag.List{err}
	}
	msgs := make([]string, 0, len(list))
	for _, e := range list {
		var d *diag.Error
		if errors.As(e, &d) {
			msgs = append(msgs, d.Msg)
		} else {
			msgs = append(msgs, e.Error())
		}
	}
	return msgs
}
