// Package config is the second stage: it collects the x-podlike and x-jobs
// configuration from both levels (top level and service level) of every
// input file, decodes it with positions, removes the extension fields from
// the trees, and merges args with the spec's precedence.
package config

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/podtemplate/podtemplate/joblabel"
	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/internal/parts"
	"github.com/podtemplate/podtemplate/transform/load"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"
)

// Extension field names.
const (
	PodlikeKey = "x-podlike"
	JobsKey    = "x-jobs"
)

// Pod is the x-podlike configuration of one service.
type Pod struct {
	Service     string
	Pos         diag.Pos // first place that configures it
	Pod         []*Source
	Init        []*Source
	Transformer []*Source
	Templates   []*Source
	Copy        []*Source
	Args        map[string]any // merged, --set not yet applied

	// levels is what each level configures, until Finish merges it.
	levels *struct{ service, top podParts }
}

type podParts struct {
	pod, init, transformer, templates, copy []*Source
	args                                    map[string]any
}

// Job is the x-jobs configuration of one job.
type Job struct {
	Name        string
	Pos         diag.Pos
	InServices  bool // configures an existing service (else creates one)
	Mode        string
	Completions int
	Attempts    int
	Timeout     string
	Schedule    string
	Stage       string // "", joblabel.StagePreDeploy or joblabel.StagePostDeploy
	Templates   []*Source
	Args        map[string]any

	setCompletions bool
	// levels is what each level configures, until Finish merges it.
	levels *struct{ service, top jobParts }
}

type jobParts struct {
	templates []*Source
	args      map[string]any
	opts      map[string]*yaml.Node
	optFile   map[string]string
}

// JobView describes a job to its templates as .Job.
type JobView struct {
	Name        string
	Mode        string
	Completions int
	Attempts    int
	Timeout     string
	Schedule    string
	Stage       string
}

// View is the job as its templates see it (.Job).
func (j *Job) View() JobView {
	return JobView{Name: j.Name, Mode: j.Mode, Completions: j.Completions, Attempts: j.Attempts, Timeout: j.Timeout, Schedule: j.Schedule, Stage: j.Stage}
}

// Config is everything the extension fields of all files say.
type Config struct {
	Pods     map[string]*Pod
	PodOrder []string // services in the order first seen
	Jobs     map[string]*Job
	JobOrder []string
	Library  []*Source // named-template libraries (x-podlike.library)

	podGlobal, jobGlobal map[string]any
	paths                pathCache
}

// Collect decodes the extension fields of files. It reports every problem
// it finds as a diag.List, with what it could decode.
func Collect(files []*load.File) (*Config, error) {
	c := newConfig()
	var errs diag.List
	for _, f := range files {
		services := yamlx.Resolve(yamlx.Get(f.Root, "services"))
		if services != nil && services.Kind == yaml.MappingNode {
			pairs := yamlx.Pairs(services)
			// A large stack's services are decoded in parts at once when
			// no earlier file configured any (each part's pods are its own).
			if split := parts.Of(len(pairs)); split.Count > 1 && len(c.Pods)+len(c.Jobs) == 0 {
				errs.Add(c.servicesInParts(f, pairs, split))
			} else {
				errs.Add(c.services(f, pairs))
			}
		}
		// A `<<` merge key at the top level can bring them in too, as
		// docker's loader sees it (the file's own key wins).
		if k, v := yamlx.GetPair(f.Root, PodlikeKey); k != nil {
			errs.Add(c.topLevel(f, k, v, PodlikeKey))
		}
		if k, v := yamlx.GetPair(f.Root, JobsKey); k != nil {
			errs.Add(c.topLevel(f, k, v, JobsKey))
		}
	}
	return c, errs.Err()
}

func newConfig() *Config {
	return &Config{Pods: map[string]*Pod{}, Jobs: map[string]*Job{}, podGlobal: map[string]any{}, jobGlobal: map[string]any{}, paths: pathCache{}}
}

