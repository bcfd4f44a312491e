package startup

import (
	"syscall"
	"unsafe"
)

const (
	hugePageBytes     = 2 << 20
	heapBytes         = 2 * hugePageBytes
	madvHugePage      = 14 // MADV_HUGEPAGE
	madvPopulateRead  = 22 // MADV_POPULATE_READ, Linux 5.14 and later
	madvPopulateWrite = 23 // MADV_POPULATE_WRITE, Linux 5.14 and later
)

// mapsBufferBytes holds /proc/self/maps at start-up: a Go program has a
// few dozen mappings then, about 100 bytes each.
const mapsBufferBytes = 16 << 10

// firstHeapObject keeps the object whose address tells where the heap is.
var firstHeapObject *[16]byte

func init() {
	if godebug, _ := syscall.Getenv("GODEBUG"); containsWord(godebug, "disablethp=1") {
		return
	}
	firstHeapObject = new([16]byte)
	var buf [mapsBufferBytes]byte
	populate(readMaps(buf[:]), codeAddress(), uintptr(unsafe.Pointer(firstHeapObject)), madvise)
}

// populate gives advice on the mappings listed in maps (/proc/self/maps's
// text): the kernel is to populate the one holding the machine code at
// code, and 4 MiB of the one holding the heap object at heap, from the
// huge page holding it, as huge pages.
func populate(maps []byte, code, heap uintptr, advise func(addr, n, advice uintptr)) {
	for m := range mappings(maps) {
		switch {
		case m.contains(code):
			advise(m.lo, m.hi-m.lo, madvPopulateRead)
		case m.contains(heap):
			// The heap grows upwards from its first object; 4 MiB hold
			// what the initialisers allocate.
			lo := max(m.lo, heap&^(hugePageBytes-1))
			hi := min(m.hi, lo+heapBytes)
			advise(lo, hi-lo, madvHugePage)
			advise(lo, hi-lo, madvPopulateWrite)
		}
	}
}

// codeAddress is the address of this package's machine code: a func value
// points at a word holding its code's address.
func codeAddress() uintptr {
	f := codeAddress
	return **(**uintptr)(unsafe.Pointer(&f))
}

func madvise(addr, n, advice uintptr) {
	// A kernel without the advice (before 5.14) refuses it: the program
	// then faults the memory in, as it would without this package.
	syscall.Syscall(syscall.SYS_MADVISE, addr, n, advice)
}

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

// containsWord tells whether the comma-separated list s holds w.
func containsWord(s, w string) bool {
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != ',' {
			i++
		}
		if s[:i] == w {
			return true
		}
		if i == len(s) {
			break
		}
		s = s[i+1:]
	}
	return false
}
