package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/podtemplate/podtemplate/swarm"
	"github.com/podtemplate/podtemplate/transform"
	"github.com/spf13/pflag"
)

// renderFlags are the options of every command that renders.
type renderFlags struct {
	files           []string
	set             []string
	setString       []string
	setFile         []string
	setJSON         []string
	argsFiles       []string
	envFiles        []string
	noInterpolate   bool
	strict          bool
	controllerImage string
	library         []string
	cacheDir        string
	offline         bool
	httpTimeout     time.Duration
	templateTimeout time.Duration
}

func (f *renderFlags) register(fs *pflag.FlagSet) {
	stringArrayVarP(fs, &f.files, "compose-file", "c", "Compose file to read (repeatable; - for stdin; later files override earlier ones; also --file)")
	stringArrayVarP(fs, &f.set, "set", "", "template args KEY=VALUE[,KEY=VALUE], with Helm's rules: a.b=1, list[0]=x, list={a,b}; only true, false, null and integers typed (repeatable; overrides every other source)")
	stringArrayVarP(fs, &f.setString, "set-string", "", "as --set, the values always strings (repeatable)")
	stringArrayVarP(fs, &f.setFile, "set-file", "", "template arg KEY=PATH: the file's content, as a string (repeatable)")
	stringArrayVarP(fs, &f.setJSON, "set-json", "", "template arg KEY=JSON: a JSON value (repeatable)")
	stringArrayVarP(fs, &f.argsFiles, "args-file", "f", "YAML mapping of template args (repeatable; --set wins; also --values, as in Helm)")
	stringArrayVarP(fs, &f.envFiles, "env-file", "", "file of VAR=value lines for interpolation (repeatable; the environment wins)")
	fs.BoolVar(&f.noInterpolate, "no-interpolate", false, "leave ${VAR} for docker stack deploy to resolve")
	fs.BoolVar(&f.strict, "strict", false, "make a missing key in a template an error instead of empty")
	fs.StringVar(&f.controllerImage, "controller-image", "", "podlike controller image (default rycus86/podlike:0.5.1)")
	stringArrayVarP(fs, &f.library, "library", "", "file or folder of named templates ({{ define }}) for include (repeatable)")
	fs.StringVar(&f.cacheDir, "cache-dir", "", "cache for HTTP templates (default: the user cache folder)")
	fs.BoolVar(&f.offline, "offline", false, "never fetch: serve HTTP templates from the cache")
	fs.DurationVar(&f.httpTimeout, "http-timeout", 10*time.Second, "timeout for each HTTP template fetch")
	fs.DurationVar(&f.templateTimeout, "template-timeout", defaultTemplateTimeout, "time budget for running all templates (0: none)")
}

// stringArrayVarP registers a repeatable flag whose values are taken
// whole, as pflag's StringArrayVarP does, without its start-up cost:
// pflag computes a StringArray flag's default text with an encoding/csv
// writer and its 4 KiB buffer, and the command tree registers 41 of them
// at every start (245 KB, 656 allocations and about 0.5 ms to build the
// tree, most of it for these flags).
func stringArrayVarP(fs *pflag.FlagSet, p *[]string, name, shorthand, usage string) {
	*p = nil
	fs.VarP(&stringArray{value: p}, name, shorthand, usage)
	// pflag shows no default for its own empty stringArray ("[]"); an
	// empty DefValue is the zero value it recognises for other types.
	fs.Lookup(name).DefValue = ""
}

// stringArray is pflag's stringArray value: Set replaces the default
// with the first value and appends the next ones.
type stringArray struct {
	value   *[]string
	changed bool
}

// Set takes one value of the flag.
func (s *stringArray) Set(val string) error {
	if !s.changed {
		*s.value = []string{val}
		s.changed = true
	} else {
		*s.value = append(*s.value, val)
	}
	return nil
}

// Type is the name pflag gives the type in usage and completion.
func (s *stringArray) Type() string { return "stringArray" }

// String is pflag's: the values as one CSV record, in brackets.
func (s *stringArray) String() string {
	if len(*s.value) == 0 {
		return "[]"
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write(*s.value)
	w.Flush()
	return "[" + strings.TrimSuffix(b.String(), "\n") + "]"
}

// Append, Replace and GetSlice make it a pflag.SliceValue, as pflag's.
func (s *stringArray) Append(val string) error {
	*s.value = append(*s.value, val)
	return nil
}

// Replace sets the values.
func (s *stringArray) Replace(val []string) error {
	out := make([]string, len(val))
	copy(out, val)
	*s.value = out
	return nil
}

// GetSlice returns a copy of the values.
func (s *stringArray) GetSlice() []string {
	out := make([]string, len(*s.value))
	copy(out, *s.value)
	return out
}

// defaultTemplateTimeout is the template stage's time budget: the
// 30 000-pod benchmark stack runs its templates in a few seconds on one
// core, so a minute only ever stops a template that loops.
const defaultTemplateTimeout = time.Minute

// options builds transform options from the flags and positional files.
// forName says the command's argument is a name (deploy, run), not a file.
func (f *renderFlags) options(a *app, positional []string, forName bool) (transform.Options, error) {
	if f.httpTimeout <= 0 {
		return transform.Options{}, usagef("--http-timeout %s: expected a positive duration", f.httpTimeout)
	}
	if f.templateTimeout < 0 {
		return transform.Options{}, usagef("--template-timeout %s: expected a positive duration, or 0 for none", f.templateTimeout)
	}
	if f.controllerImage != "" {
		// Checked as docker checks a service's image: the controller of
		// every pod would carry it into a file docker rejects.
		if _, err := reference.ParseAnyReference(f.controllerImage); err != nil {
			return transform.Options{}, usagef("--controller-image %q: %v", f.controllerImage, err)
		}
	}
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
		SetString:       f.setString,
		SetFile:         f.setFile,
		SetJSON:         f.setJSON,
		ArgsFiles:       f.argsFiles,
		Strict:          f.strict,
		ControllerImage: f.controllerImage,
		Library:         f.library,
		Loaders:         loaders,
		TemplateTimeout: f.templateTimeout,
		Warn:            func(msg string) { fmt.Fprintf(a.stderr, "warning: %s\n", terminalSafe(msg)) },
	}, nil
}

