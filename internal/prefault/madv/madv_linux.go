package madv

import "syscall"

// Advice, as Linux numbers it.
const (
	HugePage      = 14 // MADV_HUGEPAGE
	PopulateRead  = 22 // MADV_POPULATE_READ, Linux 5.14 and later
	PopulateWrite = 23 // MADV_POPULATE_WRITE, Linux 5.14 and later
)

// Advise gives the kernel advice on the n bytes at addr.
func Advise(addr, n, advice uintptr) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, addr, n, advice); errno != 0 {
		return errno
	}
	return nil
}
