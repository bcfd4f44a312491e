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

// populate asks the kernel to back the huge pages inside b, as huge pages
// where transparent huge pages are allowed (the system's "madvise"
// setting, the usual default, allows them for memory advised so). It
// reports whether the kernel populated them.
func populate(b []byte) bool {
	base := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	start := (base + hugePageBytes - 1) &^ (hugePageBytes - 1)
	end := (base + uintptr(len(b))) &^ (hugePageBytes - 1)
	if end <= start {
		return false
	}
	// Without huge pages the populated memory is still cheaper than
	// faulting it in, so a refusal here is not an error.
	madvise(start, end-start, madvHugePage)
	return madvise(start, end-start, madvPopulateWrite) == nil
}

func madvise(addr, n uintptr, advice int) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, addr, n, uintptr(advice)); errno != 0 {
		return errno
	}
	return nil
}
