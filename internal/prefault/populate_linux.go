package prefault

import (
	"unsafe"

	"github.com/podtemplate/podtemplate/internal/prefault/madv"
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
	madv.Advise(start, end-start, madv.HugePage)
	return madv.Advise(start, filled-start, madv.PopulateWrite) == nil
}

func alignUp(p uintptr) uintptr   { return alignDown(p + madv.HugePageBytes - 1) }
func alignDown(p uintptr) uintptr { return p &^ (madv.HugePageBytes - 1) }
