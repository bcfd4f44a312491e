package swarm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/podtemplate/podtemplate/internal/duration"
	"github.com/podtemplate/podtemplate/joblabel"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// RunOptions configures Run.
type RunOptions struct {
	// Job is the job (service) name in the stack file.
	Job string
	// StackFile is the full rendered stack (YAML or JSON).
	StackFile []byte
	// StackPrefix, if set, starts the unique stack name
	// (<prefix>-<job>-<hex>); by default the stack is named <job>-<hex>.
	StackPrefix string
	// Env adds or replaces environment variables of the job (K=V).
	Env []string
	// Keep leaves the stack in place after the run.
	Keep bool
	// Out and Err receive the job's stdout and stderr, prefixed with its
	// name; Status receives deploy output, state lines and progress
	// (default Err).
	Out, Err, Status io.Writer
	// TTY shows a live progress display on Status.
	TTY bool
	// Timeout overrides the job's timeout label (0: keep it).
	Timeout time.Duration
	// DefaultTimeout applies when the job has no timeout label.
	DefaultTimeout time.Duration
	// WithRegistryAuth is docker stack deploy --with-registry-auth.
	WithRegistryAuth bool
	// ResolveImage is docker stack deploy --resolve-image ("": default).
	ResolveImage string
	// DockerArgs are global docker flags (see DeployOptions.DockerArgs).
	DockerArgs []string
	// Summary prints the summary table at the end.
	Summary bool
	// Join is a deployed stack whose networks, volumes, secrets and
	// configs the job uses (see RunStack); "" gives it its own.
	Join string
	// Report, if set, receives how the run ended (for --report), before
	// the stack is removed.
	Report func(Summary)
}

// RunError is returned by Run when the job did not produce an exit code of
// its own: rejected, timed out, removed or interrupted. Code is the exit
// status a CLI should use.
type RunError struct {
	// Code is 124 for a timeout, 125 when Swarm could not run the job,
	// 130 when interrupted.
	Code int
	// Msg describes what happened.
	Msg string
}

// Error returns the message.
func (e *RunError) Error() string { return e.Msg }

// Run deploys one job of a rendered stack as a stack of its own under a
// unique name, streams its logs, waits for it and returns the exit code of
// its decisive task (0 when it completed). The stack is removed afterwards
// unless Keep, also on timeout, failure and cancellation of ctx.
//
// err is a *RunError (with a suggested exit status) when the job ended
// without an exit code of its own, or another error when it could not be
// deployed. When only the removal fails, the job's code is returned with
// the removal error.
func (c *Client) Run(ctx context.Context, opts RunOptions) (code int, err error) {
	if opts.Status == nil {
		opts.Status = opts.Err
	}
	if opts.Status == nil {
		opts.Status = io.Discard
	}
	suffix, err := randomHex(3)
	if err != nil {
		return 1, err
	}
	unique := sanitizeName(opts.Job) + "-" + suffix
	stack := unique
	if opts.StackPrefix != "" {
		stack = sanitizeName(opts.StackPrefix) + "-" + unique
	}
	file, err := RunStack(opts.StackFile, opts.Job, unique, opts.Env, opts.Timeout, opts.Join)
	if err != nil {
		return 1, err
	}
	fmt.Fprintf(opts.Status, "running job %s as stack %s\n", opts.Job, stack)

	cleanup := func() error {
		if opts.Keep {
			fmt.Fprintf(opts.Status, "kept stack %s (remove it with: docker stack rm %s)\n", stack, stack)
			return nil
		}
		cctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		if err := c.RemoveStack(cctx, stack); err != nil {
			return fmt.Errorf("removing stack %s: %w", stack, err)
		}
		return nil
	}

	// The deploy itself is short and is not interrupted: killing docker
	// halfway could create objects after the cleanup listed the stack.
	dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	_, derr := c.Deploy(dctx, DeployOptions{
		Stack:            stack,
		WithRegistryAuth: opts.WithRegistryAuth,
		ResolveImage:     opts.ResolveImage,
		Stdin:            file,
		Stdout:           io.Discard,
		Stderr:           opts.Status,
		DockerArgs:       opts.DockerArgs,
	})
	dcancel()
	if derr == nil && ctx.Err() != nil {
		derr = ctx.Err()
	}
	if derr != nil {
		// A partial deploy may have created networks or services.
		if cerr := cleanup(); cerr != nil {
			return 1, fmt.Errorf("%w (and %w)", derr, cerr)
		}
		if ctx.Err() != nil {
			return 130, &RunError{Code: 130, Msg: "interrupted: job " + opts.Job + " was not run"}
		}
		return 1, derr
	}

	sum, ferr := c.Follow(ctx, FollowOptions{
		Stack:          stack,
		Out:            opts.Out,
		Err:            opts.Err,
		Status:         opts.Status,
		TTY:            opts.TTY,
		DefaultTimeout: opts.DefaultTimeout,
		Logs:           true,
		NoSummary:      !opts.Summary,
	})
	if opts.Report != nil && ferr == nil {
		opts.Report(sum)
	}
	code, err = runOutcome(opts.Job, sum, ferr, ctx.Err() != nil)
	if cerr := cleanup(); cerr != nil {
		if err != nil {
			return code, fmt.Errorf("%w (and %w)", err, cerr)
		}
		return code, cerr
	}
	return code, err
}

