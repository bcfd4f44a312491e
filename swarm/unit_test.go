package swarm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/podtemplate/podtemplate/joblabel"
	"gopkg.in/yaml.v3"
)

func writeContext(t *testing.T, dir, name, host string, skipVerify bool, tls bool) string {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	id := hex.EncodeToString(sum[:])
	meta := filepath.Join(dir, "contexts", "meta", id)
	if err := os.MkdirAll(meta, 0o755); err != nil {
		t.Fatal(err)
	}
	skip := "false"
	if skipVerify {
		skip = "true"
	}
	js := `{"Name":"` + name + `","Metadata":{},"Endpoints":{"docker":{"Host":"` + host + `","SkipTLSVerify":` + skip + `}}}`
	if err := os.WriteFile(filepath.Join(meta, "meta.json"), []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	tlsDir := filepath.Join(dir, "contexts", "tls", id, "docker")
	if tls {
		if err := os.MkdirAll(tlsDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return tlsDir
}

func TestResolveEndpoint(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("DOCKER_HOST", "")
	t.Setenv("DOCKER_CONTEXT", "")
	remoteTLS := writeContext(t, dir, "remote", "tcp://remote.example:2376", false, true)
	writeContext(t, dir, "plain", "unix:///run/other.sock", false, false)

	check := func(what string, opts ConnectOptions, host, ctxName, tlsDir string) {
		t.Helper()
		ep, err := ResolveEndpoint(opts)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ep.Host != host || ep.Context != ctxName || ep.TLSDir != tlsDir {
			t.Errorf("%s: got %+v, want host %s context %q tls %q", what, ep, host, ctxName, tlsDir)
		}
	}
	// No config at all: the default socket.
	check("default", ConnectOptions{}, "unix:///var/run/docker.sock", "", "")
	// currentContext in config.json.
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"auths":{},"currentContext":"remote"}`), 0o644)
	check("config.json", ConnectOptions{}, "tcp://remote.example:2376", "remote", remoteTLS)
	// DOCKER_CONTEXT beats config.json.
	t.Setenv("DOCKER_CONTEXT", "plain")
	check("DOCKER_CONTEXT", ConnectOptions{}, "unix:///run/other.sock", "plain", "")
	// DOCKER_HOST beats DOCKER_CONTEXT.
	t.Setenv("DOCKER_HOST", "tcp://envhost:2375")
	check("DOCKER_HOST", ConnectOptions{}, "tcp://envhost:2375", "", "")
	// --context beats DOCKER_HOST; "default" is the environment.
	check("--context", ConnectOptions{Context: "remote"}, "tcp://remote.example:2376", "remote", remoteTLS)
	check("--context default", ConnectOptions{Context: "default"}, "tcp://envhost:2375", "default", "")
	// -H beats everything.
	check("-H", ConnectOptions{Host: "unix:///tmp/x.sock", Context: "remote"}, "unix:///tmp/x.sock", "", "")

	if _, err := ResolveEndpoint(ConnectOptions{Context: "nope"}); err == nil || !strings.Contains(err.Error(), `docker context "nope" not found`) {
		t.Errorf("unknown context: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{not json`), 0o644)
	t.Setenv("DOCKER_HOST", "")
	t.Setenv("DOCKER_CONTEXT", "")
	if _, err := ResolveEndpoint(ConnectOptions{}); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("bad config.json: %v", err)
	}
}

func TestConnectUnreachable(t *testing.T) {
	t.Setenv("DOCKER_TLS_VERIFY", "")
	t.Setenv("DOCKER_CERT_PATH", "")
	sock := filepath.Join(t.TempDir(), "none.sock")
	for _, host := range []string{"unix://" + sock, "tcp://127.0.0.1:1"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := Connect(ctx, ConnectOptions{Host: host})
		cancel()
		want := "cannot reach the Docker daemon at " + host + ": "
		if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("%s: got %v, want %q...", host, err, want)
		} else {
			t.Logf("%s: %v", host, err)
		}
	}
}

