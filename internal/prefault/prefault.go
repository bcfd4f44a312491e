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
	"os"
	"runtime"
	"runtime/metrics"
	"strings"
)

// MaxBytes bounds what Heap populates: memory the program may never use
// counts in its resident size until it exits.
const MaxBytes = 256 << 20

// minBytes is the least Heap populates; below it the collection Heap
// runs costs more than the faults it saves.
const minBytes = 4 << 20

// Heap makes the Go heap hold about n bytes (at most MaxBytes) of memory
// the kernel has backed, when it holds less: it allocates the missing
// bytes, has the kernel populate them, and collects, which leaves them
// free for the program's next allocations. It does nothing where the
// system cannot populate memory in bulk, or where GODEBUG=disablethp=1
// asks the runtime not to use huge pages.
func Heap(n int64) {
	n = min(n, MaxBytes)
	missing := n - int64(backed())
	if !bulkPopulate || missing < minBytes || strings.Contains(os.Getenv("GODEBUG"), "disablethp=1") {
		return
	}
	b := make([]byte, missing)
	populate(b)
	runtime.KeepAlive(b)
	runtime.GC()
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
