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
	exit, err := c.controllerExit(ctx, ev.Decisive)
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

// controllerExit reads the "Exited:" report from a controller task's log.
// The controller prints it in two writes ("Exited: NAME", then
// " Status: CODE" or " Error: MESSAGE" with the line break), and its
// log streaming writes whole lines concurrently, so other lines may come
// between the two halves or be glued to the first one; the component
// names from the task's labels tell where the name ends.
func (c *Client) controllerExit(ctx context.Context, task *swarm.Task) (componentExit, error) {
	sink := &logSink{collect: &collector{}}
	rc, err := c.api.TaskLogs(ctx, task.ID, container.LogsOptions{ShowStdout: true, Timestamps: true})
	if err != nil {
		return componentExit{}, fmt.Errorf("reading the controller's log: %w", c.apiErr("task logs", err))
	}
	defer rc.Close()
	if err := copyLogs(sink, task.ID, rc); err != nil {
		return componentExit{}, fmt.Errorf("reading the controller's log: %w", err)
	}
	var lines []string
	for _, l := range sink.collect.lines {
		if _, text, ok := strings.Cut(l.raw, " "); ok && !l.stderr {
			lines = append(lines, text)
		}
	}
	found, ok := findExit(lines, componentNames(task))
	if !ok {
		return componentExit{}, fmt.Errorf("the controller's log has no \"Exited: <component> Status: <code>\" line")
	}
	return found, nil
}

// componentNames lists the pod's components from the controller task's
// container labels (pod.component.NAME).
func componentNames(task *swarm.Task) []string {
	if task == nil || task.Spec.ContainerSpec == nil {
		return nil
	}
	var names []string
	for k := range task.Spec.ContainerSpec.Labels {
		if name, ok := strings.CutPrefix(k, "pod.component."); ok && name != "" {
			names = append(names, name)
		}
	}
	return names
}

// findExit returns the last exit report in the controller's log lines.
func findExit(lines []string, names []string) (componentExit, bool) {
	var found componentExit
	seen := false
	for i, line := range lines {
		if e, ok := parseExitLine(line); ok {
			found, seen = e, true
			continue
		}
		rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "Exited: ")
		if !ok {
			continue
		}
		name := longestPrefix(rest, names)
		if name == "" {
			continue
		}
		// The second half is the next line that starts with it.
		for _, next := range lines[i+1:] {
			if e, ok := parseExitLine("Exited: " + name + strings.TrimRight(next, "\r")); ok && strings.HasPrefix(next, " ") {
				found, seen = e, true
				break
			}
		}
	}
	return found, seen
}

// longestPrefix is the longest of names that s starts with.
func longestPrefix(s string, names []string) string {
	best := ""
	for _, n := range names {
		if len(n) > len(best) && strings.HasPrefix(s, n) {
			best = n
		}
	}
	return best
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
