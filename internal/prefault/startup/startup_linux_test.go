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

	"github.com/podtemplate/podtemplate/internal/prefault/madv"
)

// smapsEntry is one mapping of /proc/self/smaps: its range, permissions
// and sizes in KiB.
type smapsEntry struct {
	lo, hi uintptr
	perms  string
	kib    map[string]int
}

func entryOf(t *testing.T, p uintptr) smapsEntry {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	var e *smapsEntry
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 2 && !strings.HasSuffix(fields[0], ":") {
			if e != nil {
				break
			}
			lo, hi, _ := strings.Cut(fields[0], "-")
			l, err1 := strconv.ParseUint(lo, 16, 64)
			h, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 == nil && err2 == nil && uintptr(l) <= p && p < uintptr(h) {
				e = &smapsEntry{lo: uintptr(l), hi: uintptr(h), perms: fields[1], kib: map[string]int{}}
			}
			continue
		}
		if e != nil && len(fields) >= 2 {
			if n, err := strconv.Atoi(fields[1]); err == nil {
				e.kib[strings.TrimSuffix(fields[0], ":")] = n
			}
		}
	}
	if e == nil {
		t.Fatalf("no mapping holds %#x", p)
	}
	return *e
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
	if err := madv.Advise(uintptr(unsafe.Pointer(&b[0])), 4096, madv.PopulateWrite); err != nil {
		t.Skipf("the kernel cannot populate memory in bulk: %v", err)
	}
}

func TestPopulateAdvice(t *testing.T) {
	maps := []byte(`00400000-00af8000 r-xp 00000000 fe:00 9986209                            /usr/bin/podtemplate
00af8000-01297000 r--p 006f8000 fe:00 9986209                            /usr/bin/podtemplate
24000000-25c00000 ---p 00000000 00:00 0
25c00000-26000000 rw-p 00000000 00:00 0
26000000-26400000 rw-p 00000000 00:00 0
7ffe0000-7fff0000 rw-p 00000000 00:00 0                          [stack]
7fff1000-7fff`)
	type advice struct{ addr, n, advice uintptr }
	for _, c := range []struct {
		name       string
		code, heap uintptr
		hugePages  bool
		want       []advice
	}{
		{"heap low in its mapping: 4 MiB from its huge page", 0x4a0000, 0x25c81230, true, []advice{
			{0x400000, 0x6f8000, madv.PopulateRead},
			{0x25c00000, 4 << 20, madv.HugePage},
			{0x25c00000, 4 << 20, madv.PopulateWrite},
		}},
		{"heap high in its mapping: up to the mapping's end", 0x400000, 0x25e00010, true, []advice{
			{0x400000, 0x6f8000, madv.PopulateRead},
			{0x25e00000, 2 << 20, madv.HugePage},
			{0x25e00000, 2 << 20, madv.PopulateWrite},
		}},
		{"GODEBUG=disablethp=1: no huge pages", 0x400000, 0x25c81230, false, []advice{
			{0x400000, 0x6f8000, madv.PopulateRead},
			{0x25c00000, 4 << 20, madv.PopulateWrite},
		}},
		{"addresses in no mapping: nothing", 0x300000, 0x1000, true, nil},
		{"a line cut short is left out", 0x300000, 0x7fff1010, true, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []advice
			populate(maps, c.code, c.heap, c.hugePages, func(addr, n, a uintptr) { got = append(got, advice{addr, n, a}) })
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("advice %x, want %x", got, c.want)
			}
		})
	}
}

func TestCodeAddressIsMachineCode(t *testing.T) {
	if e := entryOf(t, codeAddress()); !strings.Contains(e.perms, "x") {
		t.Errorf("codeAddress %#x is in %#x-%#x %s, not in executable code", codeAddress(), e.lo, e.hi, e.perms)
	}
}

func TestHeapStartIsPopulated(t *testing.T) {
	skipWithoutPopulate(t)
	heap := uintptr(unsafe.Pointer(firstHeapObject))
	e := entryOf(t, heap)
	lo := max(e.lo, heap&^(madv.HugePageBytes-1))
	want := (min(e.hi, lo+heapBytes) - lo) >> 10
	// Without the initialiser the test has touched a few hundred KiB of
	// it by now.
	if rss := e.kib["Rss"]; rss < int(want) {
		t.Errorf("heap mapping %#x-%#x: %d KiB resident, want at least the %d KiB populated at start", e.lo, e.hi, rss, want)
	}
}

// TestImportsSyscallAlone keeps the initialiser ahead of the
// dependencies': each package imported here initialises first, with
// everything it imports in turn (bytes would bring unicode's tables).
func TestImportsSyscallAlone(t *testing.T) {
	for _, dir := range []string{".", "../madv"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
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
				switch path := strings.Trim(imp.Path.Value, `"`); path {
				case "syscall", "unsafe", "github.com/podtemplate/podtemplate/internal/prefault/madv":
				default:
					t.Errorf("%s imports %s", name, path)
				}
			}
		}
	}
}
