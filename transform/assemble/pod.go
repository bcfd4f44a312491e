// Package assemble turns rendered templates into services: a podlike
// controller whose labels carry the pod's components, and job services with
// their restart policy, mode and labels.
package assemble

import (
	"fmt"
	"sort"
	"strings"

	"github.com/podtemplate/podtemplate/transform/config"
	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/internal/codec"
	"github.com/podtemplate/podtemplate/transform/merge"
	"github.com/podtemplate/podtemplate/transform/render"
	"github.com/podtemplate/podtemplate/transform/validation"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// DefaultControllerImage is the podlike controller image used when neither
// a pod template nor --controller-image names one.
const DefaultControllerImage = "rycus86/podlike:0.5.1"

// MainComponent is the main component's name when no transformer names it.
const MainComponent = "app"

// DockerSocket is the volume every controller needs to manage its components.
const DockerSocket = "/var/run/docker.sock:/var/run/docker.sock:ro"

// DefaultControllerCommand starts podlike's controller with component
// logs and without IPC sharing: Docker Engine 20.10 and later give
// containers a private IPC namespace, which components cannot join, and a
// Swarm service cannot ask for another (see docs/migrating-from-podlike.md).
const DefaultControllerCommand = "-logs -ipc=false"

// controllerKey says whether a service key is copied to the controller
// (list A): those that describe the Swarm task. Keys that describe the
// process go to the main component only; on the controller they break it.
// (Key sets are switches: no package initialiser, and no scan per key.)
func controllerKey(k string) bool {
	switch k {
	case "configs", "credential_spec", "deploy", "dns", "dns_search", "domainname",
		"expose", "extra_hosts", "hostname", "isolation", "labels", "logging", "mac_address", "networks",
		"pid", "ports", "secrets", "stop_grace_period", "volumes":
		return true
	}
	return false
}

// mainComponentKey says whether a service key is copied to the main
// component.
func mainComponentKey(k string) bool {
	switch k {
	case "blkio_config", "cap_add", "cap_drop", "command", "cpu_count", "cpu_percent",
		"cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpu_shares", "cpus", "cpuset",
		"device_cgroup_rules", "devices", "entrypoint", "env_file", "environment", "group_add",
		"healthcheck", "image", "isolation", "labels", "logging", "mem_limit", "mem_reservation",
		"mem_swappiness", "memswap_limit", "oom_kill_disable", "oom_score_adj", "pids_limit",
		"privileged", "read_only", "runtime", "security_opt", "shm_size", "stdin_open",
		"stop_grace_period", "stop_signal", "storage_opt", "sysctls", "tmpfs", "tty", "ulimits",
		"user", "userns_mode", "volumes", "working_dir":
		return true
	}
	return false
}

func dependsOnKey(k string) bool { return k == "depends_on" }

// Renderer executes a template source for a service.
type Renderer struct {
	Engine *render.Engine
	Data   map[string]any // .Service, .Args, .Project, .Job
	Svc    string
}

func (r *Renderer) mapping(src *config.Source) (*yaml.Node, error) {
	m, err := r.Engine.Mapping(src.Key(), r.Data)
	if err != nil {
		return nil, r.wrap(src, err)
	}
	return m, nil
}

func (r *Renderer) wrap(src *config.Source, err error) error {
	if d, ok := err.(*diag.Error); ok {
		if d.File == "" {
			d.File, d.Line, d.Column = src.Pos.File, src.Pos.Line, src.Pos.Column
		}
		d.WithService(r.Svc).WithTemplate(r.Engine.Name(src.Key()))
		return d
	}
	return src.Pos.Wrap(err, "").WithService(r.Svc).WithTemplate(r.Engine.Name(src.Key()))
}

func (r *Renderer) errorf(src *config.Source, format string, args ...any) error {
	return r.wrap(src, &diag.Error{Msg: fmt.Sprintf(format, args...)})
}

// oneRoot renders src and returns its single root key and value; ok is false
// when the template rendered nothing.
func (r *Renderer) oneRoot(src *config.Source, kind string) (name string, val *yaml.Node, ok bool, err error) {
	m, err := r.mapping(src)
	if err != nil {
		return "", nil, false, err
	}
	kv := entries(m)
	switch len(kv) {
	case 0:
		return "", nil, false, nil
	case 2:
	default:
		keys := make([]string, len(kv)/2)
		for i := range keys {
			keys[i] = kv[2*i].Value
		}
		article := "a"
		if strings.ContainsRune("aeiou", rune(kind[0])) {
			article = "an"
		}
		return "", nil, false, r.errorf(src, "%s %s template must render one root key, got %d (%s)", article, kind, len(keys), strings.Join(keys, ", "))
	}
	v, err := r.definition(src, kv[0].Value, kv[1])
	return kv[0].Value, v, err == nil, err
}

// definition checks that a root key's value is a mapping (null is empty).
func (r *Renderer) definition(src *config.Source, name string, v *yaml.Node) (*yaml.Node, error) {
	v = yamlx.Resolve(v)
	if yamlx.IsNull(v) {
		return yamlx.Map(), nil
	}
	if v.Kind != yaml.MappingNode {
		return nil, r.errorf(src, "%q is %s; expected a mapping (a service definition)", name, yamlx.KindName(v))
	}
	return v, nil
}

// PodInput is what BuildPod needs.
type PodInput struct {
	Name            string
	Service         *yaml.Node // effective (flattened) service mapping
	Pod             *config.Pod
	R               *Renderer
	ControllerImage string
	// Dir is the folder relative paths of the service are resolved
	// against (the first stack file's, as docker stack deploy does).
	Dir string
	// Lookup gives the deploying environment's variables, for component
	// variables without a value.
	Lookup func(string) (string, bool)
	// Volumes is the stack's top-level volumes mapping (read only).
	Volumes *yaml.Node
}

// BuiltPod is a pod's controller service and what the stack around it
// must know.
type BuiltPod struct {
	// Controller replaces the service.
	Controller *yaml.Node
	// Main is the main component's name.
	Main string
	// VolumeRefs names the top-level volumes with an explicit name that
	// components use: each needs the podlike volume-ref label.
	VolumeRefs []string
}

// BuildPod returns the controller service that replaces the service.
func BuildPod(in PodInput) (*BuiltPod, error) {
	svc, p, r := in.Service, in.Pod, in.R
	var ctrl *yaml.Node
	for _, src := range p.Pod {
		_, v, ok, err := r.oneRoot(src, "pod")
		if err != nil {
			return nil, err
		}
		if ok {
			ctrl = merge.Into(ctrl, v)
		}
	}
	if ctrl == nil {
		ctrl = yamlx.Map()
	}
	ctrl.Style &^= yaml.FlowStyle
	copyKeys(ctrl, svc, controllerKey)
	copyKeys(ctrl, svc, dependsOnKey)
	kv := entries(svc)
	for i := 0; i+1 < len(kv); i += 2 {
		if k := kv[i]; strings.HasPrefix(k.Value, "x-") && yamlx.Get(ctrl, k.Value) == nil {
			yamlx.Set(ctrl, k.Value, yamlx.Copy(kv[i+1]))
		}
	}
	if yamlx.Get(ctrl, "image") == nil {
		image := in.ControllerImage
		if image == "" {
			image = DefaultControllerImage
		}
		ctrl.Content = append([]*yaml.Node{yamlx.Str("image"), yamlx.Str(image)}, ctrl.Content...)
	}
	if yamlx.Get(ctrl, "command") == nil {
		at := 0
		for i := 0; i+1 < len(ctrl.Content); i += 2 {
			if ctrl.Content[i].Value == "image" {
				at = i + 2
			}
		}
		cmd := []*yaml.Node{yamlx.Str("command"), yamlx.Str(DefaultControllerCommand)}
		ctrl.Content = append(ctrl.Content[:at], append(cmd, ctrl.Content[at:]...)...)
	}
	if err := addSocket(ctrl); err != nil {
		return nil, podTemplateErr(in, err.Error())
	}

	comps, order, owners, err := components(in)
	if err != nil {
		return nil, err
	}
	mainName := order[0]
	inits, initSrcs, err := initComponents(in)
	if err != nil {
		return nil, err
	}
	copies, copyOrder, err := copyLists(in, comps)
	if err != nil {
		return nil, err
	}
	for _, name := range order {
		c, err := in.finish(owners[name], name, comps[name])
		if err != nil {
			return nil, err
		}
		comps[name] = c
	}
	for _, name := range order[1:] {
		if img, _ := yamlx.Scalar(yamlx.Get(comps[name], "image")); img == "" {
			return nil, r.errorf(owners[name], "component %q has no image", name)
		}
	}
	for i, c := range inits {
		if img, _ := yamlx.Scalar(yamlx.Get(c, "image")); img == "" {
			return nil, r.errorf(initSrcs[i], "init component %d has no image", i+1)
		}
	}
	for _, name := range order {
		if err := checkDependsOn(comps[name]); err != nil {
			if src := owners[name]; src != nil {
				return nil, r.errorf(src, "component %q: %v", name, err)
			}
			return nil, &diag.Error{Service: in.Name, Msg: fmt.Sprintf("component %q: %v", name, err)}
		}
	}
	for i, c := range inits {
		if err := checkDependsOn(c); err != nil {
			return nil, r.errorf(initSrcs[i], "init component %d: %v", i+1, err)
		}
	}
	// A new mapping: the service's labels node is shared with the main
	// component.
	labels, err := labelMap(yamlx.Get(ctrl, "labels"), "labels")
	if err != nil {
		return nil, podTemplateErr(in, "the controller's "+err.Error())
	}
	kvs := make([]*yaml.Node, len(labels.Content), len(labels.Content)+2*(len(order)+len(copyOrder)+1))
	copy(kvs, labels.Content)
	labels = yamlx.Map(kvs...)
	sort.Strings(order)
	for _, name := range order {
		if err := setLabel(labels, "pod.component."+name, comps[name]); err != nil {
			return nil, &diag.Error{Service: in.Name, Msg: fmt.Sprintf("component %q", name), Err: err}
		}
	}
	if len(inits) > 0 {
		items := make([]*yaml.Node, len(inits))
		for i, c := range inits {
			items[i] = plain(c)
		}
		if err := setLabel(labels, "pod.init.components", yamlx.Seq(items...)); err != nil {
			return nil, &diag.Error{Service: in.Name, Msg: "init components", Err: err}
		}
	}
	sort.Strings(copyOrder)
	for _, name := range copyOrder {
		if err := setLabel(labels, "pod.copy."+name, copies[name]); err != nil {
			return nil, &diag.Error{Service: in.Name, Msg: "copy", Err: err}
		}
	}
	yamlx.Set(ctrl, "labels", labels)
	refs, err := attachVolumes(in, ctrl, comps, order, inits)
	if err != nil {
		return nil, err
	}
	return &BuiltPod{Controller: ctrl, Main: mainName, VolumeRefs: refs}, nil
}

// podTemplateErr reports a problem with the controller's keys: the
// input's were validated, so the pod templates set them (placed at the
// first one's item, else at the pod's configuration).
func podTemplateErr(in PodInput, msg string) error {
	if len(in.Pod.Pod) > 0 {
		return in.R.errorf(in.Pod.Pod[0], "%s", msg)
	}
	return in.Pod.Pos.Errorf("%s", msg).WithService(in.Name)
}

// setLabel stores v as the YAML text of label key.
func setLabel(labels *yaml.Node, key string, v *yaml.Node) error {
	text, err := Marshal(plain(v))
	if err != nil {
		return err
	}
	yamlx.Set(labels, key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: text, Style: yaml.LiteralStyle})
	return nil
}

