package main

import (
	"context"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"

	"github.com/podtemplate/podtemplate/internal/prefault"
	"github.com/podtemplate/podtemplate/transform"
	"github.com/podtemplate/podtemplate/transform/load"
)

// defaultGCPercent is the collector's target in a command that talks to
// the daemon (followGC), unless the environment sets GOGC: a little more
// collection than Go's default keeps a long-running command's heap near
// its live size (deploy, run and jobs wait follow jobs for hours). Other
// commands keep Go's default, and a render's settings after it (see
// limitGuard.end): a lower percent also lowers the first collection's
// goal (4 MiB at 100, 2.8 MiB at 70), which start-up and a small render
// fill, so setting it at start or after a render collected for nothing.
const defaultGCPercent = 70

// followGC sets the collector for a command that may run for long:
// defaultGCPercent and no memory limit (unless the environment sets GOGC
// or GOMEMLIMIT, or a render runs).
func followGC() {
	renderGC.mu.Lock()
	defer renderGC.mu.Unlock()
	if renderGC.running > 0 {
		return
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(math.MaxInt64)
	}
}

// A render runs without a GOGC target, under a soft memory limit that
// only grows. It starts at renderLimitPerInputByte times the size of the
// input files plus renderLimitBase (at least renderLimitMin), below what
// the live heap of a render needs (it peaks at 20 to 30 times the
// input), so that the first collection comes late but not too late.
// After each collection the limit is raised to renderLimitFor the live
// heap when it is lower: renderLimitBase plus renderLimitPerLiveByte
// times the live heap (and renderLimitPerLiveByteAbove times what
// exceeds renderLimitKnee, see there): the heap
// may then grow by half the largest live heap so far, as with GOGC=50 at
// the peak, but the collector does not run while the heap is below the
// limit, which makes it rare before the peak (GOGC collects every time
// the heap grows by its percentage, from 4 MiB on) and after it (the
// limit stays while the live heap shrinks). A 10-service render does not
// collect at all. renderLimitBase is the runtime's own memory.
//
// Measured against GOGC=70 on scripts/benchgen stacks, interleaved runs
// (median peak RSS and CPU time; GC mark work as the sum of the live
// heap after each cycle): 3 000 services 69.5 -> 60.3 MiB, 146 -> 143 MB
// marked, CPU -10% (within the noise); 30 000 services 485 -> 430
// MiB, 1544 -> 1689 MB marked, CPU +2%. GOGC=50 gives 58.7 and 424 MiB
// for a third more marking (CPU +11% at 30 000); a factor of 1.4 or 1.3
// instead of 1.5, 436 or 369 MiB at 30 000 for 18% or 46% more.
//
// Above renderLimitKnee of live heap (3 000 services peak at 25 MB, so
// they keep the policy above), each live byte more gives
// renderLimitPerLiveByteAbove of headroom: a larger render has relatively
// less of renderLimitBase as headroom, and collected as often as a
// 3 000-service one (5 times) while marking ten times the heap. At 30 000
// services (interleaved runs, medians; podlike peaks at 1 934 MiB) 5 -> 3
// collections, 1068 -> 694 MB marked, CPU user+sys 2.55 -> 1.78 s and
// 2.40 -> 2.16 s in two sets, peak RSS 381 -> 488-498 MiB (0.25-0.26 of
// podlike's). A factor of 2.5 collects twice but peaks at 600-620 MiB.
const (
	renderLimitMin              = 16 << 20
	renderLimitBase             = 10 << 20
	renderLimitPerInputByte     = 25
	renderLimitPerLiveByte      = 1.5
	renderLimitKnee             = 32 << 20
	renderLimitPerLiveByteAbove = 2.0
)

