package swarm

import (
	"bytes"
	"context"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/pkg/stdcopy"
)

// logSink receives the lines of one job, drops lines already printed
// (same task, timestamp, stream and text) and prints the others with the
// job's prefix.
type logSink struct {
	out  *output
	name string
	mu   sync.Mutex
	seen map[string]bool
	// collect, when set, receives the lines instead (see readTaskLogs).
	collect *collector
	failed  bool
	// nodes names the node of each task, on a Swarm of several nodes:
	// lines are then prefixed "job@node".
	nodes map[string]string
}

// nodeNames records the nodes of tasks, for the "job@node" prefix.
func (s *logSink) nodeNames(tasks []swarm.Task, v nodeView) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nodes == nil {
		s.nodes = map[string]string{}
	}
	for _, t := range tasks {
		if t.NodeID != "" {
			s.nodes[t.ID] = v.name(t.NodeID)
		}
	}
}

func newLogSink(out *output, name string) *logSink {
	return &logSink{out: out, name: name, seen: map[string]bool{}}
}

// line handles one raw line: "TIMESTAMP TEXT" (Timestamps is always on).
func (s *logSink) line(taskID string, stderr bool, raw string) {
	if s.collect != nil {
		ts, _, _ := strings.Cut(raw, " ")
		t, _ := time.Parse(time.RFC3339Nano, ts)
		s.collect.lines = append(s.collect.lines, rawLine{ts: t, stderr: stderr, raw: raw})
		return
	}
	ts, text, ok := strings.Cut(raw, " ")
	if !ok || !looksLikeTimestamp(ts) {
		ts, text = "", raw
	}
	key := taskID + "\x00" + ts + "\x00" + text
	if stderr {
		key = "E" + key
	}
	s.mu.Lock()
	if ts != "" && s.seen[key] {
		s.mu.Unlock()
		return
	}
	s.seen[key] = true
	prefix := s.name
	if node := s.nodes[taskID]; node != "" {
		prefix += "@" + node
	}
	s.mu.Unlock()
	s.out.logLine(stderr, prefix, text)
}

// problem reports, once per job, that its logs cannot be read (e.g. a
// logging driver without read support).
func (s *logSink) problem(err error) {
	s.mu.Lock()
	first := !s.failed
	s.failed = true
	s.mu.Unlock()
	if first {
		s.out.logLine(true, s.name, "(cannot read the logs: "+oneLine(err.Error())+")")
	}
}

func looksLikeTimestamp(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// lineWriter splits a byte stream into lines for a sink.
type lineWriter struct {
	sink   *logSink
	task   string
	stderr bool
	buf    bytes.Buffer
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	for {
		i := bytes.IndexByte(w.buf.Bytes(), '\n')
		if i < 0 {
			break
		}
		line := string(w.buf.Next(i + 1))
		w.sink.line(w.task, w.stderr, strings.TrimRight(line, "\r\n"))
	}
	return len(p), nil
}

func (w *lineWriter) flush() {
	if w.buf.Len() > 0 {
		w.sink.line(w.task, w.stderr, strings.TrimRight(w.buf.String(), "\r\n"))
		w.buf.Reset()
	}
}

// copyLogs demultiplexes a log stream into the sink.
func copyLogs(sink *logSink, taskID string, rc io.Reader) error {
	o := &lineWriter{sink: sink, task: taskID}
	e := &lineWriter{sink: sink, task: taskID, stderr: true}
	_, err := stdcopy.StdCopy(o, e, rc)
	o.flush()
	e.flush()
	return err
}

// taskStarted reports whether a task got far enough to have logs.
func taskStarted(t swarm.Task) bool {
	if t.Status.ContainerStatus != nil && t.Status.ContainerStatus.ContainerID != "" {
		return true
	}
	switch t.Status.State {
	case swarm.TaskStateStarting, swarm.TaskStateRunning, swarm.TaskStateComplete, swarm.TaskStateFailed:
		return true
	}
	return false
}

// jobLogs follows the logs of the tasks of one job run: a following
// stream per task as soon as it starts, and after the run ends a final
// non-following read of every task that prints whatever the streams missed.
type jobLogs struct {
	api     API
	sink    *logSink
	ctx     context.Context
	cancel  context.CancelFunc
	mu      sync.Mutex
	streams map[string]chan struct{} // task ID -> closed when its stream ends
}

func newJobLogs(ctx context.Context, api API, sink *logSink) *jobLogs {
	ctx, cancel := context.WithCancel(ctx)
	return &jobLogs{api: api, sink: sink, ctx: ctx, cancel: cancel, streams: map[string]chan struct{}{}}
}

// sync starts a following stream for every started task not yet followed.
func (l *jobLogs) sync(tasks []swarm.Task) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range tasks {
		if _, ok := l.streams[t.ID]; ok || !taskStarted(t) {
			continue
		}
		done := make(chan struct{})
		l.streams[t.ID] = done
		go func(id string) {
			defer close(done)
			rc, err := l.api.TaskLogs(l.ctx, id, container.LogsOptions{
				ShowStdout: true, ShowStderr: true, Follow: true, Timestamps: true,
			})
			if err != nil {
				if l.ctx.Err() == nil {
					l.sink.problem(err)
				}
				return
			}
			defer rc.Close()
			go func() { <-l.ctx.Done(); rc.Close() }()
			_ = copyLogs(l.sink, id, rc)
		}(t.ID)
	}
}

// finish waits up to grace for the following streams to end, stops them,
// then reads every task's logs once more and prints the missing lines.
func (l *jobLogs) finish(ctx context.Context, tasks []swarm.Task, grace time.Duration) {
	l.mu.Lock()
	var waits []chan struct{}
	for _, ch := range l.streams {
		waits = append(waits, ch)
	}
	l.mu.Unlock()
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
wait:
	for _, ch := range waits {
		select {
		case <-ch:
		case <-deadline.C:
			break wait
		case <-ctx.Done():
			break wait
		}
	}
	l.cancel()
	for _, ch := range waits {
		<-ch
	}
	for _, t := range tasks {
		if !taskStarted(t) {
			continue
		}
		readTaskLogs(ctx, l.api, l.sink, t.ID)
	}
}

// stop ends the following streams without a final read.
func (l *jobLogs) stop() { l.cancel() }

// readTaskLogs prints the logs of a task once (no follow), in timestamp
// order (Swarm may deliver stdout and stderr one after the other).
func readTaskLogs(ctx context.Context, api API, sink *logSink, taskID string) {
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rc, err := api.TaskLogs(rctx, taskID, container.LogsOptions{
		ShowStdout: true, ShowStderr: true, Timestamps: true,
	})
	if err != nil {
		if ctx.Err() == nil {
			sink.problem(err)
		}
		return
	}
	defer rc.Close()
	col := &collector{}
	_ = copyLogs(&logSink{collect: col}, taskID, rc)
	sort.SliceStable(col.lines, func(i, j int) bool { return col.lines[i].ts.Before(col.lines[j].ts) })
	for _, l := range col.lines {
		sink.line(taskID, l.stderr, l.raw)
	}
}

// collector gathers raw lines instead of printing them.
type collector struct {
	lines []rawLine
}

type rawLine struct {
	ts     time.Time
	stderr bool
	raw    string
}
