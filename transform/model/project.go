package model

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/podtemplate/podtemplate/transform/diag"
	"gopkg.in/yaml.v3"
)

// Project builds compose-go's typed project from the merged tree (with the
// extension fields already removed), for templates' .Service and .Project.
// workingDir is where relative paths resolve, as for docker stack deploy.
// No environment is given: values are interpolated already, and templates
// must not see the process environment.
func Project(ctx context.Context, merged *yaml.Node, workingDir, describe string) (p *types.Project, err error) {
	// compose-go panics on some malformed models; validation catches most
	// first, and this catches the rest.
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, &diag.Error{File: describe, Msg: fmt.Sprintf("invalid stack: compose-go cannot read it (%v)", r)}
		}
	}()
	var dict map[string]any
	if err := merged.Decode(&dict); err != nil {
		return nil, &diag.Error{File: describe, Msg: "cannot read the stack", Err: err}
	}
	delete(dict, "version") // compose-go would warn that it is obsolete; stacks need it
	// The project name is what docker stack deploy calls the stack, which
	// is not known when rendering (and a template must not see the input's
	// folder name): compose-go gets a fixed one, which prefixes the names
	// it gives networks and volumes without a name:, and templates see
	// .Project.Name empty.
	const name = PlaceholderName
	details := types.ConfigDetails{
		WorkingDir:  workingDir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(workingDir, "stack.yml"), Config: dict}},
	}
	p, err = loader.LoadWithContext(ctx, details, func(o *loader.Options) {
		o.SetProjectName(name, true)
		o.SkipInterpolation = true
		o.ResolvePaths = false
		o.SkipResolveEnvironment = true
		o.SkipResolveLabels = true
		o.SkipInclude = true
		o.SkipExtends = true
		o.SkipConsistencyCheck = true
	})
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "validating "+details.ConfigFiles[0].Filename+": ")
		return nil, &diag.Error{File: describe, Msg: "invalid stack: " + msg}
	}
	return p, nil
}

// PlaceholderName is the project name compose-go is given.
const PlaceholderName = "stack"