// services decodes the x-podlike and x-jobs fields of services (pairs of
// f's services mapping).
func (c *Config) services(f *load.File, pairs []yamlx.Pair) error {
	var errs diag.List
	for _, p := range pairs {
		svc := yamlx.Resolve(p.Value)
		if svc == nil || svc.Kind != yaml.MappingNode {
			continue
		}
		// `<<` merge keys can bring the fields in (SPEC §2).
		if k, v := yamlx.GetPair(svc, PodlikeKey); k != nil {
			errs.Add(diag.Service(c.podEntry(f, p.Key.Value, k, v, true), p.Key.Value))
		}
		if k, v := yamlx.GetPair(svc, JobsKey); k != nil {
			errs.Add(diag.Service(c.jobEntry(f, p.Key.Value, k, v, true), p.Key.Value))
		}
	}
	return errs.Err()
}

// servicesInParts is services for split's ranges of pairs at once, each
// into a Config of its own, added to c in order: c then holds what
// services would have made (c has no pods or jobs yet, and a file's
// service names are distinct).
func (c *Config) servicesInParts(f *load.File, pairs []yamlx.Pair, split parts.Split) error {
	done := make([]*Config, split.Count)
	errs := split.Run(func(i, lo, hi int) error {
		done[i] = newConfig()
		return done[i].services(f, pairs[lo:hi])
	})
	var list diag.List
	for i, d := range done {
		for _, name := range d.PodOrder {
			c.Pods[name] = d.Pods[name]
		}
		c.PodOrder = append(c.PodOrder, d.PodOrder...)
		for _, name := range d.JobOrder {
			c.Jobs[name] = d.Jobs[name]
		}
		c.JobOrder = append(c.JobOrder, d.JobOrder...)
		for k, v := range d.paths {
			if _, ok := c.paths[k]; !ok {
				c.paths[k] = v
			}
		}
		list.Add(errs[i])
	}
	return list.Err()
}

// Strip removes the extension fields from every file's tree and returns
// the keys of the entries removed, file by file (their values are left
// to the collector: Collect decoded them). Aliases into the removed
// fields are expanded first so they stay valid.
func Strip(files []*load.File) [][]*yaml.Node {
	keys := make([][]*yaml.Node, len(files))
	for fi, f := range files {
		var removed []*yaml.Node
		if services := yamlx.Resolve(yamlx.Get(f.Root, "services")); services != nil && services.Kind == yaml.MappingNode {
			for p := range yamlx.Entries(services) {
				svc := yamlx.Resolve(p.Value)
				if svc == nil || svc.Kind != yaml.MappingNode {
					continue
				}
				for _, key := range []string{PodlikeKey, JobsKey} {
					if k, v := yamlx.GetKey(svc, key); v != nil {
						removed = append(removed, v)
						keys[fi] = append(keys[fi], k)
					}
				}
			}
		}
		for _, key := range []string{PodlikeKey, JobsKey} {
			if k, v := yamlx.GetKey(f.Root, key); v != nil {
				removed = append(removed, v)
				keys[fi] = append(keys[fi], k)
			}
		}
		if f.Anchors {
			ExpandAliasesInto(f.Root, removed)
		}
		if services := yamlx.Resolve(yamlx.Get(f.Root, "services")); services != nil && services.Kind == yaml.MappingNode {
			for i := 1; i < len(services.Content); i += 2 {
				svc := yamlx.Resolve(services.Content[i])
				if svc != nil && svc.Kind == yaml.MappingNode {
					yamlx.Delete(svc, PodlikeKey)
					yamlx.Delete(svc, JobsKey)
					// Fields brought in by merge keys stay where the
					// user wrote them; only this service stops merging them.
					yamlx.DropMerged(svc, PodlikeKey, JobsKey)
				}
			}
		}
		yamlx.Delete(f.Root, PodlikeKey)
		yamlx.Delete(f.Root, JobsKey)
		keys[fi] = append(keys[fi], dropMergedAtRoot(f.Root)...)
	}
	return keys
}

