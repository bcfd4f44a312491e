package startup

import (
	"syscall"
	"unsafe"

	"github.com/podtemplate/podtemplate/internal/prefault/madv"
)

// heapBytes is the most of the heap populated: what the initialisers of
// podtemplate's dependencies allocate (about 1.5 MiB) and some.
const heapBytes = 2 * madv.HugePageBytes

// mapsBufferBytes holds /proc/self/maps at start-up: a Go program has a
// few dozen mappings then, about 100 bytes each.
const mapsBufferBytes = 16 << 10

// firstHeapObject keeps the object whose address tells where the heap is.
var firstHeapObject *[16]byte

func init() {
	firstHeapObject = new([16]byte)
	var buf [mapsBufferBytes]byte
	populate(readMaps(buf[:]), codeAddress(), uintptr(unsafe.Pointer(firstHeapObject)), madv.HugePagesAllowed(), advise)
}

// populate gives advice on the mappings listed in maps (/proc/self/maps's
// text): the kernel is to populate the one holding the machine code at
// code, and the one holding the heap object at heap from the huge page
// holding it, up to heapBytes, as huge pages where hugePages allows.
//
// The heap grows upwards from its first objects (Go 1.26 starts it at a
// random page of its first mapping), into mappings the runtime makes
// later, which cannot be populated beforehand: so 2-4 MiB are populated
// ahead of the first object when it lies low in its mapping, less when it
// lies high.
func populate(maps []byte, code, heap uintptr, hugePages bool, advise func(addr, n, advice uintptr)) {
	for m := range mappings(maps) {
		switch {
		case m.contains(code):
			advise(m.lo, m.hi-m.lo, madv.PopulateRead)
		case m.contains(heap):
			lo := max(m.lo, heap&^(madv.HugePageBytes-1))
			hi := min(m.hi, lo+heapBytes)
			if hugePages {
				advise(lo, hi-lo, madv.HugePage)
			}
			advise(lo, hi-lo, madv.PopulateWrite)
		}
	}
}

// codeAddress is the address of this package's machine code: a func value
// points at a word holding its code's address.
func codeAddress() uintptr {
	f := codeAddress
	return **(**uintptr)(unsafe.Pointer(&f))
}

// advise is madv.Advise for populate: a kernel without the advice (before
// 5.14) refuses it, and the program then faults the memory in, as it
// would without this package.
func advise(addr, n, advice uintptr) { _ = madv.Advise(addr, n, advice) }

// readMaps reads /proc/self/maps into buf, as much as fits.
func readMaps(buf []byte) []byte {
	fd, err := syscall.Open("/proc/self/maps", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer syscall.Close(fd)
	n := 0
	for n < len(buf) {
		m, err := syscall.Read(fd, buf[n:])
		if err != nil || m <= 0 {
			break
		}
		n += m
	}
	return buf[:n]
}

type mapping struct{ lo, hi uintptr }

func (m mapping) contains(p uintptr) bool { return m.lo <= p && p < m.hi }

// mappings yields the address ranges of /proc/self/maps's lines
// ("lo-hi perms ...", in hexadecimal); a last line without its newline,
// cut by a full buffer, is left out.
func mappings(maps []byte) func(yield func(mapping) bool) {
	return func(yield func(mapping) bool) {
		for {
			end := 0
			for end < len(maps) && maps[end] != '\n' {
				end++
			}
			if end == len(maps) {
				return
			}
			line := maps[:end]
			maps = maps[end+1:]
			var m mapping
			i := 0
			for ; i < len(line) && line[i] != '-'; i++ {
				m.lo = m.lo<<4 | hexDigit(line[i])
			}
			for i++; i < len(line) && line[i] != ' '; i++ {
				m.hi = m.hi<<4 | hexDigit(line[i])
			}
			if !yield(m) {
				return
			}
		}
	}
}

func hexDigit(c byte) uintptr {
	switch {
	case '0' <= c && c <= '9':
		return uintptr(c - '0')
	case 'a' <= c && c <= 'f':
		return uintptr(c-'a') + 10
	}
	return 0
}