// copyKeys copies the listed keys from src to dst, in src's order, where
// dst does not set them. The service node src is the build's own copy, and
// the controller and its label texts only read shared values (labels are
// written before the controller is finished), so values are not copied.
// The entries are gathered first and appended at once: dst grows once.
func copyKeys(dst, src *yaml.Node, keys func(string) bool) {
	var buf [16]*yaml.Node
	add := buf[:0]
	kv := entries(src)
	for i := 0; i+1 < len(kv); i += 2 {
		if k := kv[i]; keys(k.Value) && yamlx.Get(dst, k.Value) == nil && !hasKey(add, k.Value) {
			add = append(add, keyNode(k), kv[i+1])
		}
	}
	if len(add) > 0 {
		dst.Content = append(dst.Content, add...)
	}
}

// hasKey reports whether the flat key, value list kv has key.
func hasKey(kv []*yaml.Node, key string) bool {
	for i := 0; i < len(kv); i += 2 {
		if kv[i].Value == key {
			return true
		}
	}
	return false
}

func addSocket(ctrl *yaml.Node) error {
	vols := yamlx.Resolve(yamlx.Get(ctrl, "volumes"))
	if vols == nil || yamlx.IsNull(vols) {
		yamlx.Set(ctrl, "volumes", yamlx.Seq(yamlx.Str(DockerSocket)))
		return nil
	}
	if vols.Kind != yaml.SequenceNode {
		return fmt.Errorf("controller volumes is %s; expected a list", yamlx.KindName(vols))
	}
	// A pod template may mount the socket itself, from another host path
	// (rootless Docker): any mount of the controller's socket path counts.
	const sock = "/var/run/docker.sock"
	for _, v := range vols.Content {
		v = yamlx.Resolve(v)
		var src, dst string
		if v.Kind == yaml.MappingNode {
			src, _ = yamlx.Scalar(yamlx.Get(v, "source"))
			dst, _ = yamlx.Scalar(yamlx.Get(v, "target"))
		} else {
			vol := yamlx.ParseVolume(v.Value)
			src, dst = vol.Source, vol.Target
		}
		if src == sock || dst == sock {
			return nil
		}
	}
	// A new list: the service's volumes node is shared with the main
	// component.
	withSocket := *vols
	withSocket.Content = append(append([]*yaml.Node(nil), vols.Content...), yamlx.Str(DockerSocket))
	yamlx.Set(ctrl, "volumes", &withSocket)
	return nil
}

