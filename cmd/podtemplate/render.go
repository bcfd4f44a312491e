package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/podtemplate/podtemplate/transform"
	"github.com/podtemplate/podtemplate/transform/emit"
	"github.com/spf13/pflag"
)

// renderFlags are the options of every command that renders.
type renderFlags struct {
	files           []string
	set             []string
	argsFiles       []string
	envFiles        []string
	noInterpolate   bool
	strict          bool
	controllerImage string
	library         []string
	cacheDir        string
	offline         bool
	httpTimeout     time.Duration
}

func (f *renderFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&f.files, "file", "c", nil, "Compose file to read (repeatable; - for stdin; later files override earlier ones)")
	fs.StringArrayVar(&f.set, "set", nil, "template arg Key.Sub=value, overriding every other source (repeatable)")
	fs.StringArrayVar(&f.argsFiles, "args-file", nil, "YAML mapping of template args (repeatable; --set wins)")
	fs.StringArrayVar(&f.envFiles, "env-file", nil, "file of VAR=value lines for interpolation (repeatable; the environment wins)")
	fs.BoolVar(&f.noInterpolate, "no-interpolate", false, "leave ${VAR} for docker stack deploy to resolve")
	fs.BoolVar(&f.strict, "strict", false, "make a missing key in a template an error instead of empty")
	fs.StringVar(&f.controllerImage, "controller-image", "", "podlike controller image (default rycus86/podlike:0.5.1)")
	fs.StringArrayVar(&f.library, "library", nil, "file or folder of named templates ({{ define }}) for include (repeatable)")
	fs.StringVar(&f.cacheDir, "cache-dir", "", "cache for HTTP templates (default: the user cache folder)")
	fs.BoolVar(&f.offline, "offline", false, "never fetch: serve HTTP templates from the cache")
	fs.DurationVar(&f.httpTimeout, "http-timeout", 10*time.Second, "timeout for each HTTP template fetch")
}

// options builds transform options from the flags and positional files.
// forName says the command's argument is a name (deploy, run), not a file.
func (f *renderFlags) options(a *app, positional []string, forName bool) (transform.Options, error) {
	files := append(append([]string(nil), f.files...), positional...)
	if len(files) == 0 {
		if forName {
			return transform.Options{}, usagef("no stack files: give them with -c FILE (- for stdin); the argument is a name, not a file")
		}
		return transform.Options{}, usagef("no input files: give one with -c FILE, as an argument, or - for stdin")
	}
	loaders, err := f.loaders()
	if err != nil {
		return transform.Options{}, err
	}
	return transform.Options{
		Files:           files,
		Stdin:           a.stdin,
		EnvFiles:        f.envFiles,
		NoInterpolate:   f.noInterpolate,
		Set:             f.set,
		ArgsFiles:       f.argsFiles,
		Strict:          f.strict,
		ControllerImage: f.controllerImage,
		Library:         f.library,
		Loaders:         loaders,
		Warn:            func(msg string) { fmt.Fprintf(a.stderr, "warning: %s\n", msg) },
	}, nil
}

func init() {
	register(&command{
		name:    "render",
		summary: "compile stack files into a plain stack file",
		usage: `Usage: podtemplate render [-c FILE]... [FILE]... [-o OUT] [OPTIONS]

Reads Compose files, expands the templates named by x-podlike and x-jobs,
and writes a stack file for docker stack deploy to stdout (or OUT).
`,
		run: runRender,
	})
	register(&command{
		name:    "validate",
		summary: "check stack files and templates; report every problem",
		usage: `Usage: podtemplate validate [-c FILE]... [FILE]... [OPTIONS]

Renders the stack without writing it and reports every problem found.
Exits 1 if there is any.
`,
		run: runValidate,
	})
}

func runRender(ctx context.Context, a *app, args []string) error {
	c := commands["render"]
	fs := newFlagSet(c)
	var rf renderFlags
	rf.register(fs)
	out := fs.StringP("output", "o", "", "write to this file (atomically) instead of stdout")
	format := fs.String("format", "yaml", "output format: yaml or json")
	if err := parseFlags(c, fs, a, args); err != nil {
		return err
	}
	if *format != "yaml" && *format != "json" {
		return usagef("--format %q: expected yaml or json", *format)
	}
	opts, err := rf.options(a, fs.Args(), false)
	if err != nil {
		return err
	}
	opts.Format = emit.Format(*format)
	if *out != "" {
		abs, err := filepath.Abs(*out)
		if err != nil {
			return err
		}
		opts.OutDir = filepath.Dir(abs)
	}
	res, err := transform.Render(ctx, opts)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err := a.stdout.Write(res.Output)
		return err
	}
	return writeAtomic(*out, res.Output)
}

func runValidate(ctx context.Context, a *app, args []string) error {
	c := commands["validate"]
	fs := newFlagSet(c)
	var rf renderFlags
	rf.register(fs)
	if err := parseFlags(c, fs, a, args); err != nil {
		return err
	}
	opts, err := rf.options(a, fs.Args(), false)
	if err != nil {
		return err
	}
	res, err := transform.Render(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "ok: %d services, %d pods, %d jobs\n", countServices(res), len(res.Pods), len(res.Jobs))
	return nil
}

// writeAtomic writes data to a temporary file beside path and renames it
// over path, so a failure never leaves a partial file.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}