func TestNotManager(t *testing.T) {
	f := &fakeAPI{}
	c := NewClient(f, "unix:///fake.sock")
	err := c.check(context.Background())
	if err == nil || err.Error() != "this node is not a swarm manager; run podtemplate against a manager (docker swarm init/join)" {
		t.Errorf("got %v", err)
	}
	f.info.Swarm.ControlAvailable = true
	if err := c.check(context.Background()); err != nil {
		t.Errorf("manager: %v", err)
	}
}

func TestStackNotFoundFake(t *testing.T) {
	c := NewClient(&fakeAPI{}, "fake")
	for name, f := range map[string]func() error{
		"List":  func() error { _, err := c.List(context.Background(), "shop"); return err },
		"Prune": func() error { _, err := c.Prune(context.Background(), "shop"); return err },
		"Logs":  func() error { return c.Logs(context.Background(), "shop", nil, &bytes.Buffer{}, &bytes.Buffer{}) },
		"Wait":  func() error { _, err := c.Wait(context.Background(), FollowOptions{Stack: "shop"}); return err },
	} {
		err := f()
		if err == nil || err.Error() != "stack shop not found (no services with label com.docker.stack.namespace=shop)" {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestEvaluate(t *testing.T) {
	svc := jobService("s", "id1", "migrate", map[string]string{"io.podtemplate.job.attempts": "2"})
	job, ok := jobFromService("s", svc)
	if !ok || job.Name != "migrate" || job.Attempts != 2 || job.Completions != 1 || job.Mode != joblabel.ModeRestartNone {
		t.Fatalf("job: %+v", job)
	}
	old := svc
	old.Spec.TaskTemplate.ContainerSpec = &swarm.ContainerSpec{Image: "img", Args: []string{"old"}}
	cases := []struct {
		name  string
		job   Job
		svc   swarm.Service
		tasks []swarm.Task
		state State
		exit  int
		err   string
	}{
		{"no tasks", job, svc, nil, StatePending, -1, ""},
		{"old tasks only", job, svc, []swarm.Task{task(old, "o", 1, swarm.TaskStateComplete, 0, 1, 0, "")}, StatePending, -1, ""},
		{"running", job, svc, []swarm.Task{task(svc, "a", 1, swarm.TaskStateRunning, 0, 1, 0, "")}, StateRunning, -1, ""},
		{"completed", job, svc, []swarm.Task{task(svc, "a", 1, swarm.TaskStateComplete, 0, 3, 0, "")}, StateCompleted, 0, ""},
		{"one failure, one attempt left", job, svc, []swarm.Task{
			task(svc, "a", 1, swarm.TaskStateFailed, 0, 3, 4, "task: non-zero exit (4)"),
			task(svc, "b", 1, swarm.TaskStateRunning, 5, 6, 0, "")}, StateRunning, -1, ""},
		{"attempts used up", job, svc, []swarm.Task{
			task(svc, "a", 1, swarm.TaskStateFailed, 0, 3, 4, "task: non-zero exit (4)"),
			task(svc, "b", 1, swarm.TaskStateFailed, 5, 6, 5, "task: non-zero exit (5)")}, StateFailed, 5, "task: non-zero exit (5)"},
		{"second try succeeded", job, svc, []swarm.Task{
			task(svc, "a", 1, swarm.TaskStateFailed, 0, 3, 4, ""),
			task(svc, "b", 1, swarm.TaskStateComplete, 5, 6, 0, "")}, StateCompleted, 0, ""},
		{"no such image", job, svc, []swarm.Task{
			task(svc, "a", 1, swarm.TaskStateRejected, 0, 1, 0, "No such image: x:latest")}, StateRejected, -1, "No such image: x:latest"},
		{"pending on a missing image", job, svc, []swarm.Task{
			task(svc, "a", 1, swarm.TaskStatePreparing, 0, 1, 0, "No such image: x:latest")}, StateRejected, -1, "No such image: x:latest"},
		{"no suitable node", job, svc, []swarm.Task{
			task(svc, "a", 1, swarm.TaskStatePending, 0, 1, 0, "no suitable node (1 node not available)")}, StatePending, -1, "no suitable node (1 node not available)"},
	}
	for _, tc := range cases {
		ev := evaluate(tc.job, tc.svc, tc.tasks, nodeView{})
		if ev.State != tc.state || ev.ExitCode != tc.exit || ev.Err != tc.err {
			t.Errorf("%s: got %s exit %d err %q, want %s exit %d err %q", tc.name, ev.State, ev.ExitCode, ev.Err, tc.state, tc.exit, tc.err)
		}
	}

	// Job modes: tasks of the current job iteration only.
	rj := jobService("s", "id2", "batch", nil)
	rj.Spec.Mode = swarm.ServiceMode{ReplicatedJob: &swarm.ReplicatedJob{TotalCompletions: u64(2), MaxConcurrent: u64(2)}}
	rj.JobStatus = &swarm.JobStatus{JobIteration: swarm.Version{Index: 1}}
	rjob, _ := jobFromService("s", rj)
	if rjob.Mode != joblabel.ModeReplicatedJob || rjob.Completions != 2 {
		t.Fatalf("replicated job: %+v", rjob)
	}
	prev := rj
	prev.JobStatus = &swarm.JobStatus{}
	tasks := []swarm.Task{task(prev, "p1", 0, swarm.TaskStateComplete, 0, 1, 0, ""), task(prev, "p2", 0, swarm.TaskStateComplete, 0, 1, 0, ""),
		task(rj, "c1", 0, swarm.TaskStateComplete, 5, 6, 0, "")}
	if ev := evaluate(rjob, rj, tasks, nodeView{}); ev.State != StatePending || ev.Counts.Completed != 1 {
		t.Errorf("replicated job with 1 of 2 completions: %+v", ev)
	}
	tasks = append(tasks, task(rj, "c2", 0, swarm.TaskStateComplete, 5, 7, 0, ""))
	if ev := evaluate(rjob, rj, tasks, nodeView{}); ev.State != StateCompleted {
		t.Errorf("replicated job with 2 of 2 completions: %+v", ev)
	}

	gj := jobService("s", "id3", "everywhere", nil)
	gj.Spec.Mode = swarm.ServiceMode{GlobalJob: &swarm.GlobalJob{}}
	gjob, _ := jobFromService("s", gj)
	t1 := task(gj, "n1", 0, swarm.TaskStateComplete, 0, 1, 0, "")
	t2 := task(gj, "n2", 0, swarm.TaskStateRunning, 0, 1, 0, "")
	t2.NodeID = "node2"
	if ev := evaluate(gjob, gj, []swarm.Task{t1, t2}, nodeView{eligible: 2}); ev.State != StateRunning {
		t.Errorf("global job, 1 of 2 nodes: %+v", ev)
	}
	t2.Status.State = swarm.TaskStateComplete
	if ev := evaluate(gjob, gj, []swarm.Task{t1, t2}, nodeView{eligible: 2}); ev.State != StateCompleted {
		t.Errorf("global job, 2 of 2 nodes: %+v", ev)
	}
	if ev := evaluate(gjob, gj, []swarm.Task{t1}, nodeView{eligible: 2}); ev.State != StatePending {
		t.Errorf("global job, node 2 without task yet: %+v", ev)
	}
}

func TestSummaryPrint(t *testing.T) {
	sum := Summary{Jobs: []JobResult{
		{JobRun: JobRun{Name: "migrate", State: StateCompleted, ExitCode: 0, Started: t0}, Duration: 2100 * time.Millisecond},
		{JobRun: JobRun{Name: "seed-data", State: StateFailed, ExitCode: 3, Started: t0, Err: "task: non-zero exit (3)"}, Duration: 65 * time.Second},
		{JobRun: JobRun{Name: "x", State: StateRejected, ExitCode: -1, Err: "No such image: x:latest"}},
		{JobRun: JobRun{Name: "old", State: StateCompleted, Started: t0}, Unchanged: true, Duration: time.Second},
	}}
	var b bytes.Buffer
	sum.Print(&b)
	want := `JOB        STATE                  EXIT  DURATION  ERROR
migrate    completed              0     2.1s      
seed-data  failed                 3     1m05s     
x          rejected               -     -         No such image: x:latest
old        completed (unchanged)  0     1.0s      
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	if sum.OK() {
		t.Error("OK() with failures")
	}
	if !(Summary{Jobs: sum.Jobs[:1]}).OK() || !(Summary{}).OK() {
		t.Error("OK() false without failures")
	}
}

func TestPrintList(t *testing.T) {
	now := t0.Add(time.Hour)
	var b bytes.Buffer
	printList(&b, []JobStatus{
		{JobRun: JobRun{Name: "migrate", Mode: joblabel.ModeRestartNone, State: StateCompleted, ExitCode: 0, Started: now.Add(-90 * time.Second), Finished: now.Add(-60 * time.Second), Tasks: TaskCounts{Completed: 1}}, Stage: joblabel.StagePreDeploy},
		{JobRun: JobRun{Name: "backup", Mode: joblabel.ModeReplicatedJob, State: StateRunning, ExitCode: -1, Started: now.Add(-5 * time.Second), Tasks: TaskCounts{Completed: 1, Running: 1}}},
		{JobRun: JobRun{Name: "nightly", Mode: joblabel.ModeRestartNone, State: StateScheduled, ExitCode: -1, Err: "scheduled (0 3 * * *), not run yet"}},
	}, now)
	want := `JOB      MODE            STAGE       STATE      EXIT  STARTED    FINISHED   DURATION  TASKS                   ERROR
migrate  restart-none    pre-deploy  completed  0     1m30s ago  1m00s ago  30.0s     1 completed             
backup   replicated-job  -           running    -     5.0s ago   -          5.0s      1 completed, 1 running  
nightly  restart-none    -           scheduled  -     -          -          -         none                    scheduled (0 3 * * *), not run yet
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestDeployArgs(t *testing.T) {
	got := strings.Join(DeployArgs(DeployOptions{Stack: "shop", Prune: true, WithRegistryAuth: true, ResolveImage: "never",
		DockerArgs: []string{"--context", "prod"}}), " ")
	want := "--context prod stack deploy -c - --prune --with-registry-auth --resolve-image never --detach=true shop"
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	if got := strings.Join(DeployArgs(DeployOptions{Stack: "s"}), " "); got != "stack deploy -c - --detach=true s" {
		t.Errorf("minimal: %s", got)
	}
	c := NewClient(&fakeAPI{}, "x")
	if _, err := c.Deploy(context.Background(), DeployOptions{Stack: "s", ResolveImage: "sometimes"}); err == nil || !strings.Contains(err.Error(), "--resolve-image") {
		t.Errorf("bad resolve-image: %v", err)
	}
}

const renderedStack = `version: "3.9"
x-env: &env
  DB_HOST: db
  LEVEL: "1.10"
services:
  migrate:
    image: app:1.4
    environment: *env
    networks: [backend]
    volumes:
      - data:/data
      - ./local:/local
      - type: volume
        source: cache
        target: /cache
    secrets: [dbpass]
    configs:
      - source: appconf
        target: /etc/app.conf
    depends_on: [web]
    deploy:
      replicas: 0
      restart_policy: {condition: none}
      labels:
        io.podtemplate.job: "true"
        io.podtemplate.job.name: migrate
        io.podtemplate.job.completions: "2"
        io.podtemplate.job.schedule: "0 3 * * *"
        swarm.cronjob.enable: "true"
  listy:
    image: app:1.4
    environment: ["A=1", "B=2"]
    deploy:
      labels: ["io.podtemplate.job=true"]
  web:
    image: web
    networks: [frontend]
networks:
  backend: {driver: overlay}
  frontend: {}
  default: {}
volumes:
  data: {}
  cache: {}
  other: {}
secrets:
  dbpass: {external: true}
  unused: {external: true}
configs:
  appconf: {file: ./app.conf}
`

func TestRunStack(t *testing.T) {
	out, err := RunStack([]byte(renderedStack), "migrate", "migrate-abc123", []string{"LEVEL=2", "NEW=x=y"}, 30*time.Second, "")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := yaml.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("\n%s", out)
	svcs := got["services"].(map[string]any)
	if len(svcs) != 1 || svcs["migrate-abc123"] == nil {
		t.Fatalf("services: %v", svcs)
	}
	svc := svcs["migrate-abc123"].(map[string]any)
	env := svc["environment"].(map[string]any)
	if env["DB_HOST"] != "db" || env["LEVEL"] != "2" || env["NEW"] != "x=y" {
		t.Errorf("environment: %v", env)
	}
	if _, ok := svc["depends_on"]; ok {
		t.Error("depends_on kept")
	}
	deploy := svc["deploy"].(map[string]any)
	labels := deploy["labels"].(map[string]any)
	if _, ok := labels["io.podtemplate.job.schedule"]; ok {
		t.Error("the run keeps the schedule label")
	}
	if deploy["replicas"] != 2 || labels[joblabel.CronEnable] != "false" || labels["io.podtemplate.job.timeout"] != "30s" {
		t.Errorf("deploy: %v", deploy)
	}
	for kind, want := range map[string]string{"networks": "backend", "volumes": "cache,data", "secrets": "dbpass", "configs": "appconf"} {
		m, _ := got[kind].(map[string]any)
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		sortStrings(keys)
		if strings.Join(keys, ",") != want {
			t.Errorf("%s: %v, want %s", kind, keys, want)
		}
	}
	if got["version"] != "3.9" {
		t.Errorf("version: %v", got["version"])
	}
	if strings.Contains(string(out), "*env") || strings.Contains(string(out), "&env") {
		t.Errorf("alias not expanded:\n%s", out)
	}

	// A list environment and list labels.
	out, err = RunStack([]byte(renderedStack), "listy", "listy-1", []string{"B=3", "C=4"}, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	var listy struct {
		Services map[string]struct {
			Environment []string
		}
	}
	if err := yaml.Unmarshal(out, &listy); err != nil {
		t.Fatal(err)
	}
	if env := strings.Join(listy.Services["listy-1"].Environment, " "); env != "A=1 B=3 C=4" {
		t.Errorf("list environment: %s\n%s", env, out)
	}
	if !strings.Contains(string(out), "default: {}") {
		t.Errorf("a service without networks keeps the default network:\n%s", out)
	}

	for _, tc := range []struct{ job, want string }{
		{"web", "service web is not a job"},
		{"nope", "job nope not found in the stack (services: migrate, listy, web)"},
	} {
		if _, err := RunStack([]byte(renderedStack), tc.job, "x", nil, 0, ""); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.job, err, tc.want)
		}
	}
	if _, err := RunStack([]byte(renderedStack), "migrate", "x", []string{"NOEQUALS"}, 0, ""); err == nil || !strings.Contains(err.Error(), "KEY=VALUE") {
		t.Errorf("bad env: %v", err)
	}
	if _, err := RunStack([]byte("services: [\n"), "migrate", "x", nil, 0, ""); err == nil {
		t.Error("bad YAML accepted")
	}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// TestFollowFake follows a fake stack through pending, running and done,
// on a "terminal", and checks logs, ANSI redraws and the summary.
func TestFollowFake(t *testing.T) {
	ok := jobService("shop", "s1", "migrate", map[string]string{"io.podtemplate.job.hash": "h1"})
	bad := jobService("shop", "s2", "seed", map[string]string{"io.podtemplate.job.hash": "h2"})
	web := swarm.Service{ID: "s3", Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "shop_web", Labels: map[string]string{StackNamespaceLabel: "shop"}}}}
	f := &fakeAPI{
		services: []swarm.Service{ok, bad, web},
		tasks:    map[string][]swarm.Task{},
		steps: map[string][][]swarm.Task{
			"s1": {nil, {task(ok, "t1", 1, swarm.TaskStateRunning, 0, 1, 0, "")}, {task(ok, "t1", 1, swarm.TaskStateComplete, 0, 2, 0, "")}},
			"s2": {{task(bad, "t2", 1, swarm.TaskStateRunning, 0, 1, 0, "")}, {task(bad, "t2", 1, swarm.TaskStateFailed, 0, 3, 7, "task: non-zero exit (7)")}},
		},
		logs: map[string][]fakeLine{
			"t1": {{t0, false, "applying 1"}, {t0.Add(time.Millisecond), true, "warn"}, {t0.Add(2 * time.Millisecond), false, "applying 2"}},
			"t2": {{t0, false, "seeding"}},
		},
	}
	c := NewClient(f, "fake")
	c.poll = 10 * time.Millisecond
	var out, errOut, status bytes.Buffer
	sum, err := c.Follow(context.Background(), FollowOptions{Stack: "shop", Out: &out, Err: &errOut, Status: &status, TTY: true, Logs: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stdout:\n%s\nstderr:\n%s\nstatus:\n%q", out.String(), errOut.String(), status.String())
	if out.String() != "migrate | applying 1\nmigrate | applying 2\nseed    | seeding\n" && out.String() != "seed    | seeding\nmigrate | applying 1\nmigrate | applying 2\n" {
		t.Errorf("stdout (each line once, prefixed):\n%s", out.String())
	}
	if errOut.String() != "migrate | warn\n" {
		t.Errorf("stderr: %q", errOut.String())
	}
	st := status.String()
	if !strings.Contains(st, "\x1b[2K") || !strings.Contains(st, "\x1b[J") {
		t.Errorf("no ANSI redraw on a terminal: %q", st)
	}
	if strings.Contains(st, "job migrate: ") {
		t.Errorf("plain state lines on a terminal: %q", st)
	}
	if !strings.Contains(st, "JOB      STATE      EXIT") || !strings.Contains(st, "seed     failed     7") {
		t.Errorf("summary: %q", st)
	}
	if sum.OK() || len(sum.Jobs) != 2 {
		t.Errorf("summary: %+v", sum)
	}
}

func TestPruneFake(t *testing.T) {
	done := jobService("shop", "s1", "done", nil)
	busy := jobService("shop", "s2", "busy", nil)
	sched := jobService("shop", "s3", "nightly", map[string]string{"io.podtemplate.job.schedule": "0 3 * * *"})
	web := swarm.Service{ID: "s4", Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "shop_web", Labels: map[string]string{StackNamespaceLabel: "shop"}}}}
	f := &fakeAPI{
		services: []swarm.Service{done, busy, sched, web},
		tasks: map[string][]swarm.Task{
			"s1": {task(done, "a", 1, swarm.TaskStateComplete, 0, 1, 0, "")},
			"s2": {task(busy, "b", 1, swarm.TaskStateRunning, 0, 1, 0, "")},
			"s3": {task(sched, "c", 1, swarm.TaskStateComplete, 0, 1, 0, "")},
			"s4": {},
		},
	}
	c := NewClient(f, "fake")
	removed, err := c.Prune(context.Background(), "shop")
	if err != nil || strings.Join(removed, ",") != "done" || strings.Join(f.removed, ",") != "shop_done" {
		t.Errorf("removed %v (%v), err %v", removed, f.removed, err)
	}
}

// TestConnectSSH checks ssh:// hosts with a fake ssh that runs the local
// docker system dial-stdio, as the real one would on the remote host.
func TestConnectSSH(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a Docker daemon")
	}
	if _, err := Connect(context.Background(), ConnectOptions{Host: "unix:///var/run/docker.sock"}); err != nil {
		t.Skip("no local Docker swarm manager: " + err.Error())
	}
	bin := t.TempDir()
	argsFile := filepath.Join(bin, "args")
	script := "#!/bin/sh\necho \"$@\" > " + argsFile + "\nexec docker -H unix:///var/run/docker.sock system dial-stdio\n"
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Connect(ctx, ConnectOptions{Host: "ssh://me@manager.example:2222"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.api.ServiceList(ctx, swarm.ServiceListOptions{}); err != nil {
		t.Fatal(err)
	}
	args, _ := os.ReadFile(argsFile)
	if got := strings.TrimSpace(string(args)); got != "-l me -p 2222 -o ConnectTimeout=30 -T -- manager.example docker system dial-stdio" {
		t.Errorf("ssh args: %s", got)
	}
	if got := strings.Join(c.DockerArgs(), " "); got != "-H ssh://me@manager.example:2222" {
		t.Errorf("DockerArgs: %s", got)
	}
}

// TestConnectContext reaches the local daemon through a docker context of
// a temporary DOCKER_CONFIG, by name and as the current context.
func TestConnectContext(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a Docker daemon")
	}
	if _, err := Connect(context.Background(), ConnectOptions{Host: "unix:///var/run/docker.sock"}); err != nil {
		t.Skip("no local Docker swarm manager: " + err.Error())
	}
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("DOCKER_HOST", "")
	t.Setenv("DOCKER_CONTEXT", "")
	writeContext(t, dir, "local", "unix:///var/run/docker.sock", false, false)
	writeContext(t, dir, "broken", "unix://"+filepath.Join(dir, "nope.sock"), false, false)
	c, err := Connect(context.Background(), ConnectOptions{Context: "local"})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if got := strings.Join(c.DockerArgs(), " "); got != "--context local" {
		t.Errorf("DockerArgs: %s", got)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"currentContext":"broken"}`), 0o644)
	_, err = Connect(context.Background(), ConnectOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), "cannot reach the Docker daemon at unix://"+filepath.Join(dir, "nope.sock")+": ") {
		t.Errorf("current context broken: %v", err)
	}
}

func TestWithoutUnchangedJobs(t *testing.T) {
	file := []byte(`version: "3.8"
x-labels: &labels
  io.podtemplate.job: "true"
  io.podtemplate.job.hash: "h1"
services:
  batch:
    image: img
    deploy:
      mode: replicated-job
      labels: *labels
  changed:
    image: img
    deploy:
      mode: global-job
      labels: {io.podtemplate.job: "true", io.podtemplate.job.hash: "new"}
  plain-job:
    image: img
    deploy:
      labels: *labels
`)
	snap := Snapshot{Stack: "s", Services: map[string]ServiceSnapshot{
		"s_batch": {Hash: "h1"}, "s_changed": {Hash: "old"}, "s_plain-job": {Hash: "h1"},
	}}
	out, skipped, err := withoutUnchangedJobs(file, snap)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(skipped, ",") != "batch" {
		t.Errorf("skipped %v", skipped)
	}
	var got struct{ Services map[string]any }
	if err := yaml.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(got.Services) != 2 || got.Services["changed"] == nil || got.Services["plain-job"] == nil {
		t.Errorf("services left:\n%s", out)
	}
	// Nothing to skip: the file is passed through untouched.
	snap.Services["s_batch"] = ServiceSnapshot{Hash: "other"}
	out, skipped, _ = withoutUnchangedJobs(file, snap)
	if len(skipped) != 0 || !bytes.Equal(out, file) {
		t.Errorf("untouched file changed: %v\n%s", skipped, out)
	}
}

func TestRunStackJoin(t *testing.T) {
	out, err := RunStack([]byte(renderedStack), "migrate", "migrate-abc123", nil, 0, "shop")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := yaml.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	ext := func(kind, key string) map[string]any {
		m, _ := got[kind].(map[string]any)
		d, _ := m[key].(map[string]any)
		return d
	}
	if d := ext("networks", "backend"); d["external"] != true || d["name"] != "shop_backend" {
		t.Errorf("network backend: %v", d)
	}
	if d := ext("volumes", "data"); d["external"] != true || d["name"] != "shop_data" {
		t.Errorf("volume data: %v", d)
	}
	if d := ext("secrets", "dbpass"); d["external"] != true || d["name"] != nil {
		t.Errorf("an external secret stays as it is: %v", d)
	}
	if d := ext("configs", "appconf"); d["external"] != true || d["name"] != "shop_appconf" {
		t.Errorf("config appconf: %v", d)
	}
}

// TestCheckStackName checks the names Deploy refuses before calling docker.
func TestCheckStackName(t *testing.T) {
	for name, ok := range map[string]bool{
		"shop": true, "Shop_2": true, "fuzz-": true, "9lives": true,
		"": false, "my stack": false, "shop.eu": false, "-shop": false, "_shop": false, "café": false,
	} {
		if err := CheckStackName(name); (err == nil) != ok {
			t.Errorf("CheckStackName(%q) = %v; want ok %v", name, err, ok)
		}
	}
	if _, err := (&Client{}).Deploy(context.Background(), DeployOptions{Stack: "shop.eu"}); err == nil || !strings.Contains(err.Error(), "DNS name component") {
		t.Errorf("Deploy of shop.eu: %v", err)
	}
}