// dropMergedAtRoot makes the `<<` merge keys of the top-level mapping root
// stop bringing in x-podlike and x-jobs, which docker's loader would see
// there: each merge source that brings one in is replaced, in root only,
// by a mapping of its other effective entries (their nodes shared, so the
// services it brings are still rebuilt where they are written); a merge
// key left with nothing to bring is removed, and its key returned.
func dropMergedAtRoot(root *yaml.Node) (removed []*yaml.Node) {
	brings := func(src *yaml.Node) bool {
		for _, key := range []string{PodlikeKey, JobsKey} {
			if k, _ := yamlx.GetPair(src, key); k != nil {
				return true
			}
		}
		return false
	}
	without := func(src *yaml.Node) *yaml.Node {
		m := yamlx.Map()
		for p := range yamlx.Entries(src) {
			if p.Key.Value != PodlikeKey && p.Key.Value != JobsKey {
				m.Content = append(m.Content, p.Key, p.Value)
			}
		}
		return m
	}
	if root == nil || root.Kind != yaml.MappingNode {
		return nil
	}
	// root gets a new array (as yamlx.Delete gives it) when it changes:
	// the old one may be shared.
	kept := make([]*yaml.Node, 0, len(root.Content))
	changed := false
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		src := yamlx.Resolve(v)
		switch {
		case !yamlx.IsMergeKey(k) || src == nil:
		case src.Kind == yaml.SequenceNode:
			var items []*yaml.Node
			dropped := false
			for _, item := range src.Content {
				if !brings(item) {
					items = append(items, item)
					continue
				}
				dropped = true
				if m := without(item); len(m.Content) > 0 {
					items = append(items, m)
				}
			}
			if !dropped {
				break
			}
			changed = true
			if len(items) == 0 {
				removed = append(removed, k)
				continue
			}
			v = yamlx.Seq(items...) // (a new node: written anew)
			v.Style = src.Style & yaml.FlowStyle
		case brings(src):
			changed = true
			if v = without(src); len(v.Content) == 0 {
				removed = append(removed, k)
				continue
			}
		}
		kept = append(kept, k, v)
	}
	if changed {
		root.Content = kept
	}
	return removed
}

// ExpandAliasesInto replaces every alias in root that points into one of the
// removed subtrees with a copy of its target, so removing them leaves no
// dangling alias.
func ExpandAliasesInto(root *yaml.Node, removed []*yaml.Node) {
	if len(removed) == 0 {
		return
	}
	gone := map[*yaml.Node]bool{}
	for _, r := range removed {
		yamlx.Walk(r, func(n *yaml.Node) { gone[n] = true })
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if gone[n] {
			return
		}
		for i, c := range n.Content {
			if c.Kind == yaml.AliasNode && gone[c.Alias] {
				cp := yamlx.Copy(c.Alias)
				cp.HeadComment, cp.LineComment, cp.FootComment = c.HeadComment, c.LineComment, c.FootComment
				n.Content[i] = cp
				continue
			}
			walk(c)
		}
	}
	walk(root)
}

func (c *Config) topLevel(f *load.File, key, val *yaml.Node, ext string) error {
	val = yamlx.Resolve(val)
	if yamlx.IsNull(val) {
		return nil
	}
	if val.Kind != yaml.MappingNode {
		return f.Pos(key).Errorf("top-level %s is %s; expected a mapping of service names (and args)", ext, yamlx.KindName(val))
	}
	var errs diag.List
	for p := range yamlx.Entries(val) {
		name := p.Key.Value
		switch {
		case name == "args":
			args, err := decodeArgs(f, p.Value)
			if err != nil {
				errs.Add(err)
				continue
			}
			if ext == PodlikeKey {
				c.podGlobal = MergeArgs(c.podGlobal, args)
			} else {
				c.jobGlobal = MergeArgs(c.jobGlobal, args)
			}
		case name == "library" && ext == PodlikeKey:
			srcs, err := decodeSources(c.paths, f.Name, f.Dir, p.Value)
			errs.Add(err)
			c.Library = append(c.Library, srcs...)
		case ext == PodlikeKey:
			errs.Add(diag.Service(c.podEntry(f, name, p.Key, p.Value, false), name))
		default:
			errs.Add(diag.Service(c.jobEntry(f, name, p.Key, p.Value, false), name))
		}
	}
	return errs.Err()
}