func runOutcome(job string, sum Summary, ferr error, interrupted bool) (int, error) {
	if interrupted {
		return 130, &RunError{Code: 130, Msg: "interrupted: job " + job + " was stopped"}
	}
	if ferr != nil {
		return 1, ferr
	}
	if len(sum.Jobs) == 0 {
		return 1, fmt.Errorf("job %s: the deployed stack has no job service", job)
	}
	r := sum.Jobs[0]
	switch r.State {
	case StateCompleted:
		return 0, nil
	case StateFailed:
		if r.ExitCode >= 0 {
			return r.ExitCode, nil
		}
		return 125, &RunError{Code: 125, Msg: fmt.Sprintf("job %s failed: %s", job, oneLine(r.Err))}
	case StateTimedOut:
		return 124, &RunError{Code: 124, Msg: fmt.Sprintf("job %s %s", job, r.Err)}
	case StateRejected:
		return 125, &RunError{Code: 125, Msg: fmt.Sprintf("job %s was rejected by Swarm: %s", job, oneLine(r.Err))}
	}
	return 125, &RunError{Code: 125, Msg: fmt.Sprintf("job %s ended %s: %s", job, r.State, oneLine(r.Err))}
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// sanitizeName makes a string usable in stack and service names: each
// run of characters other than a-z, 0-9 and - becomes one -. A byte loop
// rather than a regular expression compiled at start-up, which every
// podtemplate command paid for.
func sanitizeName(s string) string {
	lower := strings.ToLower(s)
	b := make([]byte, 0, len(lower))
	for i := 0; i < len(lower); i++ {
		switch c := lower[i]; {
		case validNameByte(c):
			b = append(b, c)
		case i == 0 || validNameByte(lower[i-1]):
			b = append(b, '-')
		}
	}
	s = strings.Trim(string(b), "-")
	if s == "" {
		s = "job"
	}
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-")
	}
	return s
}

// validNameByte reports whether sanitizeName keeps the byte c.
func validNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
}