// A render that ends the process (render, validate, diff) has its heap
// populated in bulk before it starts (package prefault):
// renderPrefaultPerLimit times its first memory limit, what the runtime
// keeps of its heap under that limit (it releases what it holds above
// 0.95 of it, less its own memory), with renderSparePerLimit times the
// limit more advised as huge pages for the heap's growth past the limit
// while a collection runs. Only renders whose first limit is above
// renderLimitMin have it: a small render touches a few MiB, fewer than
// populating would cost.
//
// Measured at 3 000 services (interleaved runs, medians of 9, machine
// busy with other work): without it 11 810 page faults, 0.422 s of CPU;
// with it 2 500 and 0.255 s. Populating 0.9 without the spare left 5 389
// faults; populating 1.2 had the runtime release 11.7 MiB of it at once
// (GODEBUG=scavtrace=1), populated for nothing.
const (
	renderPrefaultPerLimit = 0.9
	renderSparePerLimit    = 0.3
)

// renderLimitFor is the memory limit a render gets after a collection
// that left live bytes of live heap.
func renderLimitFor(live float64) int64 {
	limit := renderLimitBase + live*renderLimitPerLiveByte
	if live > renderLimitKnee {
		limit += (live - renderLimitKnee) * (renderLimitPerLiveByteAbove - renderLimitPerLiveByte)
	}
	if limit >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(limit)
}

// A renderUse tells renderStack what the process does after the render.
type renderUse int

const (
	renderThenExit   renderUse = iota // render, validate, diff: the process ends
	renderThenFollow                  // deploy, run: the process may follow the daemon for hours
)

// renderStack is transform.Render under the render's memory limit (see
// renderLimitPerLiveByte); with GOMEMLIMIT set, under defaultGCPercent.
// A render then exit has its heap populated first (renderPrefaultPerLimit);
// not one the process outlives, whose smaller heap would stay backed by the
// huge pages advised.
func renderStack(ctx context.Context, opts transform.Options, use renderUse) (*transform.Result, error) {
	if os.Getenv("GOGC") != "" {
		return transform.Render(ctx, opts)
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		debug.SetGCPercent(defaultGCPercent)
		return transform.Render(ctx, opts)
	}
	start := renderStartLimit(opts.Files)
	if use == renderThenExit && start > renderLimitMin {
		prefault.Heap(int64(float64(start)*renderPrefaultPerLimit), int64(float64(start)*renderSparePerLimit))
	}
	renderGC.begin(start)
	defer renderGC.end()
	return transform.Render(ctx, opts)
}

// renderStartLimit is the first memory limit of a render of files:
// renderLimitMin when a size is unknown (standard input, or a file that
// is not a regular one) or a file is larger than a stack file may be
// (the render reports both).
func renderStartLimit(files []string) int64 {
	var size int64
	for _, f := range files {
		if f == "-" {
			return renderLimitMin
		}
		st, err := os.Stat(f)
		if err != nil || !st.Mode().IsRegular() || st.Size() > load.MaxFileSize {
			return renderLimitMin
		}
		size += st.Size()
	}
	if size > (math.MaxInt64-renderLimitBase)/renderLimitPerInputByte {
		return math.MaxInt64
	}
	return max(renderLimitMin, renderLimitBase+renderLimitPerInputByte*size)
}

// renderGC holds the collector's settings while renders run (several at
// once in tests, which call run in one process).
var renderGC limitGuard

// limitGuard sets the collector for renders and raises the memory limit
// after each collection (see renderLimitPerLiveByte).
type limitGuard struct {
	mu      sync.Mutex
	running int   // renders under the guard
	limit   int64 // the memory limit set
	armed   bool  // a check is waiting for the next collection
}

// begin sets the collector for a render whose first limit is start (the
// largest of the running renders').
func (g *limitGuard) begin(start int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running++
	if g.running == 1 || start > g.limit {
		g.limit = start
		debug.SetMemoryLimit(start)
	}
	if g.running == 1 {
		debug.SetGCPercent(-1)
		if !g.armed {
			g.armed = true
			afterEachGC(g.check)
		}
	}
}

// end ends a render. After the last one the collector stays off under
// the last limit (no longer raised): the command writes its output and
// exits, or connects to the daemon, where followGC sets the collector for
// the rest. Returning to a percent here started a collection at once
// after small renders, for nothing.
func (g *limitGuard) end() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running--
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
	// The heap marked live by the last collection (MemStats has only the
	// heap in use now, which counts what was allocated since).
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return true
	}
	live := float64(sample[0].Value.Uint64())
	if want := renderLimitFor(live); want > g.limit {
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