// components renders the main component and the additional ones, and
// says which template first gave each (nil: the service itself).
func components(in PodInput) (map[string]*yaml.Node, []string, map[string]*config.Source, error) {
	r := in.R
	mainName := MainComponent
	var main *yaml.Node
	owners := map[string]*config.Source{}
	for _, src := range in.Pod.Transformer {
		name, v, ok, err := r.oneRoot(src, "transformer")
		if err != nil {
			return nil, nil, nil, err
		}
		if !ok {
			continue
		}
		if main == nil {
			if err := checkComponentName(r, src, name); err != nil {
				return nil, nil, nil, err
			}
			mainName = name
			owners[name] = src
		}
		if v, err = in.prepare(src, name, v); err != nil {
			return nil, nil, nil, err
		}
		main = merge.Into(main, v)
	}
	if main == nil {
		main = yamlx.Map()
	}
	fromService := yamlx.Map()
	copyKeys(fromService, in.Service, mainComponentKey)
	fromService, err := in.prepare(nil, mainName, fromService)
	if err != nil {
		return nil, nil, nil, err
	}
	copyKeys(main, fromService, mainComponentKey)
	if img, _ := yamlx.Scalar(yamlx.Get(main, "image")); img == "" {
		return nil, nil, nil, &diag.Error{Service: in.Name, Msg: fmt.Sprintf("main component %q has no image: neither the service nor a transformer template sets one", mainName)}
	}
	comps := map[string]*yaml.Node{mainName: main}
	order := []string{mainName}
	for _, src := range in.Pod.Templates {
		m, err := r.mapping(src)
		if err != nil {
			return nil, nil, nil, err
		}
		kv := entries(m)
		for i := 0; i+1 < len(kv); i += 2 {
			name := kv[i].Value
			v, err := r.definition(src, name, kv[i+1])
			if err != nil {
				return nil, nil, nil, err
			}
			if name == mainName {
				return nil, nil, nil, r.errorf(src, "component %q has the name of the main component; rename it (two components of one pod cannot share a name)", name)
			}
			if err := checkComponentName(r, src, name); err != nil {
				return nil, nil, nil, err
			}
			if v, err = in.prepare(src, name, v); err != nil {
				return nil, nil, nil, err
			}
			if have, ok := comps[name]; ok {
				comps[name] = merge.Into(have, v)
				continue
			}
			comps[name] = v
			owners[name] = src
			order = append(order, name)
		}
	}
	return comps, order, owners, nil
}

