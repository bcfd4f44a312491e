package swarm

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"
	"gopkg.in/yaml.v3"
)

func TestParseExitLine(t *testing.T) {
	cases := []struct {
		line string
		ok   bool
		want componentExit
	}{
		{"Exited: app Status: 3", true, componentExit{component: "app", status: 3}},
		{"Exited: app Status: 0\r", true, componentExit{component: "app"}},
		{"Exited: side Error: Failed to start side: boom", true, componentExit{component: "side", err: "Failed to start side: boom"}},
		{"[out] app: Exited: app Status: 0", false, componentExit{}},
		{"Exited: app Status: x", false, componentExit{}},
		{"Exited: app", false, componentExit{}},
		{"Starting component: app", false, componentExit{}},
	}
	for _, tc := range cases {
		got, ok := parseExitLine(tc.line)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%q: got %+v %v, want %+v %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

// TestPodJobExitStatus: a pod job's controller task completes (the
// controller always exits 0); the job's status is the main component's,
// read from the controller's "Exited:" line.
func TestPodJobExitStatus(t *testing.T) {
	controllerLog := func(lines ...string) []fakeLine {
		var out []fakeLine
		for i, l := range lines {
			out = append(out, fakeLine{ts: t0.Add(time.Duration(i) * time.Millisecond), text: l})
		}
		return out
	}
	cases := []struct {
		name  string
		log   []fakeLine
		state State
		exit  int
		err   string
	}{
		{"main exits 3", controllerLog("Starting component: app", "[out] app: Exited: app Status: 0", "Exited: app Status: 3", "Stopping container: app"), StateFailed, 3, "pod component app exited with code 3"},
		{"main exits 0", controllerLog("Exited: app Status: 0"), StateCompleted, 0, ""},
		{"sidecar first", controllerLog("Exited: proxy Status: 0"), StateFailed, -1, "pod component proxy ended first (exit 0), so the controller stopped the main component app"},
		{"start error", controllerLog("Exited: app Error: Failed to start app: no such image"), StateFailed, -1, "pod component app: Failed to start app: no such image"},
		{"no exit line", controllerLog("Using API version: 1.41"), StateFailed, -1, `the exit status of pod component app is unknown: the controller's log has no "Exited: <component> Status: <code>" line`},
	}
	for _, tc := range cases {
		svc := jobService("shop", "s1", "migrate", map[string]string{"io.podtemplate.job.pod.main": "app"})
		f := &fakeAPI{
			services: []swarm.Service{svc},
			tasks:    map[string][]swarm.Task{"s1": {task(svc, "t1", 1, swarm.TaskStateComplete, 0, 2, 0, "")}},
			logs:     map[string][]fakeLine{"t1": tc.log},
		}
		c := NewClient(f, "fake")
		c.poll = 10 * time.Millisecond
		var status bytes.Buffer
		sum, err := c.Follow(context.Background(), FollowOptions{Stack: "shop", Status: &status})
		if err != nil {
			t.Fatal(err)
		}
		r := sum.Jobs[0]
		if r.State != tc.state || r.ExitCode != tc.exit || r.Err != tc.err {
			t.Errorf("%s: Follow: got %s exit %d err %q, want %s exit %d err %q", tc.name, r.State, r.ExitCode, r.Err, tc.state, tc.exit, tc.err)
		}
		list, err := c.List(context.Background(), "shop")
		if err != nil {
			t.Fatal(err)
		}
		if l := list[0]; l.State != tc.state || l.ExitCode != tc.exit {
			t.Errorf("%s: List: got %s exit %d, want %s exit %d", tc.name, l.State, l.ExitCode, tc.state, tc.exit)
		}
		if tc.state == StateFailed && !strings.Contains(status.String(), "job migrate: failed") {
			t.Errorf("%s: deploy's line does not say failed:\n%s", tc.name, status.String())
		}
	}
}

// TestPlainDisplay: without a terminal, Follow writes state lines and a
// final line per job, and no escape sequences.
func TestPlainDisplay(t *testing.T) {
	svc := jobService("shop", "s1", "migrate", nil)
	f := &fakeAPI{
		services: []swarm.Service{svc},
		tasks:    map[string][]swarm.Task{},
		steps: map[string][][]swarm.Task{"s1": {
			{task(svc, "t1", 1, swarm.TaskStateRunning, 0, 1, 0, "")},
			{task(svc, "t1", 1, swarm.TaskStateComplete, 0, 2, 0, "")}}},
	}
	c := NewClient(f, "fake")
	c.poll = 10 * time.Millisecond
	var status bytes.Buffer
	if _, err := c.Follow(context.Background(), FollowOptions{Stack: "shop", Status: &status}); err != nil {
		t.Fatal(err)
	}
	st := status.String()
	if !strings.Contains(st, "job migrate: running\n") || !strings.Contains(st, "job migrate: completed (exit 0) in 2.0s\n") {
		t.Errorf("state lines missing:\n%s", st)
	}
	if strings.Contains(st, "\x1b[") {
		t.Errorf("escape sequences without a terminal: %q", st)
	}
}

// TestRunStackPodEnv: run --env on a pod job reaches the main component,
// whose definition is the text of a container label.
func TestRunStackPodEnv(t *testing.T) {
	rendered := `version: "3.8"
services:
  migrate:
    image: rycus86/podlike:0.5.1
    command: -logs -ipc=false
    deploy:
      labels:
        io.podtemplate.job: "true"
        io.podtemplate.job.pod.main: app
    labels:
      pod.component.app: |
        image: example/api:1.4
        environment:
          LEVEL: "1"
      pod.component.proxy: |
        image: example/proxy:1.0
`
	out, err := RunStack([]byte(rendered), "migrate", "migrate-abc", []string{"LEVEL=2", "EXTRA=yes"}, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
			Labels      map[string]string `yaml:"labels"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	svc := got.Services["migrate-abc"]
	var app struct {
		Image       string            `yaml:"image"`
		Environment map[string]string `yaml:"environment"`
	}
	if err := yaml.Unmarshal([]byte(svc.Labels["pod.component.app"]), &app); err != nil {
		t.Fatal(err)
	}
	if app.Image != "example/api:1.4" || app.Environment["LEVEL"] != "2" || app.Environment["EXTRA"] != "yes" {
		t.Errorf("main component: %+v\n%s", app, out)
	}
	if len(svc.Environment) != 0 {
		t.Errorf("the controller got the job's environment: %v", svc.Environment)
	}
	if !strings.Contains(svc.Labels["pod.component.proxy"], "example/proxy") || strings.Contains(svc.Labels["pod.component.proxy"], "EXTRA") {
		t.Errorf("other component changed: %q", svc.Labels["pod.component.proxy"])
	}
}

// TestJobContainersRemoved: Docker 20.10 leaves the exited task
// containers of job-mode services behind (moby/moby#42789); prune and
// stack removal take them away, by the service ID label, and leave
// running containers and other services' containers alone.
func TestJobContainersRemoved(t *testing.T) {
	rj := jobService("shop", "s1", "batch", nil)
	rj.Spec.Mode = swarm.ServiceMode{ReplicatedJob: &swarm.ReplicatedJob{TotalCompletions: u64(1)}}
	rj.JobStatus = &swarm.JobStatus{}
	plain := jobService("shop", "s2", "migrate", nil)
	ct := func(id, svc, state string) container.Summary {
		return container.Summary{ID: id, State: state, Labels: map[string]string{serviceIDLabel: svc}}
	}
	f := &fakeAPI{
		services: []swarm.Service{rj, plain},
		tasks: map[string][]swarm.Task{
			"s1": {task(rj, "a", 0, swarm.TaskStateComplete, 0, 1, 0, "")},
			"s2": {task(plain, "b", 1, swarm.TaskStateComplete, 0, 1, 0, "")},
		},
		containers: []container.Summary{ct("c1", "s1", "exited"), ct("c2", "s1", "running"), ct("c3", "s2", "exited"), ct("c4", "other", "exited")},
	}
	c := NewClient(f, "fake")
	if _, err := c.Prune(context.Background(), "shop"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.removedContainers, ",") != "c1" {
		t.Errorf("prune removed containers %v, want c1 (the exited one of the job-mode service)", f.removedContainers)
	}
	f.services = []swarm.Service{rj}
	f.containers = append(f.containers, ct("c5", "s1", "exited"))
	if err := c.RemoveStack(context.Background(), "shop"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.removedContainers, ",") != "c1,c5" {
		t.Errorf("stack removal: removed containers %v, want c1,c5", f.removedContainers)
	}
}

// TestFindExitInterleaved: the controller writes "Exited: NAME" and
// " Status: CODE" separately, and its log streaming writes whole lines in
// between (seen with the real controller: "Exited: appStreaming logs for
// proxy" then " Status: 3").
func TestFindExitInterleaved(t *testing.T) {
	names := []string{"app", "proxy", "app2"}
	cases := []struct {
		lines []string
		ok    bool
		want  componentExit
	}{
		{[]string{"Exited: appStreaming logs for proxy", " Status: 3"}, true, componentExit{component: "app", status: 3}},
		{[]string{"Exited: app2[out] proxy: hi", "[out] proxy: more", " Error: boom"}, true, componentExit{component: "app2", err: "boom"}},
		{[]string{"Exited: proxy Status: 0", "Exited: app[out] x", " Status: 7\r"}, true, componentExit{component: "app", status: 7}},
		{[]string{"Exited: unknown-thing", " Status: 1"}, false, componentExit{}},
		{[]string{"Exited: app", "[out] app:  Status: 2"}, false, componentExit{}},
	}
	for _, tc := range cases {
		got, ok := findExit(tc.lines, names)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%q: got %+v %v, want %+v %v", tc.lines, got, ok, tc.want, tc.ok)
		}
	}
}
