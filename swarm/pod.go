package swarm

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"
)

// judge evaluates a job's current run with the evaluator of its mode,
// then lets a pod job's main component decide how a finished run ended.
// nodes is the Swarm's nodes as last read (Client.nodeView).
func (c *Client) judge(ctx context.Context, job Job, svc swarm.Service, tasks []swarm.Task, nodes nodeView) evaluation {
	ev := evaluate(job, svc, tasks, nodes)
	return c.podOutcome(ctx, job, ev)
}

// podOutcome replaces the outcome of a pod job's completed run with its
// main component's. The podlike controller exits 0 whatever its
// components did and prints "Exited: <component> Status: <code>" (or
// "Exited: <component> Error: <message>") when the first of them ends;
// that line, read from the decisive task's log, gives the job's status.
// A run whose status cannot be read is a failure: a job gate must not
// pass on an exit status nobody saw.
func (c *Client) podOutcome(ctx context.Context, job Job, ev evaluation) evaluation {
	if job.PodMain == "" || ev.State != StateCompleted || ev.Decisive == nil {
		return ev
	}
	exit, err := c.controllerExit(ctx, ev.Decisive.ID)
	if err != nil {
		ev.State = StateFailed
		ev.ExitCode = -1
		ev.Err = fmt.Sprintf("the exit status of pod component %s is unknown: %v", job.PodMain, err)
		return ev
	}
	switch {
	case exit.component != job.PodMain:
		ev.State = StateFailed
		ev.ExitCode = -1
		ev.Err = fmt.Sprintf("pod component %s ended first (%s), so the controller stopped the main component %s", exit.component, exit.outcome(), job.PodMain)
	case exit.err != "":
		ev.State = StateFailed
		ev.ExitCode = -1
		ev.Err = fmt.Sprintf("pod component %s: %s", job.PodMain, exit.err)
	case exit.status != 0:
		ev.State = StateFailed
		ev.ExitCode = exit.status
		ev.Err = fmt.Sprintf("pod component %s exited with code %d", job.PodMain, exit.status)
	}
	return ev
}

// componentExit is what the controller's "Exited:" line says.
type componentExit struct {
	component string
	status    int
	err       string
}

func (e componentExit) outcome() string {
	if e.err != "" {
		return "error: " + e.err
	}
	return "exit " + strconv.Itoa(e.status)
}

// controllerExit reads the "Exited:" line from a controller task's log.
func (c *Client) controllerExit(ctx context.Context, taskID string) (componentExit, error) {
	sink := &logSink{collect: &collector{}}
	rc, err := c.api.TaskLogs(ctx, taskID, container.LogsOptions{ShowStdout: true, Timestamps: true})
	if err != nil {
		return componentExit{}, fmt.Errorf("reading the controller's log: %w", c.apiErr("task logs", err))
	}
	defer rc.Close()
	if err := copyLogs(sink, taskID, rc); err != nil {
		return componentExit{}, fmt.Errorf("reading the controller's log: %w", err)
	}
	var found *componentExit
	for _, l := range sink.collect.lines {
		_, text, ok := strings.Cut(l.raw, " ")
		if !ok || l.stderr {
			continue
		}
		if e, ok := parseExitLine(text); ok {
			found = &e
		}
	}
	if found == nil {
		return componentExit{}, fmt.Errorf("the controller's log has no \"Exited: <component> Status: <code>\" line")
	}
	return *found, nil
}

// parseExitLine reads "Exited: NAME Status: CODE" or
// "Exited: NAME Error: MESSAGE", as podlike's controller prints them.
func parseExitLine(line string) (componentExit, bool) {
	rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "Exited: ")
	if !ok {
		return componentExit{}, false
	}
	name, after, ok := strings.Cut(rest, " ")
	if !ok || name == "" {
		return componentExit{}, false
	}
	if code, ok := strings.CutPrefix(after, "Status: "); ok {
		n, err := strconv.Atoi(strings.TrimSpace(code))
		if err != nil {
			return componentExit{}, false
		}
		return componentExit{component: name, status: n}, true
	}
	if msg, ok := strings.CutPrefix(after, "Error: "); ok {
		return componentExit{component: name, err: strings.TrimSpace(msg)}, true
	}
	return componentExit{}, false
}
