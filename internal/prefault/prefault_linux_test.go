package prefault

import (
	"runtime"
	"syscall"
	"testing"

	"github.com/podtemplate/podtemplate/internal/prefault/madv"
)

// minorFaults is the process's count of page faults served without I/O.
func minorFaults(t *testing.T) int64 {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return int64(ru.Minflt)
}

// touchNew allocates n bytes in 64 KiB blocks, writes every page and
// returns the blocks (kept alive by the caller).
func touchNew(n int) [][]byte {
	var blocks [][]byte
	for ; n > 0; n -= 64 << 10 {
		b := make([]byte, 64<<10)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		blocks = append(blocks, b)
	}
	return blocks
}

// skipWithoutBulk skips where this system cannot populate memory in bulk.
func skipWithoutBulk(t *testing.T) {
	t.Helper()
	if !madv.HugePagesAllowed() {
		t.Skip("GODEBUG=disablethp=1 turns Heap off")
	}
	probe := make([]byte, 8<<20)
	if !populate(probe, len(probe)) {
		t.Skip("this kernel cannot populate memory in bulk (MADV_POPULATE_WRITE needs Linux 5.14)")
	}
	runtime.KeepAlive(probe)
}

// TestHeapSavesFaults checks the point of Heap: the heap memory a program
// allocates after it is already backed, so writing it takes a few page
// faults instead of one per page. Without Heap, writing 32 MiB of new heap
// takes about 8 000.
func TestHeapSavesFaults(t *testing.T) {
	skipWithoutBulk(t)
	before := backed()
	if !heap(int64(before)+64<<20, 0, maxBytes) {
		t.Fatal("heap populated nothing")
	}
	if got := backed(); got < before+48<<20 {
		t.Fatalf("after Heap(+64 MiB) the runtime holds %d MiB, had %d MiB", got>>20, before>>20)
	}
	faults := minorFaults(t)
	blocks := touchNew(32 << 20)
	if got := minorFaults(t) - faults; got > 2000 {
		t.Errorf("writing 32 MiB of new heap after Heap took %d page faults, want a few hundred at most", got)
	}
	runtime.KeepAlive(blocks)
}

// TestHeapOnlyWhatIsMissing checks that Heap allocates nothing when the
// runtime already holds the memory asked for (a second render in one
// process), and never more than its bound.
func TestHeapOnlyWhatIsMissing(t *testing.T) {
	skipWithoutBulk(t)
	allocated := func() uint64 {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.TotalAlloc
	}
	have := backed()
	a := allocated()
	if heap(int64(have)-1<<20, 1<<20, maxBytes) {
		t.Error("heap of less than the runtime holds populated memory")
	}
	if got := allocated() - a; got >= minBytes {
		t.Errorf("heap of less than the runtime holds allocated %d bytes", got)
	}
	const bound = 16 << 20
	a = allocated()
	heap(1<<40, 1<<40, bound)
	if got := allocated() - a; got > bound+1<<20 {
		t.Errorf("heap(1 TiB) with a bound of 16 MiB allocated %d MiB", got>>20)
	}
}
