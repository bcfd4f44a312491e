package model

import (
	"context"
	"errors"
	"fmt"

	"github.com/compose-spec/compose-go/v2/override"
	"github.com/compose-spec/compose-go/v2/transform"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/compose-spec/compose-go/v2/validation"
	"github.com/podtemplate/podtemplate/transform/diag"
	"gopkg.in/yaml.v3"
)

// Project builds compose-go's typed project from the merged tree (with the
// extension fields already removed), for templates' .Service and .Project.
// workingDir is where relative paths resolve, as for docker stack deploy.
// No environment is given: values are interpolated already, and templates
// must not see the process environment.
//
// It gives what compose-go's loader.LoadWithContext gives for one file with
// interpolation, path resolution, environment and label files, include,
// extends and the consistency check skipped (model_test.go compares the two
// over many stacks), without linking the loader: the loader validates
// against compose's JSON schema, whose package init alone costs 10 ms on
// every podtemplate run, and the stack is validated before it gets here.
// The steps are the loader's, in its order, with its exported pieces
// (transform, override, validation, the types' decoders) called as it calls
// them; the few unexported ones are in compose.go.
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
	p, err = loadProject(dict, workingDir)
	if err != nil {
		return nil, &diag.Error{File: describe, Msg: "invalid stack: " + err.Error()}
	}
	return p, nil
}

// PlaceholderName is the project name compose-go is given.
//
// The project name is what docker stack deploy calls the stack, which is
// not known when rendering (and a template must not see the input's folder
// name): compose-go gets a fixed one, which prefixes the names it gives
// networks and volumes without a name:, and templates see .Project.Name
// empty.
const PlaceholderName = "stack"

// loadProject is loader.LoadWithContext on one decoded file, with the options
// Project used to give it.
func loadProject(dict map[string]any, workingDir string) (*types.Project, error) {
	// The loader's only environment is the project name it records.
	env := types.Mapping{"COMPOSE_PROJECT_NAME": PlaceholderName}

	// loadYamlFile, for a file given as a decoded mapping.
	converted, err := stringKeys(dict, "")
	if err != nil {
		return nil, err
	}
	cfg, ok := converted.(map[string]any)
	if !ok {
		return nil, errors.New("top-level object must be a mapping")
	}
	if err := promoteAliases(cfg); err != nil {
		return nil, err
	}
	if dict, err = override.Merge(map[string]any{}, cfg); err != nil {
		return nil, err
	}
	if dict, err = override.EnforceUnicity(dict); err != nil {
		return nil, err
	}
	// (the loader validates against compose's schema here)
	if dict, err = skipping(dict, false, func(d map[string]any) (map[string]any, error) {
		return transform.Canonical(d, true)
	}); err != nil {
		return nil, err
	}
	omitEmpty(dict)
	if dict, err = override.EnforceUnicity(dict); err != nil {
		return nil, err
	}

	// loadYamlModel
	if dict, err = skipping(dict, true, func(d map[string]any) (map[string]any, error) {
		d, err := transform.SetDefaultValues(d)
		if err != nil {
			return nil, err
		}
		return d, validation.Validate(d)
	}); err != nil {
		return nil, err
	}
	resolveEnvironment(dict, env)

	// load
	if len(dict) == 0 {
		return nil, errors.New("empty compose file")
	}
	dict["name"] = PlaceholderName
	if err := normalize(dict, env); err != nil {
		return nil, err
	}

	// ModelToProject
	project := &types.Project{Name: PlaceholderName, WorkingDir: workingDir, Environment: env}
	delete(dict, "name")
	processExtensions(dict, "")
	if err := decode(dict, project); err != nil {
		return nil, err
	}
	return project.WithProfiles(nil)
}
