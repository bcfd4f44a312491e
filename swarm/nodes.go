package swarm

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/swarm"
)

// nodeView is what following a job knows of the Swarm's nodes at one
// poll. Swarm leaves the tasks of a node that went down as they were
// (running, for all it knows) and marks them orphaned only after a day, so
// following reads the nodes itself: a task still held by a node that is
// down will not finish. On a Swarm of several nodes, tasks are also
// counted, and their logs prefixed, per node.
type nodeView struct {
	// byID holds the nodes by ID; nil when the list could not be read.
	byID map[string]swarm.Node
	// eligible is how many nodes are ready and active: where a global job
	// without placement constraints runs (0: unknown).
	eligible int
}

// newNodeView indexes a node list. An empty list (a Swarm has at least
// its manager) tells nothing.
func newNodeView(nodes []swarm.Node) nodeView {
	if len(nodes) == 0 {
		return nodeView{}
	}
	v := nodeView{byID: make(map[string]swarm.Node, len(nodes))}
	for _, n := range nodes {
		v.byID[n.ID] = n
		if n.Status.State == swarm.NodeStateReady && n.Spec.Availability == swarm.NodeAvailabilityActive {
			v.eligible++
		}
	}
	return v
}

// nodeView reads the Swarm's nodes; a failure gives a view that knows no
// node (nothing is then judged lost).
func (c *Client) nodeView(ctx context.Context) nodeView {
	nodes, err := c.api.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return nodeView{}
	}
	return newNodeView(nodes)
}

// multi reports whether the Swarm has more than one node.
func (v nodeView) multi() bool { return len(v.byID) > 1 }

