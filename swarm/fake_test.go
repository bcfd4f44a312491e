package swarm

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/pkg/stdcopy"
)

// fakeAPI is an in-memory API: services, tasks (optionally changing with
// each TaskList call) and canned task logs.
type fakeAPI struct {
	mu       sync.Mutex
	info     system.Info
	pingErr  error
	services []swarm.Service
	// tasks per service ID; steps[id] replaces tasks[id] one call at a
	// time, then the last step stays.
	tasks   map[string][]swarm.Task
	steps   map[string][][]swarm.Task
	logs    map[string][]fakeLine // task ID -> lines
	removed []string
	updated []string // "name rollback-option" per ServiceUpdate
	nodes   []swarm.Node
	// containers are task containers, by labels; removedContainers the
	// IDs ContainerRemove removed.
	containers        []container.Summary
	removedContainers []string
}

type fakeLine struct {
	ts     time.Time
	stderr bool
	text   string
}

func (f *fakeAPI) Ping(ctx context.Context) (types.Ping, error)  { return types.Ping{}, f.pingErr }
func (f *fakeAPI) Info(ctx context.Context) (system.Info, error) { return f.info, nil }
func (f *fakeAPI) NodeList(ctx context.Context, o swarm.NodeListOptions) ([]swarm.Node, error) {
	return f.nodes, nil
}
func (f *fakeAPI) ServiceList(ctx context.Context, o swarm.ServiceListOptions) ([]swarm.Service, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]swarm.Service{}, f.services...), nil
}
func (f *fakeAPI) ServiceRemove(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, s := range f.services {
		if s.ID == id {
			f.services = append(f.services[:i], f.services[i+1:]...)
			f.removed = append(f.removed, s.Spec.Name)
			return nil
		}
	}
	return errors.New("service " + id + " not found")
}
func (f *fakeAPI) ServiceUpdate(ctx context.Context, id string, v swarm.Version, spec swarm.ServiceSpec, o swarm.ServiceUpdateOptions) (swarm.ServiceUpdateResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, s := range f.services {
		if s.ID != id {
			continue
		}
		if o.Rollback == "previous" {
			if s.PreviousSpec == nil {
				return swarm.ServiceUpdateResponse{}, errors.New("service " + id + " has no previous spec")
			}
			spec = *s.PreviousSpec
		}
		prev := s.Spec
		f.services[i].PreviousSpec = &prev
		f.services[i].Spec = spec
		f.services[i].Version.Index++
		f.updated = append(f.updated, s.Spec.Name+" "+o.Rollback)
		return swarm.ServiceUpdateResponse{}, nil
	}
	return swarm.ServiceUpdateResponse{}, errors.New("service " + id + " not found")
}
func (f *fakeAPI) TaskList(ctx context.Context, o swarm.TaskListOptions) ([]swarm.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := o.Filters.Get("service")[0]
	if st := f.steps[id]; len(st) > 0 {
		f.tasks[id] = st[0]
		if len(st) > 1 {
			f.steps[id] = st[1:]
		}
	}
	return append([]swarm.Task{}, f.tasks[id]...), nil
}
func (f *fakeAPI) TaskLogs(ctx context.Context, id string, o container.LogsOptions) (io.ReadCloser, error) {
	var buf bytes.Buffer
	out := stdcopy.NewStdWriter(&buf, stdcopy.Stdout)
	errw := stdcopy.NewStdWriter(&buf, stdcopy.Stderr)
	for _, l := range f.logs[id] {
		w := out
		if l.stderr {
			w = errw
		}
		io.WriteString(w, l.ts.Format(time.RFC3339Nano)+" "+l.text+"\n")
	}
	return io.NopCloser(&buf), nil
}
func (f *fakeAPI) NetworkList(ctx context.Context, o network.ListOptions) ([]network.Summary, error) {
	return nil, nil
}
func (f *fakeAPI) NetworkRemove(ctx context.Context, id string) error { return nil }
func (f *fakeAPI) ConfigList(ctx context.Context, o swarm.ConfigListOptions) ([]swarm.Config, error) {
	return nil, nil
}
func (f *fakeAPI) ConfigRemove(ctx context.Context, id string) error { return nil }
func (f *fakeAPI) SecretList(ctx context.Context, o swarm.SecretListOptions) ([]swarm.Secret, error) {
	return nil, nil
}
func (f *fakeAPI) SecretRemove(ctx context.Context, id string) error { return nil }
func (f *fakeAPI) Close() error                                      { return nil }
func (f *fakeAPI) ContainerList(ctx context.Context, o container.ListOptions) ([]container.Summary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []container.Summary
	for _, c := range f.containers {
		match := true
		for _, l := range o.Filters.Get("label") {
			k, v, _ := strings.Cut(l, "=")
			if c.Labels[k] != v {
				match = false
			}
		}
		if match {
			out = append(out, c)
		}
	}
	return out, nil
}
func (f *fakeAPI) ContainerRemove(ctx context.Context, id string, o container.RemoveOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, c := range f.containers {
		if c.ID == id {
			f.containers = append(f.containers[:i], f.containers[i+1:]...)
			f.removedContainers = append(f.removedContainers, id)
			return nil
		}
	}
	return errors.New("No such container: " + id)
}

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func u64(n uint64) *uint64 { return &n }

// jobService builds a restart-none job service of stack.
func jobService(stack, id, name string, labels map[string]string) swarm.Service {
	l := map[string]string{StackNamespaceLabel: stack, "io.podtemplate.job": "true", "io.podtemplate.job.name": name}
	for k, v := range labels {
		l[k] = v
	}
	return swarm.Service{
		ID: id,
		Spec: swarm.ServiceSpec{
			Annotations: swarm.Annotations{Name: stack + "_" + name, Labels: l},
			TaskTemplate: swarm.TaskSpec{
				ContainerSpec: &swarm.ContainerSpec{Image: "img", Args: []string{name}},
				RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone},
				Runtime:       swarm.RuntimeContainer,
			},
			Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: u64(1)}},
		},
	}
}

// task builds a task of svc in state st, created at t0+created seconds.
func task(svc swarm.Service, id string, slot int, st swarm.TaskState, created, updated int, exit int, errMsg string) swarm.Task {
	spec := svc.Spec.TaskTemplate
	spec.Runtime = ""
	t := swarm.Task{
		ID:        id,
		Meta:      swarm.Meta{CreatedAt: t0.Add(time.Duration(created) * time.Second)},
		Spec:      spec,
		ServiceID: svc.ID,
		Slot:      slot,
		NodeID:    "node1",
		Status: swarm.TaskStatus{
			State:     st,
			Timestamp: t0.Add(time.Duration(updated) * time.Second),
			Err:       errMsg,
		},
	}
	if st != swarm.TaskStateRejected && !isPendingState(st) {
		t.Status.ContainerStatus = &swarm.ContainerStatus{ContainerID: "c" + id, ExitCode: exit}
	}
	if svc.Spec.Mode.ReplicatedJob != nil || svc.Spec.Mode.GlobalJob != nil {
		t.Slot = 0
		idx := uint64(0)
		if svc.JobStatus != nil {
			idx = svc.JobStatus.JobIteration.Index
		}
		t.JobIteration = &swarm.Version{Index: idx}
	}
	return t
}
