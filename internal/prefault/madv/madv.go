// Package madv gives the kernel advice on a program's memory (madvise),
// for packages prefault and prefault/startup. It imports syscall alone:
// startup's initialiser has to run before the dependencies', and Go runs
// every package a package imports first.
package madv

import "syscall"

// HugePageBytes is the size of a transparent huge page (x86-64, arm64
// with 4 KiB pages).
const HugePageBytes = 2 << 20

// HugePagesAllowed reports whether GODEBUG leaves the runtime its huge
// pages: disablethp=1 asks it not to use them (the last setting of a
// name wins, as the runtime reads it).
func HugePagesAllowed() bool {
	godebug, _ := syscall.Getenv("GODEBUG")
	allowed := true
	for len(godebug) > 0 {
		i := 0
		for i < len(godebug) && godebug[i] != ',' {
			i++
		}
		switch godebug[:i] {
		case "disablethp=1":
			allowed = false
		case "disablethp=0":
			allowed = true
		}
		if i == len(godebug) {
			break
		}
		godebug = godebug[i+1:]
	}
	return allowed
}