// RunStack builds the stack file Run deploys: only the service job of the
// rendered stack, renamed to name, with env (K=V) merged into its
// environment, plus the top-level networks, volumes, secrets and configs
// it references. A scheduled job is made to run now (replicas set to its
// completions, swarm-cronjob disabled). timeout, if > 0, replaces the
// job's timeout label.
//
// With join set to the name of a deployed stack, the job uses that stack's
// networks, volumes, secrets and configs (as external resources named
// <join>_<name>, or by their explicit names) instead of new ones of its
// own, so it reaches the stack's services and data.
func RunStack(rendered []byte, job, name string, env []string, timeout time.Duration, join string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(rendered, &doc); err != nil {
		return nil, fmt.Errorf("reading the rendered stack: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("reading the rendered stack: not a YAML mapping")
	}
	root := yamlx.Copy(doc.Content[0])
	services := yamlx.Get(root, "services")
	if services == nil || services.Kind != yaml.MappingNode {
		return nil, errors.New("the rendered stack has no services")
	}
	svc := yamlx.Get(services, job)
	if svc == nil {
		var names []string
		for i := 0; i+1 < len(services.Content); i += 2 {
			names = append(names, services.Content[i].Value)
		}
		return nil, fmt.Errorf("job %s not found in the stack (services: %s)", job, strings.Join(names, ", "))
	}
	if svc.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("service %s is not a mapping", job)
	}
	deploy := yamlx.Get(svc, "deploy")
	labels := yamlx.Get(deploy, "labels")
	if labelValue(labels, joblabel.Job) != "true" {
		return nil, fmt.Errorf("service %s is not a job (it has no %s=true label; mark it with x-jobs)", job, joblabel.Job)
	}
	// depends_on names services that are not part of the run stack.
	yamlx.Delete(svc, "depends_on")
	if len(env) > 0 {
		if main := labelValue(labels, joblabel.PodMain); main != "" {
			// A pod job: the job's process is the main component, whose
			// definition is the text of a container label.
			if err := mergePodEnv(svc, main, env); err != nil {
				return nil, err
			}
		} else if err := mergeEnv(svc, env); err != nil {
			return nil, err
		}
	}
	// Run it now, even when a schedule would have started it later.
	if labelValue(labels, joblabel.Schedule) != "" || labelValue(labels, joblabel.CronEnable) != "" {
		setLabel(deploy, joblabel.CronEnable, "false")
		deleteLabel(deploy, joblabel.Schedule)
		if r := yamlx.Get(deploy, "replicas"); r != nil && r.Value == "0" {
			n := labelValue(labels, joblabel.Completions)
			if n == "" || n == "0" {
				n = "1"
			}
			r.Value, r.Tag, r.Style = n, "!!int", 0
		}
	}
	if timeout > 0 {
		setLabel(deploy, joblabel.Timeout, duration.Setting(timeout))
	}

	out := &yaml.Node{Kind: yaml.MappingNode}
	if v := yamlx.Get(root, "version"); v != nil {
		yamlx.Set(out, "version", v)
	}
	newServices := &yaml.Node{Kind: yaml.MappingNode}
	yamlx.Set(newServices, name, svc)
	yamlx.Set(out, "services", newServices)
	refs := serviceRefs(svc)
	for _, kind := range []string{"networks", "volumes", "secrets", "configs"} {
		top := yamlx.Get(root, kind)
		picked := &yaml.Node{Kind: yaml.MappingNode}
		if top != nil && top.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(top.Content); i += 2 {
				if refs[kind][top.Content[i].Value] {
					def := top.Content[i+1]
					if join != "" {
						def = joined(def, join, top.Content[i].Value)
					}
					picked.Content = append(picked.Content, top.Content[i], def)
				}
			}
		}
		if join != "" && kind == "networks" && refs[kind]["default"] && yamlx.Get(picked, "default") == nil {
			yamlx.Set(picked, "default", joined(nil, join, "default"))
		}
		if len(picked.Content) > 0 {
			yamlx.Set(out, kind, picked)
		}
	}
	return yaml.Marshal(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{out}})
}

// joined is a resource definition that refers to the deployed stack's
// resource: external, named <stack>_<key> unless it is external or named
// already (then it is the same resource in both stacks).
func joined(def *yaml.Node, stack, key string) *yaml.Node {
	if def != nil && def.Kind == yaml.MappingNode {
		if ext := yamlx.Get(def, "external"); ext != nil && ext.Value == "true" {
			return def
		}
		if n := yamlx.Get(def, "name"); n != nil {
			return &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
				{Kind: yaml.ScalarNode, Value: "external"}, {Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"},
				{Kind: yaml.ScalarNode, Value: "name"}, n,
			}}
		}
	}
	return &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Value: "external"}, {Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"},
		{Kind: yaml.ScalarNode, Value: "name"}, {Kind: yaml.ScalarNode, Tag: "!!str", Value: stack + "_" + key},
	}}
}

func strNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.DoubleQuotedStyle}
}

// labelValue reads a label from a labels mapping or KEY=VALUE list.
func labelValue(labels *yaml.Node, key string) string {
	if labels == nil || (labels.Kind != yaml.MappingNode && labels.Kind != yaml.SequenceNode) {
		return ""
	}
	v, _ := yamlx.Scalar(yamlx.Get(yamlx.KeyValueMap(labels), key))
	return v
}

// setLabel sets a label in deploy.labels (either form).
func setLabel(deploy *yaml.Node, key, value string) {
	if deploy == nil {
		return
	}
	labels := yamlx.Get(deploy, "labels")
	if labels == nil {
		labels = &yaml.Node{Kind: yaml.MappingNode}
		yamlx.Set(deploy, "labels", labels)
	}
	if labels.Kind == yaml.SequenceNode {
		for _, item := range labels.Content {
			if k, _, _ := strings.Cut(item.Value, "="); k == key {
				item.Value = key + "=" + value
				return
			}
		}
		labels.Content = append(labels.Content, strNode(key+"="+value))
		return
	}
	yamlx.Set(labels, key, strNode(value))
}

// deleteLabel removes a label from deploy.labels (either form).
func deleteLabel(deploy *yaml.Node, key string) {
	labels := yamlx.Get(deploy, "labels")
	if labels == nil {
		return
	}
	if labels.Kind == yaml.MappingNode {
		yamlx.Delete(labels, key)
		return
	}
	kept := labels.Content[:0]
	for _, item := range labels.Content {
		if k, _, _ := strings.Cut(item.Value, "="); k != key {
			kept = append(kept, item)
		}
	}
	labels.Content = kept
}

