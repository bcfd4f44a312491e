package swarm

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

const stagedFile = `version: "3.8"
services:
  app:
    image: app:2
    networks: [front, back]
    volumes: [data:/data]
  migrate:
    image: app:2
    volumes: [data:/data, "./local:/local"]
    secrets: [db-password]
    deploy:
      labels:
        io.podtemplate.job: "true"
        io.podtemplate.job.stage: pre-deploy
        io.podtemplate.job.hash: abc
  smoke:
    image: smoke:1
    networks: [front]
    deploy:
      labels:
        - io.podtemplate.job=true
        - io.podtemplate.job.stage=post-deploy
  warm:
    image: app:2
    deploy:
      labels:
        io.podtemplate.job: "true"
  nightly:
    image: app:2
    deploy:
      labels:
        io.podtemplate.job: "true"
        io.podtemplate.job.schedule: "0 3 * * *"
networks:
  front:
  back:
volumes:
  data:
  other:
secrets:
  db-password:
    file: ./db-password.txt
configs:
  unused:
    file: ./unused.txt
x-team: payments
`

func TestReadStages(t *testing.T) {
	s, err := ReadStages([]byte(stagedFile))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join([]string{strings.Join(s.Pre, ","), strings.Join(s.Post, ","), strings.Join(s.Jobs, ","),
		strings.Join(s.Scheduled, ","), strings.Join(s.Services, ","), strings.Join(s.Rest(), ",")}, " | ")
	want := "migrate | smoke | warm | nightly | app | app,warm,nightly"
	if got != want || !s.Staged() || s.Hash["migrate"] != "abc" {
		t.Errorf("got %q (staged %v, hash %q), want %q", got, s.Staged(), s.Hash["migrate"], want)
	}
	plain, err := ReadStages([]byte("services:\n  web:\n    image: x\n"))
	if err != nil || plain.Staged() {
		t.Errorf("a stack without stages: %v, %v", plain.Staged(), err)
	}
	if _, err := ReadStages([]byte("- a list")); err == nil {
		t.Error("a list was accepted")
	}
}

// A phase's file holds its services and only the resources they use.
func TestStagedFile(t *testing.T) {
	s, err := ReadStages([]byte(stagedFile))
	if err != nil {
		t.Fatal(err)
	}
	pre, err := s.File(s.Pre)
	if err != nil {
		t.Fatal(err)
	}
	want := `version: "3.8"
services:
    migrate:
        image: app:2
        volumes: ['data:/data', "./local:/local"]
        secrets: [db-password]
        deploy:
            labels:
                io.podtemplate.job: "true"
                io.podtemplate.job.stage: pre-deploy
                io.podtemplate.job.hash: abc
volumes:
    data:
secrets:
    db-password:
        file: ./db-password.txt
x-team: payments
`
	if string(pre) != want {
		t.Errorf("pre-deploy file:\n%s\nwant:\n%s", pre, want)
	}
	post, _ := s.File(s.Post)
	if !strings.Contains(string(post), "networks:\n    front:\n") || strings.Contains(string(post), "back:") || strings.Contains(string(post), "volumes:") {
		t.Errorf("post-deploy file:\n%s", post)
	}
	if f, _ := s.File(nil); f != nil {
		t.Errorf("no services gave a file: %s", f)
	}
	snap := Snapshot{Stack: "s", Services: map[string]ServiceSnapshot{"s_migrate": {Hash: "abc"}, "s_smoke": {Hash: "old"}}}
	phases := strings.Join(s.Phases(snap, false), "\n")
	for _, w := range []string{"1. pre-deploy jobs", ": migrate (unchanged: not run again)", "2. the rest", ": app, warm, nightly", "3. post-deploy", ": smoke (changed: runs)"} {
		if !strings.Contains(phases, w) {
			t.Errorf("phases lack %q:\n%s", w, phases)
		}
	}
	if p := s.Phases(Snapshot{Stack: "s"}, false)[0]; !strings.HasSuffix(p, ": migrate (new: runs)") {
		t.Errorf("new job: %s", p)
	}
	if p := s.Phases(snap, true)[0]; !strings.HasSuffix(p, ": migrate (unchanged, runs again: --rerun-unchanged)") {
		t.Errorf("rerun: %s", p)
	}
}