// checkComponentName refuses a component name the controller cannot run:
// podlike names a component's container <controller>.podlike.<name>, and
// docker allows only letters, digits, "_", "." and "-" in a container name.
func checkComponentName(r *Renderer, src *config.Source, name string) error {
	if !validation.IsName(name) {
		return r.errorf(src, "component name %q: podlike runs it as the container <controller>.podlike.<name>, and a container name has only letters, digits, _, . and -", name)
	}
	return nil
}

// initComponents renders the init components, in template order, with the
// template each came from.
func initComponents(in PodInput) ([]*yaml.Node, []*config.Source, error) {
	var out []*yaml.Node
	var srcs []*config.Source
	for _, src := range in.Pod.Init {
		name, v, ok, err := in.R.oneRoot(src, "init")
		if err != nil {
			return nil, nil, err
		}
		if ok {
			label := fmt.Sprintf("#%d (%s)", len(out)+1, name)
			if v, err = in.prepare(src, label, v); err != nil {
				return nil, nil, err
			}
			if v, err = in.finish(src, label, v); err != nil {
				return nil, nil, err
			}
			out = append(out, v)
			srcs = append(srcs, src)
		}
	}
	return out, srcs, nil
}

// copyLists renders the copy templates into source:target lists per
// component, in the order the templates give.
func copyLists(in PodInput, comps map[string]*yaml.Node) (map[string]*yaml.Node, []string, error) {
	r := in.R
	lists := map[string]*yaml.Node{}
	var order []string
	for _, src := range in.Pod.Copy {
		m, err := r.mapping(src)
		if err != nil {
			return nil, nil, err
		}
		for _, kv := range yamlx.Pairs(m) {
			name := kv.Key.Value
			if _, ok := comps[name]; !ok {
				return nil, nil, r.errorf(src, "copy names component %q, which the pod does not have (components: %s)", name, strings.Join(config.SortedNames(comps), ", "))
			}
			items, err := copyItems(kv.Value)
			if err != nil {
				return nil, nil, r.errorf(src, "copy for %q: %v", name, err)
			}
			if lists[name] == nil {
				lists[name] = yamlx.Seq()
				order = append(order, name)
			}
			lists[name].Content = append(lists[name].Content, items...)
		}
	}
	return lists, order, nil
}