var podKeys = []string{"pod", "init", "transformer", "templates", "copy", "args"}

func (c *Config) podEntry(f *load.File, service string, key, val *yaml.Node, serviceLevel bool) error {
	p := c.Pods[service]
	if p == nil {
		p = &Pod{Service: service, Pos: f.Pos(key)}
		c.Pods[service] = p
		c.PodOrder = append(c.PodOrder, service)
	}
	if p.levels == nil {
		p.levels = &struct{ service, top podParts }{}
	}
	parts := &p.levels.top
	if serviceLevel {
		parts = &p.levels.service
	}
	val = yamlx.Resolve(val)
	if yamlx.IsNull(val) {
		return nil
	}
	if val.Kind != yaml.MappingNode {
		return f.Pos(val).Errorf("x-podlike is %s; expected a mapping with %s", yamlx.KindName(val), strings.Join(podKeys, ", "))
	}
	var errs diag.List
	for kv := range yamlx.Entries(val) {
		var dst *[]*Source
		switch kv.Key.Value {
		case "pod":
			dst = &parts.pod
		case "init":
			dst = &parts.init
		case "transformer":
			dst = &parts.transformer
		case "templates":
			dst = &parts.templates
		case "copy":
			dst = &parts.copy
		case "args":
			args, err := decodeArgs(f, kv.Value)
			if err != nil {
				errs.Add(err)
				continue
			}
			parts.args = MergeArgs(parts.args, args)
			continue
		default:
			errs.Add(f.Pos(kv.Key).Errorf("unknown x-podlike key %q; expected one of %s", kv.Key.Value, strings.Join(podKeys, ", ")))
			continue
		}
		srcs, err := decodeSources(c.paths, f.Name, f.Dir, kv.Value)
		if err != nil {
			errs.Add(err)
			continue
		}
		setService(srcs, service)
		if *dst == nil {
			*dst = srcs // (a new list: decodeSources keeps none)
		} else {
			*dst = append(*dst, srcs...)
		}
	}
	return errs.Err()
}

var jobKeys = []string{"mode", "completions", "attempts", "timeout", "schedule", "stage", "templates", "args"}

func (c *Config) jobEntry(f *load.File, name string, key, val *yaml.Node, serviceLevel bool) error {
	j := c.Jobs[name]
	if j == nil {
		j = &Job{Name: name, Pos: f.Pos(key)}
		c.Jobs[name] = j
		c.JobOrder = append(c.JobOrder, name)
	}
	if j.levels == nil {
		j.levels = &struct{ service, top jobParts }{}
	}
	parts := &j.levels.top
	if serviceLevel {
		parts = &j.levels.service
	}
	val = yamlx.Resolve(val)
	if yamlx.IsNull(val) {
		return nil
	}
	if val.Kind != yaml.MappingNode {
		return f.Pos(val).Errorf("x-jobs entry is %s; expected a mapping with %s", yamlx.KindName(val), strings.Join(jobKeys, ", "))
	}
	var errs diag.List
	for kv := range yamlx.Entries(val) {
		switch kv.Key.Value {
		case "templates":
			srcs, err := decodeSources(c.paths, f.Name, f.Dir, kv.Value)
			errs.Add(err)
			setService(srcs, name)
			parts.templates = append(parts.templates, srcs...)
		case "args":
			args, err := decodeArgs(f, kv.Value)
			errs.Add(err)
			parts.args = MergeArgs(parts.args, args)
		case "mode", "completions", "attempts", "timeout", "schedule", "stage":
			if parts.opts == nil {
				parts.opts, parts.optFile = map[string]*yaml.Node{}, map[string]string{}
			}
			parts.opts[kv.Key.Value] = yamlx.Resolve(kv.Value)
			parts.optFile[kv.Key.Value] = f.Name
		default:
			errs.Add(f.Pos(kv.Key).Errorf("unknown x-jobs key %q; expected one of %s", kv.Key.Value, strings.Join(jobKeys, ", ")))
		}
	}
	return errs.Err()
}

