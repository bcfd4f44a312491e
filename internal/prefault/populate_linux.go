package prefault

import (
	"syscall"
	"unsafe"
)

const (
	hugePageBytes     = 2 << 20
	madvHugePage      = 14 // MADV_HUGEPAGE
	madvPopulateWrite = 23 // MADV_POPULATE_WRITE, Linux 5.14 and later
)

// bulkPopulate tells whether populate may populate memory.
const bulkPopulate = true

// populate asks the kernel to back the first n bytes of b, as huge pages
// where transparent huge pages are allowed for memory advised so (the
// system's "madvise" setting, the usual default), and advises the rest of
// b as huge pages too. Only whole huge pages inside b are advised. It
// reports whether the kernel populated the memory.
func populate(b []byte, n int) bool {
	base := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	start := alignUp(base)
	end := alignDown(base + uintptr(len(b)))
	filled := min(alignDown(base+uintptr(n)), end)
	if filled <= start {
		return false
	}
	// Without huge pages the populated memory is still cheaper than
	// faulting it in, so a refusal here is not an error.
	madvise(start, end-start, madvHugePage)
	return madvise(start, filled-start, madvPopulateWrite) == nil
}

func alignUp(p uintptr) uintptr   { return alignDown(p + hugePageBytes - 1) }
func alignDown(p uintptr) uintptr { return p &^ (hugePageBytes - 1) }

func madvise(addr, n uintptr, advice int) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, addr, n, uintptr(advice)); errno != 0 {
		return errno
	}
	return nil
}