func replicas(n uint64) swarm.ServiceMode {
	return swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}}
}

func TestEvalConvergence(t *testing.T) {
	tmpl := swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "app:2"}}
	old := swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "app:1"}}
	svc := swarm.Service{Spec: swarm.ServiceSpec{Mode: replicas(2), TaskTemplate: tmpl}}
	task := func(spec swarm.TaskSpec, state swarm.TaskState, desired swarm.TaskState) swarm.Task {
		return swarm.Task{Spec: spec, DesiredState: desired, Status: swarm.TaskStatus{State: state, Err: "boom", Timestamp: t0}}
	}
	justStarted := task(tmpl, swarm.TaskStateRunning, swarm.TaskStateRunning)
	justStarted.Status.Timestamp = t0.Add(8 * time.Second)
	run := swarm.TaskStateRunning
	withStatus := func(s swarm.Service, st swarm.UpdateState, msg string) swarm.Service {
		s.UpdateStatus = &swarm.UpdateStatus{State: st, Message: msg}
		return s
	}
	cases := []struct {
		name     string
		svc      swarm.Service
		before   *swarm.UpdateStatus
		tasks    []swarm.Task
		rollback bool
		final    bool
		state    string
		text     string
	}{
		{"running on the new spec", svc, nil, []swarm.Task{task(tmpl, run, run), task(tmpl, run, run)}, false, true, ServiceConverged, ""},
		{"old tasks still run", svc, nil, []swarm.Task{task(old, run, run), task(tmpl, run, run)}, false, false, "", "starting (1/2 tasks running)"},
		{"updating", withStatus(svc, swarm.UpdateStateUpdating, ""), nil, []swarm.Task{task(tmpl, run, run)}, false, false, "", "updating (1/2 tasks running)"},
		{"paused by Swarm", withStatus(svc, swarm.UpdateStatePaused, "update paused due to failure"), nil, nil, false, true, ServicePaused, "Swarm paused the update: update paused due to failure"},
		{"rolled back by Swarm", withStatus(svc, swarm.UpdateStateRollbackCompleted, "rollback completed"), nil, nil, false, true, ServiceRolledBack, "Swarm rolled the update back"},
		{"our own rollback in progress", withStatus(svc, swarm.UpdateStateRollbackStarted, ""), nil, nil, true, false, "", "rolling back"},
		{"our own rollback done", withStatus(svc, swarm.UpdateStateRollbackCompleted, ""), nil, []swarm.Task{task(tmpl, run, run), task(tmpl, run, run)}, true, true, ServiceRolledBack, ""},
		{"a stale paused status is ignored", withStatus(svc, swarm.UpdateStatePaused, "old"), &swarm.UpdateStatus{State: swarm.UpdateStatePaused, Message: "old"},
			[]swarm.Task{task(tmpl, run, run), task(tmpl, run, run)}, false, true, ServiceConverged, ""},
		{"tasks keep failing", svc, nil, []swarm.Task{task(tmpl, swarm.TaskStateFailed, swarm.TaskStateShutdown), task(tmpl, swarm.TaskStateFailed, swarm.TaskStateShutdown),
			task(tmpl, swarm.TaskStateFailed, swarm.TaskStateShutdown), task(tmpl, swarm.TaskStateStarting, run)}, false, true, ServiceFailing, "3 tasks of the new definition failed, 0/2 running; last: boom"},
		{"a task up for less than the monitor period (5s) does not count", svc, nil, []swarm.Task{task(tmpl, run, run), justStarted}, false, false, "", "starting (1/2 tasks running, 1 up for less than 5s)"},
		{"zero replicas", swarm.Service{Spec: swarm.ServiceSpec{Mode: replicas(0), TaskTemplate: tmpl}}, nil, nil, false, true, ServiceConverged, ""},
		{"global on 2 nodes", swarm.Service{Spec: swarm.ServiceSpec{Mode: swarm.ServiceMode{Global: &swarm.GlobalService{}}, TaskTemplate: tmpl}}, nil,
			[]swarm.Task{task(tmpl, run, run)}, false, false, "", "starting (1/2 tasks running)"},
	}
	for _, c := range cases {
		nodes := 0
		if c.svc.Spec.Mode.Global != nil {
			nodes = 2
		}
		st := evalConvergence(c.svc, c.before, c.tasks, nodes, c.rollback, t0.Add(10*time.Second))
		text := st.progress
		if st.final {
			text = st.err
		}
		if st.final != c.final || st.state != c.state || !strings.Contains(text, c.text) {
			t.Errorf("%s: got final=%v state=%q text=%q; want final=%v state=%q text containing %q", c.name, st.final, st.state, text, c.final, c.state, c.text)
		}
	}
}