// daemonFlags select the Docker daemon, as docker's own -H and --context.
type daemonFlags struct {
	host, context string
}

func (d *daemonFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&d.host, "host", "H", "", "Docker daemon to use (as docker -H)")
	fs.StringVar(&d.context, "context", "", "docker context to use (as docker --context)")
}

// connect reaches the daemon the docker CLI would reach. The command may
// then follow jobs for long: the collector gets defaultGCPercent.
func (d *daemonFlags) connect(ctx context.Context) (*swarm.Client, error) {
	followGC()
	return swarm.Connect(ctx, swarm.ConnectOptions{Host: d.host, Context: d.context})
}

// pushFlags are docker stack deploy's image options, shared by deploy and
// run.
type pushFlags struct {
	registryAuth bool
	resolveImage string
}

func (p *pushFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&p.registryAuth, "with-registry-auth", false, "send registry credentials to the Swarm agents")
	fs.StringVar(&p.resolveImage, "resolve-image", "", "query the registry for image digests: always, changed or never")
}

func (p *pushFlags) check() error {
	switch p.resolveImage {
	case "", "always", "changed", "never":
		return nil
	}
	return usagef("--resolve-image %q: expected always, changed or never", p.resolveImage)
}

// stackFlags are the options of deploy and run: what to render, which
// daemon, and docker stack deploy's image options.
type stackFlags struct {
	renderFlags
	daemonFlags
	pushFlags
}

func (f *stackFlags) register(fs *pflag.FlagSet) {
	f.renderFlags.register(fs)
	f.daemonFlags.register(fs)
	f.pushFlags.register(fs)
}

// renderAndConnect renders the stack files given with -c (deploy and run
// take a name as their argument, not files) and, only when that
// succeeded, connects to the daemon.
func (f *stackFlags) renderAndConnect(ctx context.Context, a *app) (*transform.Result, *swarm.Client, error) {
	if err := f.pushFlags.check(); err != nil {
		return nil, nil, err
	}
	opts, err := f.renderFlags.options(a, nil, true)
	if err != nil {
		return nil, nil, err
	}
	res, err := renderStack(ctx, opts, renderThenFollow)
	if err != nil {
		return nil, nil, err
	}
	client, err := f.daemonFlags.connect(ctx)
	if err != nil {
		return nil, nil, err
	}
	return res, client, nil
}

// progressFlags choose how deploy, run and jobs wait show the jobs'
// progress: --progress auto|tty|plain|quiet, and -q for quiet.
type progressFlags struct {
	progress string
	quiet    bool
}

func (p *progressFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&p.progress, "progress", "auto", "progress display: auto (tty on a terminal, else plain), tty (live), plain (state lines) or quiet")
	fs.BoolVarP(&p.quiet, "quiet", "q", false, "show no progress, state lines or summary (as --progress quiet; job logs and errors still show)")
}

func (p *progressFlags) check() error {
	switch p.progress {
	case "auto", "tty", "plain", "quiet":
		return nil
	}
	return usagef("--progress %q: expected auto, tty, plain or quiet", p.progress)
}

// status is where progress goes and whether it is the live display.
func (p *progressFlags) status(a *app) (w io.Writer, tty bool) {
	switch {
	case p.quiet || p.progress == "quiet":
		return io.Discard, false
	case p.progress == "tty":
		return a.stderr, true
	case p.progress == "plain":
		return a.stderr, false
	}
	return a.stderr, isTerminal(a.stderr)
}

// dockerArgs are the global flags for the docker CLI: those docker passed
// to the plugin, or none (the client then adds its own -H/--context).
func (a *app) dockerArgs() []string { return a.globalDocker }

// summaryError is nil when every job completed.
func summaryError(s swarm.Summary) error {
	if s.OK() {
		return nil
	}
	var bad []string
	for _, j := range s.Jobs {
		if (swarm.Summary{Jobs: []swarm.JobResult{j}}).OK() {
			continue
		}
		bad = append(bad, fmt.Sprintf("%s %s", j.Name, j.State))
	}
	return fmt.Errorf("%d of %d jobs did not complete: %s", len(bad), len(s.Jobs), strings.Join(bad, ", "))
}