// copyPath reads one copy path: a string (pair: "source:target"), never
// a number or a boolean, which podlike's controller does not read as a
// path.
func copyPath(n *yaml.Node, pair bool) (string, error) {
	want := "a path"
	if pair {
		want = "a source:target string"
	}
	s, ok := yamlx.Scalar(n)
	if !ok || n.Tag == "!!int" || n.Tag == "!!float" || n.Tag == "!!bool" || n.Tag == "!!null" || s == "" {
		return "", fmt.Errorf("is %s; expected %s", describeScalar(n), want)
	}
	if pair && !strings.Contains(s, ":") {
		return "", fmt.Errorf("%q has no target; expected source:target", s)
	}
	return s, nil
}

func copyItems(v *yaml.Node) ([]*yaml.Node, error) {
	v = yamlx.Resolve(v)
	switch v.Kind {
	case yaml.ScalarNode:
		if yamlx.IsNull(v) {
			return nil, nil
		}
		s, err := copyPath(v, true)
		if err != nil {
			return nil, err
		}
		return []*yaml.Node{yamlx.Str(s)}, nil
	case yaml.SequenceNode:
		var out []*yaml.Node
		for _, it := range v.Content {
			s, err := copyPath(yamlx.Resolve(it), true)
			if err != nil {
				return nil, fmt.Errorf("list item %v", err)
			}
			out = append(out, yamlx.Str(s))
		}
		return out, nil
	case yaml.MappingNode:
		var out []*yaml.Node
		for _, kv := range yamlx.Pairs(v) {
			t, err := copyPath(yamlx.Resolve(kv.Value), false)
			if err != nil {
				return nil, fmt.Errorf("target of %q %v", kv.Key.Value, err)
			}
			out = append(out, yamlx.Str(kv.Key.Value+":"+t))
		}
		return out, nil
	}
	return nil, fmt.Errorf("expected a string, a list or a source: target mapping")
}

