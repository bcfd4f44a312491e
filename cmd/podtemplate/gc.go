package main

import (
	"context"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"

	"github.com/podtemplate/podtemplate/transform"
)

// defaultGCPercent is the collector's target outside renders of files
// (and during those when the environment sets GOGC or GOMEMLIMIT, which
// main and renderStack leave alone): a command's live heap is then small
// or of unknown size, and a little more collection than Go's default
// keeps it near its live size.
const defaultGCPercent = 70

// The memory limit of a render is renderLimitBase + renderLimitPerByte
// times the size of its input files. A render's live heap peaks at about
// 30 times its input (the node trees of the input and of the built
// stack), and the runtime's own memory is about 10 MiB plus 9% of the
// heap: 45 times leaves the collector some 40% of the peak as headroom,
// and without a GOGC target it does not run before the heap reaches the
// limit, so it runs a few times per render (none for 10 services).
// Against GOGC=70 on scripts/benchgen stacks (peak RSS, CPU time):
// 3 000 services 80 -> 74 MiB and -6%, 30 000 services 657 -> 541 MiB
// and -6%, 1 000 services 41 MiB either way and -14%.
const (
	renderLimitBase    = 12 << 20
	renderLimitPerByte = 45
)

// renderLimitPerLiveByte keeps the limit at least renderLimitBase plus
// this times the live heap after every collection (the limit is raised
// when it is lower): a stack that grows more than its input size
// predicts, through templates or included files, is then collected with
// a quarter of its live heap as headroom (as with GOGC=25) instead of
// continuously. The benchmark stacks stay some 10% below it.
const renderLimitPerLiveByte = 1.35

// renderStack is transform.Render under the render's memory limit (see
// renderLimitPerByte). Collection returns to defaultGCPercent afterwards:
// deploy and run keep following jobs for a long time.
func renderStack(ctx context.Context, opts transform.Options) (*transform.Result, error) {
	limit, ok := renderMemoryLimit(opts.Files)
	if !ok || os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return transform.Render(ctx, opts)
	}
	renderGC.begin(limit)
	defer renderGC.end()
	return transform.Render(ctx, opts)
}

// renderGC holds the collector's settings while renders run (several at
// once in tests, which call run in one process).
var renderGC limitGuard

// renderMemoryLimit is the memory limit for a render of files; false when
// a size is unknown (standard input, or a file that is not a regular one:
// the render reports it).
func renderMemoryLimit(files []string) (int64, bool) {
	var size int64
	for _, f := range files {
		if f == "-" {
			return 0, false
		}
		st, err := os.Stat(f)
		if err != nil || !st.Mode().IsRegular() {
			return 0, false
		}
		size += st.Size()
	}
	if size > (math.MaxInt64-renderLimitBase)/renderLimitPerByte {
		return math.MaxInt64, true
	}
	return renderLimitBase + renderLimitPerByte*size, true
}

// limitGuard sets the collector for renders: the memory limit (the
// largest of the running renders') without a GOGC target, and raises the
// limit after a collection to renderLimitBase plus renderLimitPerLiveByte
// times the live heap when it is lower.
type limitGuard struct {
	mu      sync.Mutex
	running int   // renders under the guard
	limit   int64 // the memory limit set
	armed   bool  // a check is waiting for the next collection
}

// begin sets the collector for a render whose input gives limit.
func (g *limitGuard) begin(limit int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running++
	if g.running == 1 || limit > g.limit {
		g.limit = limit
		debug.SetMemoryLimit(limit)
	}
	if g.running == 1 {
		debug.SetGCPercent(-1)
		if !g.armed {
			g.armed = true
			afterEachGC(g.check)
		}
	}
}

// end returns the collector to defaultGCPercent after the last render.
func (g *limitGuard) end() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.running--; g.running == 0 {
		debug.SetGCPercent(defaultGCPercent)
		debug.SetMemoryLimit(math.MaxInt64)
	}
}

// check runs after every collection while renders run; false ends the
// checks.
func (g *limitGuard) check() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.running == 0 {
		g.armed = false
		return false
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return true
	}
	live := float64(sample[0].Value.Uint64())
	if want := int64(live*renderLimitPerLiveByte) + renderLimitBase; want > g.limit {
		g.limit = want
		debug.SetMemoryLimit(want)
	}
	return true
}

// afterEachGC calls f after each garbage collection (from the finalizer
// goroutine) for as long as f returns true: a finalizer runs once the
// collector found its object unreachable, and arms the next one.
func afterEachGC(f func() bool) {
	// A pointer field keeps the sentinel out of the tiny allocator, whose
	// blocks are shared with other objects and may never be freed.
	type sentinel struct{ _ *byte }
	var arm func()
	arm = func() {
		runtime.SetFinalizer(&sentinel{}, func(*sentinel) {
			if f() {
				arm()
			}
		})
	}
	arm()
}
