// Package inputs resolves what a render takes from outside the stack files:
// the environment for interpolation (with --env-file), template args
// (--args-file, then --set) and named-template libraries (--library). Each
// is read and checked once, here (Helm's pkg/cli/values is the model), so
// the command line and the compiler agree on what a flag means.
package inputs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/podtemplate/podtemplate/internal/fileio"
	"github.com/podtemplate/podtemplate/transform/config"
	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// Options are the inputs as given: flag values, and the environment.
type Options struct {
	Env       map[string]string // environment; nil means the process environment
	EnvFiles  []string          // --env-file, read before Env (Env wins)
	ArgsFiles []string          // --args-file FILE (YAML mapping)
	Set       []string          // --set Key.Sub=value, over the args files
	SetString []string          // --set-string: values never typed
	SetFile   []string          // --set-file KEY=PATH
	SetJSON   []string          // --set-json KEY=JSON
	Library   []string          // --library files or folders of named templates
}

// Values are the resolved inputs.
type Values struct {
	Env     map[string]string // variables for interpolation
	Args    map[string]any    // template args from the command line
	Library []*config.Source  // named-template files, in flag order
}

// FlagError is a malformed flag value: a command-line mistake, not a
// problem of the stack.
type FlagError struct {
	Flag, Value, Msg string
}

func (e *FlagError) Error() string {
	return fmt.Sprintf("--%s %s: %s", e.Flag, shortQuote(e.Value), e.Msg)
}

// shortQuote quotes s for a message, cut short when it is long: a
// 60 kB --set-json value is not repeated whole in one error line.
func shortQuote(s string) string {
	const keep = 100
	if len(s) <= 2*keep {
		return strconv.Quote(s)
	}
	cut := keep
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes)", strconv.Quote(s[:cut]), len(s))
}

// Resolve reads and checks every input; relative paths are taken from cwd.
func (o Options) Resolve(cwd string) (*Values, error) {
	env, err := o.environment(cwd)
	if err != nil {
		return nil, err
	}
	args, err := o.args(cwd)
	if err != nil {
		return nil, err
	}
	lib, err := o.library(cwd)
	if err != nil {
		return nil, err
	}
	return &Values{Env: env, Args: args, Library: lib}, nil
}

func abs(cwd, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(cwd, p)
}

// environment is the process environment (or o.Env) over the env files.
func (o Options) environment(cwd string) (map[string]string, error) {
	base := o.Env
	if base == nil {
		base = map[string]string{}
		for _, kv := range os.Environ() {
			if k, v, ok := strings.Cut(kv, "="); ok {
				base[k] = v
			}
		}
	}
	if len(o.EnvFiles) == 0 {
		return base, nil
	}
	// As dotenv.GetEnvFromFile does it (a file sees the variables of the
	// environment, then those of the files before it), but each file is
	// read as a regular file of bounded size: /dev/zero, a FIFO or a huge
	// sparse file is an error, not a read that never ends.
	fromFiles := map[string]string{}
	lookup := func(k string) (string, bool) {
		if v, ok := base[k]; ok {
			return v, true
		}
		v, ok := fromFiles[k]
		return v, ok
	}
	for _, f := range o.EnvFiles {
		data, err := readInput(cwd, f, "the env file")
		if err != nil {
			return nil, err
		}
		if err := dotenv.ParseWithFormat(bytes.NewReader(data), f, fromFiles, lookup, dotenv.DotEnv); err != nil {
			return nil, &diag.Error{Msg: "reading --env-file", Err: err}
		}
	}
	env := make(map[string]string, len(base)+len(fromFiles))
	for k, v := range fromFiles {
		env[k] = v
	}
	for k, v := range base {
		env[k] = v
	}
	return env, nil
}

// args merges the --args-file mappings, then the --set values on top.
func (o Options) args(cwd string) (map[string]any, error) {
	var args map[string]any
	for _, f := range o.ArgsFiles {
		data, err := readInput(cwd, f, "the args file")
		if err != nil {
			return nil, err
		}
		var n yaml.Node
		if err := yaml.Unmarshal(data, &n); err != nil {
			return nil, argsYAMLError(f, data, err)
		}
		if n.Kind == 0 {
			continue // empty, or only comments: no args, as in Helm
		}
		body := yamlx.Body(&n)
		if body == nil || yamlx.IsNull(body) {
			continue
		}
		if body.Kind != yaml.MappingNode {
			return nil, diag.At(f, body).Errorf("args file holds %s; expected a mapping", yamlx.KindName(body))
		}
		if e := yamlx.CheckAliases(body); e != nil {
			if e.Node != nil {
				return nil, diag.At(f, e.Node).Errorf("%s", e.Error())
			}
			return nil, &diag.Error{File: f, Msg: "its " + e.Error()}
		}
		var m map[string]any
		if err := yamlx.Flatten(body).Decode(&m); err != nil {
			return nil, diag.At(f, body).Wrap(err, "args file")
		}
		args = config.MergeArgs(args, m)
	}
	set, err := SetValues{Set: o.Set, String: o.SetString, File: o.SetFile, JSON: o.SetJSON}.Parse(cwd)
	if err != nil {
		return nil, err
	}
	return config.MergeArgs(args, set), nil
}

// argsYAMLError places a yaml.v3 syntax error in an args file.
func argsYAMLError(name string, data []byte, err error) error {
	if p := yamlx.PlaceError(data, err); p.Line > 0 {
		return &diag.Error{File: name, Line: p.Line, Column: p.Column, Msg: "invalid YAML: " + p.Msg}
	}
	return &diag.Error{File: name, Msg: "invalid YAML", Err: err}
}

// library lists the --library files: a file as it is, a folder as every
// file in it (hidden ones left out), in name order.
func (o Options) library(cwd string) ([]*config.Source, error) {
	var out []*config.Source
	for _, p := range o.Library {
		path := abs(cwd, p)
		st, err := os.Stat(path)
		if err != nil {
			return nil, &diag.Error{File: p, Msg: "cannot read the --library path", Err: err}
		}
		if !st.IsDir() {
			out = append(out, &config.Source{Kind: config.KindFile, Path: path, Pos: diag.Pos{File: p}})
			continue
		}
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, &diag.Error{File: p, Msg: "cannot read the --library folder", Err: err}
		}
		for _, e := range entries {
			if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				out = append(out, &config.Source{Kind: config.KindFile, Path: filepath.Join(path, e.Name()), Pos: diag.Pos{File: p}})
			}
		}
	}
	return out, nil
}

// maxArgsFile bounds an --args-file, --env-file or --set-file file as
// load.MaxFileSize bounds a stack file.
const maxArgsFile = 64 << 20

// readInput reads the file name (relative to cwd) that a flag gives, what
// the messages call it: a regular file of at most maxArgsFile bytes, so
// /dev/zero, a FIFO or a huge sparse file is an error, not a read that
// never ends.
func readInput(cwd, name, what string) ([]byte, error) {
	data, err := fileio.ReadRegular(abs(cwd, name), maxArgsFile)
	if errors.Is(err, fileio.ErrTooLarge) {
		return nil, &diag.Error{File: name, Msg: fmt.Sprintf("%s is larger than %d MiB", what, maxArgsFile>>20)}
	}
	if err != nil {
		return nil, &diag.Error{File: name, Msg: "cannot read " + what, Err: err}
	}
	return data, nil
}
