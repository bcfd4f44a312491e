package main

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/podtemplate/podtemplate/transform/load"
)

func TestRenderStartLimit(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yml"), filepath.Join(dir, "b.yml")
	if err := os.WriteFile(a, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := renderStartLimit([]string{a, b}); got != renderLimitBase+renderLimitPerInputByte<<21 {
		t.Errorf("two 1 MiB files: %d", got)
	}
	// A file the render refuses for its size gets no limit (nor prefault) from it.
	huge := filepath.Join(dir, "huge.yml")
	if err := os.WriteFile(huge, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, load.MaxFileSize+1); err != nil {
		t.Fatal(err)
	}
	for _, files := range [][]string{{a, "-"}, {filepath.Join(dir, "missing.yml")}, {dir}, {}, {a, huge}} {
		if got := renderStartLimit(files); got != renderLimitMin {
			t.Errorf("%q: %d, want the minimum", files, got)
		}
	}
}

// TestRenderLimitFor checks the headroom after a collection: 1.5 times
// the live heap up to the knee, 2 times each byte above it.
func TestRenderLimitFor(t *testing.T) {
	for _, c := range []struct {
		live float64
		want int64
	}{
		{0, renderLimitBase},
		{20 << 20, renderLimitBase + 30<<20},
		{renderLimitKnee, renderLimitBase + renderLimitKnee*3/2},
		{renderLimitKnee + 100<<20, renderLimitBase + renderLimitKnee*3/2 + 200<<20},
		{1e30, math.MaxInt64},
	} {
		if got := renderLimitFor(c.live); got != c.want {
			t.Errorf("live %g: limit %d, want %d", c.live, got, c.want)
		}
	}
}

// TestLimitGuard checks that a render whose live heap outgrows its limit
// gets the limit raised after a collection, and that the collector is
// back to its default after the render.
func TestLimitGuard(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	var g limitGuard
	g.begin(renderLimitMin)
	live := make([][]byte, 64)
	for i := range live {
		live[i] = make([]byte, 1<<20)
	}
	runtime.GC()
	want := renderLimitFor(64 << 20)
	deadline := time.Now().Add(10 * time.Second)
	for debug.SetMemoryLimit(-1) < want {
		if time.Now().After(deadline) {
			t.Fatalf("limit %d after a collection with 64 MiB live", debug.SetMemoryLimit(-1))
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	runtime.KeepAlive(live)
	g.end()
	// The command writes its output and exits: no collection now.
	if got := debug.SetMemoryLimit(-1); got < want {
		t.Errorf("limit after the render: %d", got)
	}
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("GC percent after the render: %d", got)
	}
	// Two renders at once: the larger limit, and the default only after
	// the last.
	g.begin(renderLimitMin)
	g.begin(2 * renderLimitMin)
	if got := debug.SetMemoryLimit(-1); got != 2*renderLimitMin {
		t.Errorf("limit of two renders: %d", got)
	}
	g.end()
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("GC percent with one render left: %d", got)
	}
	g.end()
	if g.running != 0 {
		t.Errorf("%d renders running after both ended", g.running)
	}
}

// TestFollowGC checks that a command that follows jobs gets
// defaultGCPercent and no memory limit, but not in the middle of a render
// (it is set when the command connects, after the render).
func TestFollowGC(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT is set")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	renderGC.begin(renderLimitMin)
	followGC()
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("GC percent after followGC during a render: %d", got)
	}
	renderGC.end()
	followGC()
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Errorf("GC percent after followGC: %d", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("limit after followGC: %d", got)
	}
}
