// Package prefault has the kernel back a program's heap in bulk before
// the program touches it.
//
// A program that builds a large heap from nothing (a render of thousands
// of services grows it to tens of MiB in a tenth of a second) otherwise
// takes one page fault for each 4 KiB it touches first. On virtual
// machines whose guest page tables are shadowed by the host (Firecracker
// with PVM, as this project's machines run) a fault costs 10-25 µs, and
// the faults of a 3 000-service render took about a third of its wall
// time. Populating the same memory as transparent huge pages in one call
// costs about a twentieth of that (64 MiB: 9-11 ms against 188 ms of
// touching it page by page, measured on such a machine).
package prefault

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"

	"github.com/podtemplate/podtemplate/internal/prefault/madv"
)

// maxBytes bounds what Heap allocates: memory the program may never use
// counts in its resident size until it exits. A 30 000-service render
// (12 MB of input) asks for 286 MiB and 95 MiB spare; with 256 MiB it got
// 256 and no spare, and its time grew faster than its size from 3 000
// services (bench.sh's exponent 1.13): at 512 MiB, 1.78 -> 1.59 s and
// page faults 58 470 -> 36 766 (interleaved, medians of 3).
const maxBytes = 512 << 20

// minBytes is the least Heap populates; below it the collection Heap
// runs costs more than the faults it saves.
const minBytes = 4 << 20

// refused is set once the kernel refused to populate memory: later calls
// do nothing.
var refused atomic.Bool

// Heap has the Go heap hold about n bytes of memory the kernel has
// backed, when it holds less, with spare bytes more above them advised
// as huge pages: it allocates the missing and the spare bytes (at most
// 512 MiB in all), has the kernel populate the first and mark all of
// them as huge pages, and collects, which leaves them free for the
// program's next allocations (lowest addresses first). The spare bytes
// are for a heap that goes on growing: the runtime releases what it
// holds above a memory limit (highest addresses first) at its next
// collection, and memory grown into again after that faults in as huge
// pages, one fault for each 2 MiB.
//
// Heap does nothing where the system cannot populate memory in bulk, or
// where GODEBUG=disablethp=1 in the environment asks the runtime not to
// use huge pages. The advice stays on the memory after Heap: a process
// that goes on running for long with a smaller heap should not call it
// (the kernel may keep released memory backed as huge pages).
func Heap(n, spare int64) { heap(n, spare, maxBytes) }

// heap is Heap with max the most it allocates; it reports whether it
// populated memory.
func heap(n, spare, max int64) bool {
	missing := n - int64(backed())
	if !bulkPopulate || refused.Load() || missing < minBytes || !madv.HugePagesAllowed() {
		return false
	}
	missing = min(missing, max)
	spare = min(spare, max-missing)
	// Collecting before the memory is free would only mark it.
	gcPercent := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(gcPercent)
	b := make([]byte, missing+spare)
	ok := populate(b, int(missing))
	runtime.KeepAlive(b)
	runtime.GC()
	if !ok {
		refused.Store(true)
	}
	return ok
}

// backed is the memory the runtime has mapped and not released to the
// system.
func backed() uint64 {
	s := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64() - s[1].Value.Uint64()
}