// mergeEnv adds K=V pairs to the service's environment (mapping or list).
func mergeEnv(svc *yaml.Node, env []string) error {
	envNode := yamlx.Get(svc, "environment")
	if envNode == nil || (envNode.Kind == yaml.ScalarNode && envNode.Tag == "!!null") {
		envNode = &yaml.Node{Kind: yaml.MappingNode}
		yamlx.Set(svc, "environment", envNode)
	}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("invalid --env %q: want KEY=VALUE", kv)
		}
		switch envNode.Kind {
		case yaml.MappingNode:
			yamlx.Set(envNode, k, strNode(v))
		case yaml.SequenceNode:
			replaced := false
			for _, item := range envNode.Content {
				if ik, _, _ := strings.Cut(item.Value, "="); ik == k {
					item.Value, item.Tag, item.Style = kv, "!!str", yaml.DoubleQuotedStyle
					replaced = true
				}
			}
			if !replaced {
				envNode.Content = append(envNode.Content, strNode(kv))
			}
		default:
			return errors.New("the job's environment is neither a mapping nor a list")
		}
	}
	return nil
}

// mergePodEnv merges env (KEY=VALUE) into the environment of the pod
// component main, whose YAML text is the controller's container label
// pod.component.<main>.
func mergePodEnv(svc *yaml.Node, main string, env []string) error {
	key := "pod.component." + main
	labels := yamlx.Get(svc, "labels")
	var item *yaml.Node // the label's value node, or its KEY=VALUE list item
	switch {
	case labels != nil && labels.Kind == yaml.MappingNode:
		item = yamlx.Get(labels, key)
	case labels != nil && labels.Kind == yaml.SequenceNode:
		for _, it := range labels.Content {
			if k, _, _ := strings.Cut(it.Value, "="); k == key {
				item = it
			}
		}
	}
	if item == nil {
		return fmt.Errorf("the pod job has no label %s for its main component", key)
	}
	text := item.Value
	if labels.Kind == yaml.SequenceNode {
		_, text, _ = strings.Cut(text, "=")
	}
	var comp yaml.Node
	if err := yaml.Unmarshal([]byte(text), &comp); err != nil {
		return fmt.Errorf("reading the main component %s: %w", main, err)
	}
	if comp.Kind != yaml.DocumentNode || len(comp.Content) == 0 || comp.Content[0].Kind != yaml.MappingNode {
		return fmt.Errorf("reading the main component %s: not a YAML mapping", main)
	}
	if err := mergeEnv(comp.Content[0], env); err != nil {
		return err
	}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(comp.Content[0]); err != nil {
		return fmt.Errorf("writing the main component %s: %w", main, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("writing the main component %s: %w", main, err)
	}
	if labels.Kind == yaml.SequenceNode {
		item.Value = key + "=" + b.String()
	} else {
		item.Value = b.String()
	}
	item.Style, item.Tag = yaml.LiteralStyle, "!!str"
	return nil
}

// serviceRefs lists the top-level networks, volumes, secrets and configs a
// service uses.
func serviceRefs(svc *yaml.Node) map[string]map[string]bool {
	refs := map[string]map[string]bool{"networks": {}, "volumes": {}, "secrets": {}, "configs": {}}
	if nets := yamlx.Get(svc, "networks"); nets != nil {
		switch nets.Kind {
		case yaml.SequenceNode:
			for _, n := range nets.Content {
				refs["networks"][n.Value] = true
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(nets.Content); i += 2 {
				refs["networks"][nets.Content[i].Value] = true
			}
		}
	} else if yamlx.Get(svc, "network_mode") == nil {
		refs["networks"]["default"] = true
	}
	if vols := yamlx.Get(svc, "volumes"); vols != nil && vols.Kind == yaml.SequenceNode {
		for _, v := range vols.Content {
			switch v.Kind {
			case yaml.ScalarNode:
				src := yamlx.ParseVolume(v.Value).Source
				if src != "" && !strings.ContainsAny(src[:1], "/.~$") {
					refs["volumes"][src] = true
				}
			case yaml.MappingNode:
				typ := yamlx.Get(v, "type")
				src := yamlx.Get(v, "source")
				if src != nil && (typ == nil || typ.Value == "volume") {
					refs["volumes"][src.Value] = true
				}
			}
		}
	}
	for _, kind := range []string{"secrets", "configs"} {
		items := yamlx.Get(svc, kind)
		if items == nil || items.Kind != yaml.SequenceNode {
			continue
		}
		for _, it := range items.Content {
			switch it.Kind {
			case yaml.ScalarNode:
				refs[kind][it.Value] = true
			case yaml.MappingNode:
				if src := yamlx.Get(it, "source"); src != nil {
					refs[kind][src.Value] = true
				}
			}
		}
	}
	return refs
}