// Services whose spec did not change are not waited for, unless Swarm
// paused their last update; created and changed ones are.
func TestChangedServices(t *testing.T) {
	mk := func(id, image string) swarm.Service {
		return swarm.Service{ID: id, Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "s_" + id}, TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: image}}}}
	}
	paused := mk("d", "x:1")
	paused.UpdateStatus = &swarm.UpdateStatus{State: swarm.UpdateStatePaused}
	before := map[string]swarm.Service{"s_a": mk("a", "x:1"), "s_b": mk("b", "x:1"), "s_d": paused}
	after := map[string]swarm.Service{"s_a": mk("a", "x:1"), "s_b": mk("b", "x:2"), "s_c": mk("c", "x:1"), "s_d": mk("d", "x:1")}
	var got []string
	for _, ch := range changedServices("s", []string{"a", "b", "c", "d", "gone"}, before, after) {
		got = append(got, ch.Name+":"+changeText(ch))
	}
	if strings.Join(got, " ") != "b:updated c:created d:unchanged" {
		t.Errorf("got %v", got)
	}
}

// The rollback uses Swarm's rollback when the previous spec is the one
// from before the deploy, re-applies the snapshot otherwise, and removes
// created services.
func TestRollback(t *testing.T) {
	spec := func(image string) swarm.ServiceSpec {
		one := uint64(1)
		return swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "s_" + image[:1], Labels: map[string]string{StackNamespaceLabel: "s"}},
			Mode: replicas(one), TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: image}}}
	}
	v1a, v2a, v1b, v2b, v0b := spec("a:1"), spec("a:2"), spec("b:1"), spec("b:2"), spec("b:0")
	f := &fakeAPI{services: []swarm.Service{
		{ID: "a", Spec: v2a, PreviousSpec: &v1a},
		{ID: "b", Spec: v2b, PreviousSpec: &v0b}, // updated twice: re-apply
		{ID: "c", Spec: spec("c:1")},
	}, tasks: map[string][]swarm.Task{}}
	c := NewClient(f, "fake")
	c.poll = time.Millisecond
	changes := []ServiceChange{
		{Name: "a", Service: "s_a", ID: "a", Before: &swarm.Service{ID: "a", Spec: v1a}},
		{Name: "b", Service: "s_b", ID: "b", Before: &swarm.Service{ID: "b", Spec: v1b}},
		{Name: "c", Service: "s_c", ID: "c", Created: true},
	}
	var status bytes.Buffer
	// No task ever runs in the fake, so the wait ends at its timeout.
	res := c.rollback(context.Background(), changes, 50*time.Millisecond, &status)
	if got := strings.Join(f.updated, ","); got != "s_a previous,s_b " {
		t.Errorf("updates: %q", got)
	}
	if got := strings.Join(f.removed, ","); got != "s_c" {
		t.Errorf("removed: %q", got)
	}
	for _, s := range f.services {
		if img := s.Spec.TaskTemplate.ContainerSpec.Image; img != strings.Replace(img, ":2", ":1", 1) {
			t.Errorf("service %s still on %s", s.ID, img)
		}
	}
	if len(res) != 3 || res[0].State != ServiceRemoved || res[1].State != ServiceTimedOut {
		t.Errorf("results: %+v", res)
	}
	for _, w := range []string{"rollback: service c: removed", "rollback: service a: rolling back to its previous definition (a:1)", "rollback: service b: timed out"} {
		if !strings.Contains(status.String(), w) {
			t.Errorf("status lacks %q:\n%s", w, status.String())
		}
	}
}
