package swarm

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
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