// describeScalar names a node's type for messages: "a number", "a list".
func describeScalar(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		switch n.Tag {
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		}
		if n.Value == "" {
			return "empty"
		}
	}
	return yamlx.KindName(n)
}

// checkDependsOn accepts the Compose v2 forms only.
func checkDependsOn(comp *yaml.Node) error {
	d := yamlx.Resolve(yamlx.Get(comp, "depends_on"))
	if d == nil || yamlx.IsNull(d) {
		return nil
	}
	switch d.Kind {
	case yaml.SequenceNode:
		for _, it := range d.Content {
			if _, ok := yamlx.Scalar(it); !ok {
				return fmt.Errorf("depends_on items must be component names")
			}
		}
		return nil
	case yaml.MappingNode:
		for _, kv := range yamlx.Pairs(d) {
			c := yamlx.Get(kv.Value, "condition")
			if c == nil {
				continue
			}
			switch c.Value {
			case "service_started", "service_healthy":
			default:
				return fmt.Errorf("depends_on %q: condition %q is not supported; use service_started or service_healthy", kv.Key.Value, c.Value)
			}
		}
		return nil
	}
	return fmt.Errorf("depends_on must be a list of names or a mapping")
}

// Marshal renders a node as YAML text indented by two spaces.
func Marshal(n *yaml.Node) (string, error) {
	b := codec.GetBuffer()
	defer codec.PutBuffer(b)
	if err := codec.Write(b, n); err != nil {
		return "", err
	}
	return b.String(), nil
}

// plain returns n without comments and with a block-style top level: a
// label's YAML text carries data only, one key a line. Nodes with comments
// are copied first: they may be shared with the controller.
func plain(n *yaml.Node) *yaml.Node {
	commented := false
	yamlx.Walk(n, func(n *yaml.Node) {
		commented = commented || n.HeadComment != "" || n.LineComment != "" || n.FootComment != ""
	})
	if commented {
		n = yamlx.Copy(n)
		yamlx.Walk(n, func(n *yaml.Node) { n.HeadComment, n.LineComment, n.FootComment = "", "", "" })
	}
	if n.Style&yaml.FlowStyle != 0 {
		c := *n
		c.Style &^= yaml.FlowStyle
		n = &c
	}
	return n
}