// name is a node's host name (as docker node ls shows it), else its
// short ID.
func (v nodeView) name(id string) string {
	if n, ok := v.byID[id]; ok && n.Description.Hostname != "" {
		return n.Description.Hostname
	}
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// maxNameLen is the length of the longest node name.
func (v nodeView) maxNameLen() int {
	w := 0
	for id := range v.byID {
		if l := len(v.name(id)); l > w {
			w = l
		}
	}
	return w
}

// drained reports whether a node is set to drain.
func (v nodeView) drained(id string) bool {
	n, ok := v.byID[id]
	return ok && n.Spec.Availability == swarm.NodeAvailabilityDrain
}

// lostReason says why a task that a node holds (assigned to it, not
// finished) cannot finish: its node is down, disconnected or no longer in
// the Swarm. It is "" for any other task.
func (v nodeView) lostReason(t swarm.Task) string {
	if v.byID == nil || t.NodeID == "" || !heldByNode(t.Status.State) {
		return ""
	}
	n, ok := v.byID[t.NodeID]
	if !ok {
		return fmt.Sprintf("node %s left the Swarm (task orphaned)", v.name(t.NodeID))
	}
	switch n.Status.State {
	case swarm.NodeStateDown, swarm.NodeStateDisconnected:
		return fmt.Sprintf("node %s is %s (task orphaned)", v.name(t.NodeID), n.Status.State)
	}
	return ""
}

// heldByNode reports whether a task in state s is in a node's hands:
// assigned to it and not finished.
func heldByNode(s swarm.TaskState) bool {
	switch s {
	case swarm.TaskStateAssigned, swarm.TaskStateAccepted, swarm.TaskStatePreparing, swarm.TaskStateReady,
		swarm.TaskStateStarting, swarm.TaskStateRunning:
		return true
	}
	return false
}

// markLost rewrites the tasks that nodes lost as what Swarm makes of them
// a day later: orphaned, with the reason as their error and the time their
// node changed state as their timestamp. Everything that judges tasks then
// counts them as failed tries.
func (v nodeView) markLost(tasks []swarm.Task) []swarm.Task {
	for i, t := range tasks {
		reason := v.lostReason(t)
		if reason == "" {
			continue
		}
		t.Status.State = swarm.TaskStateOrphaned
		t.Status.Err = reason
		t.Status.Message = "lost"
		if n, ok := v.byID[t.NodeID]; ok && n.UpdatedAt.After(t.Status.Timestamp) {
			t.Status.Timestamp = n.UpdatedAt
		}
		tasks[i] = t
	}
	return tasks
}

// isLost reports whether markLost rewrote t.
func isLost(t swarm.Task) bool {
	return t.Status.State == swarm.TaskStateOrphaned && t.Status.Message == "lost"
}

// NodeTasks counts the tasks of a job's run on one node.
type NodeTasks struct {
	// Node is the node's host name (its short ID if it is unknown).
	Node string
	// State is the node's state when it is not ready: "down",
	// "disconnected", "unknown", or "gone" for a node no longer in the
	// Swarm; "" for a ready node.
	State string
	// Drained is true when the node is set to drain.
	Drained bool
	// Counts counts the tasks by state (a task lost with its node counts
	// as failed).
	Counts TaskCounts
}

// perNode counts tasks per node, in node name order. Tasks not assigned
// to a node yet are left out.
func (v nodeView) perNode(tasks []swarm.Task) []NodeTasks {
	byNode := map[string]*NodeTasks{}
	for _, t := range tasks {
		if t.NodeID == "" {
			continue
		}
		nt, ok := byNode[t.NodeID]
		if !ok {
			nt = &NodeTasks{Node: v.name(t.NodeID), Drained: v.drained(t.NodeID)}
			if n, known := v.byID[t.NodeID]; !known {
				if v.byID != nil {
					nt.State = "gone"
				}
			} else if n.Status.State != swarm.NodeStateReady {
				nt.State = string(n.Status.State)
			}
			byNode[t.NodeID] = nt
		}
		nt.Counts.add(t.Status.State)
	}
	out := make([]NodeTasks, 0, len(byNode))
	for _, nt := range byNode {
		out = append(out, *nt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out
}

// nodesText is the NODES column: "vm: 1 completed; worker-2 (down): 1
// failed".
func nodesText(nodes []NodeTasks) string {
	if len(nodes) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(nodes))
	for _, n := range nodes {
		name := n.Node
		var marks []string
		if n.State != "" {
			marks = append(marks, n.State)
		}
		if n.Drained {
			marks = append(marks, "drained")
		}
		if len(marks) > 0 {
			name += " (" + strings.Join(marks, ", ") + ")"
		}
		parts = append(parts, name+": "+taskText(n.Counts))
	}
	return strings.Join(parts, "; ")
}

// rescheduled describes what Swarm did with the tasks of a run that were
// shut down on a drained node or lost with their node and replaced by a
// later try in the same slot: "task shut down on worker-2 (node drained),
// rescheduled on vm". key groups tasks into the tries of one slot. Each
// note is keyed by the ID of the task it is about.
func (v nodeView) rescheduled(tasks []swarm.Task, key func(swarm.Task) string) []taskNote {
	var notes []taskNote
	last := map[string]int{} // group -> index of its latest task
	for i, t := range tasks {
		last[key(t)] = i
	}
	for i, t := range tasks {
		j := last[key(t)]
		if j == i {
			continue // no later try
		}
		next := tasks[j]
		if next.NodeID == "" {
			continue // told once Swarm placed the new try
		}
		var what string
		switch {
		case isLost(t):
			what = "task lost on " + v.name(t.NodeID) + " (node " + lostState(v, t.NodeID) + ")"
		case t.Status.State == swarm.TaskStateShutdown && t.NodeID != "":
			what = "task shut down on " + v.name(t.NodeID)
			if v.drained(t.NodeID) {
				what += " (node drained)"
			}
		default:
			continue
		}
		notes = append(notes, taskNote{task: t.ID, text: what + ", rescheduled on " + v.name(next.NodeID)})
	}
	return notes
}

func lostState(v nodeView, id string) string {
	if n, ok := v.byID[id]; ok {
		return string(n.Status.State)
	}
	return "gone"
}

// taskNote is something Swarm did with one task, worth telling.
type taskNote struct {
	task string
	text string
}
