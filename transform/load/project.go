package load

import (
	"context"
	"path/filepath"

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
func Project(ctx context.Context, merged *yaml.Node, workingDir, describe string) (*types.Project, error) {
	var dict map[string]any
	if err := merged.Decode(&dict); err != nil {
		return nil, &diag.Error{File: describe, Msg: "cannot read the stack", Err: err}
	}
	name := loader.NormalizeProjectName(filepath.Base(workingDir))
	if name == "" {
		name = "stack"
	}
	details := types.ConfigDetails{
		WorkingDir:  workingDir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(workingDir, "stack.yml"), Config: dict}},
	}
	p, err := loader.LoadWithContext(ctx, details, func(o *loader.Options) {
		o.SetProjectName(name, true)
		o.SkipInterpolation = true
		o.SkipValidation = true
		o.ResolvePaths = false
		o.SkipResolveEnvironment = true
		o.SkipResolveLabels = true
		o.SkipInclude = true
		o.SkipExtends = true
		o.SkipConsistencyCheck = true
	})
	if err != nil {
		return nil, &diag.Error{File: describe, Msg: "invalid stack", Err: err}
	}
	return p, nil
}