func decodeArgs(f *load.File, n *yaml.Node) (map[string]any, error) {
	n = yamlx.Resolve(n)
	if yamlx.IsNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, f.Pos(n).Errorf("args is %s; expected a mapping", yamlx.KindName(n))
	}
	v, err := yamlx.Value(n)
	if err != nil {
		return nil, f.Pos(n).Wrap(err, "args")
	}
	m, _ := v.(map[string]any)
	return m, nil
}

// MergeArgs merges higher into lower: mappings key by key, anything else
// from higher replaces lower. Neither input is modified; the result may be
// one of them (args are read only: an execution that can change its .Args
// gets a copy), so a stack of pods with args of their own keeps one map
// each, not a copy per merge.
func MergeArgs(lower, higher map[string]any) map[string]any {
	if len(higher) == 0 {
		return lower
	}
	if len(lower) == 0 {
		return higher
	}
	out := make(map[string]any, len(lower)+len(higher))
	for k, v := range lower {
		out[k] = v
	}
	for k, v := range higher {
		hm, hok := v.(map[string]any)
		lm, lok := out[k].(map[string]any)
		if hok && lok {
			out[k] = MergeArgs(lm, hm)
		} else {
			out[k] = v
		}
	}
	return out
}

// Finish resolves what needs the merged stack: that top-level entries name
// existing services (x-podlike) or can create one (x-jobs), the final
// template lists and args (cmdline applied last), and the job options.
func (c *Config) Finish(services map[string]bool, cmdline map[string]any) error {
	var errs diag.List
	for _, name := range c.PodOrder {
		p := c.Pods[name]
		if !services[name] {
			if _, isJob := c.Jobs[name]; !isJob {
				errs.Add(p.Pos.Errorf("x-podlike names service %q, which is not defined in services", name).WithService(name))
				continue
			}
		}
		s, t := p.levels.service, p.levels.top
		p.levels = nil // merged: what a render keeps for every pod is smaller
		p.Pod = concat(s.pod, t.pod)
		p.Init = concat(s.init, t.init)
		p.Transformer = concat(s.transformer, t.transformer)
		p.Templates = concat(s.templates, t.templates)
		p.Copy = concat(s.copy, t.copy)
		p.Args = MergeArgs(MergeArgs(MergeArgs(c.podGlobal, t.args), s.args), cmdline)
	}
	for _, name := range c.JobOrder {
		j := c.Jobs[name]
		j.InServices = services[name]
		j.Templates = concat(j.levels.service.templates, j.levels.top.templates)
		j.Args = MergeArgs(MergeArgs(MergeArgs(c.jobGlobal, j.levels.top.args), j.levels.service.args), cmdline)
		if !j.InServices && len(j.Templates) == 0 {
			errs.Add(j.Pos.Errorf("x-jobs names %q, which is not a service, and gives no templates to create it from", name).WithService(name))
			continue
		}
		errs.Add(diag.Service(j.decodeOptions(), name))
		j.levels = nil
	}
	return errs.Err()
}

func concat(a, b []*Source) []*Source {
	if len(b) == 0 {
		return a
	}
	return append(append([]*Source(nil), a...), b...)
}

// cronParser reads schedules the way crazy-max/swarm-cronjob does.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

