package startup

import (
	"bufio"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// smapsEntry is one mapping of /proc/self/smaps, with its sizes in KiB.
type smapsEntry struct {
	lo, hi uintptr
	kib    map[string]int
}

func readSmaps(t *testing.T) []smapsEntry {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	var entries []smapsEntry
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) == 0 {
			continue
		}
		if r := strings.SplitN(fields[0], "-", 2); len(r) == 2 && !strings.HasSuffix(fields[0], ":") {
			lo, err1 := strconv.ParseUint(r[0], 16, 64)
			hi, err2 := strconv.ParseUint(r[1], 16, 64)
			if err1 == nil && err2 == nil {
				entries = append(entries, smapsEntry{lo: uintptr(lo), hi: uintptr(hi), kib: map[string]int{}})
				continue
			}
		}
		if len(entries) > 0 && len(fields) >= 2 && strings.HasSuffix(fields[0], ":") {
			if n, err := strconv.Atoi(fields[1]); err == nil {
				entries[len(entries)-1].kib[strings.TrimSuffix(fields[0], ":")] = n
			}
		}
	}
	return entries
}

func entryOf(t *testing.T, p uintptr) smapsEntry {
	t.Helper()
	for _, e := range readSmaps(t) {
		if e.lo <= p && p < e.hi {
			return e
		}
	}
	t.Fatalf("no mapping holds %#x", p)
	return smapsEntry{}
}

// skipWithoutPopulate skips where the kernel cannot populate in bulk
// (before Linux 5.14): the initialiser then does nothing.
func skipWithoutPopulate(t *testing.T) {
	t.Helper()
	b, err := syscall.Mmap(-1, 0, 4096, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Skip(err)
	}
	defer syscall.Munmap(b)
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(unsafe.Pointer(&b[0])), 4096, madvPopulateWrite); errno != 0 {
		t.Skipf("the kernel cannot populate memory in bulk: %v", errno)
	}
}

func TestPopulateAdvice(t *testing.T) {
	maps := []byte(`00400000-00af8000 r-xp 00000000 fe:00 9986209                            /usr/bin/podtemplate
00af8000-01297000 r--p 006f8000 fe:00 9986209                            /usr/bin/podtemplate
1eba24000000-1eba25c00000 ---p 00000000 00:00 0
1eba25c00000-1eba26000000 rw-p 00000000 00:00 0
1eba26000000-1eba26400000 rw-p 00000000 00:00 0
7ffef50b6000-7ffef50d7000 rw-p 00000000 00:00 0                          [stack]
7ffef50d8000-7fff`)
	type advice struct{ addr, n, advice uintptr }
	for _, c := range []struct {
		name       string
		code, heap uintptr
		want       []advice
	}{
		{"heap near its mapping's start", 0x4a0000, 0x1eba25c81230, []advice{
			{0x400000, 0x6f8000, madvPopulateRead},
			{0x1eba25c00000, 4 << 20, madvHugePage},
			{0x1eba25c00000, 4 << 20, madvPopulateWrite},
		}},
		{"heap near its mapping's end: up to the end", 0x400000, 0x1eba25e00010, []advice{
			{0x400000, 0x6f8000, madvPopulateRead},
			{0x1eba25e00000, 2 << 20, madvHugePage},
			{0x1eba25e00000, 2 << 20, madvPopulateWrite},
		}},
		{"addresses in no mapping: nothing", 0x300000, 0x1000, nil},
		{"a line cut short is left out", 0x300000, 0x7ffef50d8010, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []advice
			populate(maps, c.code, c.heap, func(addr, n, a uintptr) { got = append(got, advice{addr, n, a}) })
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("advice %x, want %x", got, c.want)
			}
		})
	}
}

func TestHeapStartIsPopulated(t *testing.T) {
	skipWithoutPopulate(t)
	heap := uintptr(unsafe.Pointer(firstHeapObject))
	lo := heap &^ (hugePageBytes - 1)
	e := entryOf(t, heap)
	want := (min(e.hi, lo+heapBytes) - max(lo, e.lo)) >> 10
	if rss := e.kib["Rss"]; rss < int(want) {
		t.Errorf("heap mapping %#x-%#x: %d KiB resident, want at least the %d KiB populated at start", e.lo, e.hi, rss, want)
	}
}

func TestContainsWord(t *testing.T) {
	for _, c := range []struct {
		s    string
		want bool
	}{
		{"disablethp=1", true},
		{"gctrace=1,disablethp=1", true},
		{"disablethp=1,gctrace=1", true},
		{"disablethp=10", false},
		{"xdisablethp=1", false},
		{"", false},
	} {
		if got := containsWord(c.s, "disablethp=1"); got != c.want {
			t.Errorf("containsWord(%q) = %v, want %v", c.s, got, c.want)
		}
	}
}

// TestImportsSyscallAlone keeps the initialiser ahead of the
// dependencies': each package imported here initialises first, with
// everything it imports in turn (bytes would bring unicode's tables).
func TestImportsSyscallAlone(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if path := strings.Trim(imp.Path.Value, `"`); path != "syscall" && path != "unsafe" {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
}