func (j *Job) decodeOptions() error {
	var errs diag.List
	// opt returns an option's node (service level first); null means the
	// default, and anything but a scalar is an error.
	opt := func(key, expected string) (*yaml.Node, diag.Pos) {
		for _, parts := range []jobParts{j.levels.service, j.levels.top} {
			n, ok := parts.opts[key]
			if !ok {
				continue
			}
			pos := diag.At(parts.optFile[key], n)
			if yamlx.IsNull(n) {
				return nil, pos
			}
			if n.Kind != yaml.ScalarNode {
				errs.Add(pos.Errorf("%s is %s; expected %s", key, yamlx.KindName(n), expected))
				return nil, pos
			}
			return n, pos
		}
		return nil, diag.Pos{}
	}
	j.Mode, j.Completions, j.Attempts = joblabel.ModeRestartNone, 1, 1
	if n, pos := opt("mode", "restart-none, replicated-job or global-job"); n != nil {
		switch n.Value {
		case joblabel.ModeRestartNone, joblabel.ModeReplicatedJob, joblabel.ModeGlobalJob:
			j.Mode = n.Value
		default:
			errs.Add(pos.Errorf("unknown job mode %q; expected restart-none, replicated-job or global-job", n.Value))
		}
	}
	intOpt := func(key string, dst *int) bool {
		n, pos := opt(key, "a whole number")
		if n == nil {
			return false
		}
		// An !!int as YAML reads it (010 is octal, 8), a string in base 10.
		var v int
		var err error
		if n.ShortTag() == "!!int" {
			var i int64
			i, err = yamlx.IntValue(n)
			v = int(i)
		} else {
			v, err = strconv.Atoi(n.Value)
		}
		if err != nil {
			errs.Add(pos.Errorf("%s must be a whole number, got %q", key, n.Value))
			return true
		}
		if v < 1 {
			errs.Add(pos.Errorf("%s must be at least 1, got %d", key, v))
			return true
		}
		*dst = v
		return true
	}
	j.setCompletions = intOpt("completions", &j.Completions)
	intOpt("attempts", &j.Attempts)
	if j.setCompletions && j.Mode == joblabel.ModeGlobalJob {
		_, pos := opt("completions", "a whole number")
		errs.Add(pos.Errorf("completions cannot be set for a global-job: it runs one task on every node"))
	}
	if n, pos := opt("timeout", "a duration"); n != nil {
		d, err := time.ParseDuration(n.Value)
		switch {
		case err != nil:
			errs.Add(pos.Errorf("timeout %q is not a duration; expected e.g. 90s, 10m or 1h30m", n.Value))
		case d <= 0:
			errs.Add(pos.Errorf("timeout must be positive, got %q", n.Value))
		default:
			j.Timeout = n.Value
		}
	}
	if n, pos := opt("schedule", "a cron expression"); n != nil {
		if _, err := cronParser.Parse(n.Value); err != nil {
			errs.Add(pos.Errorf("invalid cron schedule %q: %v", n.Value, err))
		} else if j.Mode != joblabel.ModeRestartNone {
			errs.Add(pos.Errorf("schedule works with mode restart-none only (swarm-cronjob scales a replicated service), not %s", j.Mode))
		} else {
			j.Schedule = n.Value
		}
	}
	if n, pos := opt("stage", "pre-deploy or post-deploy"); n != nil {
		switch {
		case n.Value != joblabel.StagePreDeploy && n.Value != joblabel.StagePostDeploy:
			errs.Add(pos.Errorf("unknown job stage %q; expected pre-deploy or post-deploy", n.Value))
		case j.Schedule != "":
			errs.Add(pos.Errorf("stage %s cannot be combined with schedule: the scheduler, not the deploy, starts a scheduled job", n.Value))
		default:
			j.Stage = n.Value
		}
	}
	return errs.Err()
}

// SortedNames returns the keys of m sorted.
func SortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Sources lists every template source a render needs: the command line's
// libraries (library), the stack's, then each pod's and job's templates.
// Call it after Finish.
func (c *Config) Sources(library []*Source) []*Source {
	all := append(append([]*Source(nil), library...), c.Library...)
	for _, name := range c.PodOrder {
		p := c.Pods[name]
		for _, list := range [][]*Source{p.Pod, p.Init, p.Transformer, p.Templates, p.Copy} {
			all = append(all, list...)
		}
	}
	for _, name := range c.JobOrder {
		all = append(all, c.Jobs[name].Templates...)
	}
	return all
}

// ServiceNames are the services the merged top-level mapping root defines;
// file names the input for an error.
func ServiceNames(file string, root *yaml.Node) (map[string]bool, error) {
	services := yamlx.Resolve(yamlx.Get(root, "services"))
	if services != nil && !yamlx.IsNull(services) && services.Kind != yaml.MappingNode {
		return nil, diag.At(file, services).Errorf("services is %s; expected a mapping of service names", yamlx.KindName(services))
	}
	names := map[string]bool{}
	for p := range yamlx.Entries(services) {
		names[p.Key.Value] = true
	}
	return names, nil
}
