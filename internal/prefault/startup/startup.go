// Package startup, imported for its initialiser alone, has the kernel back
// in bulk the memory a Go program's package initialisers are about to
// fault in page by page: the program's machine code, and the heap's first
// 2-4 MiB.
//
// Package prefault says why bulk population pays on this project's
// machines (a page fault costs 10-25 µs under Firecracker with PVM). A
// program linking podtemplate's dependencies spends most of its start-up
// in faults: `podtemplate version` took about 800 of them, of which ~500
// were in the heap its dependencies' initialisers fill (compiled regular
// expressions, tables) and ~90 in its machine code, each of those a
// fault-around of 64 KiB. With this package about 390 (`perf stat -r 30`),
// and 24 -> 18 ms (medians of 40 runs, interleaved with the build
// without it); the heap's share varies from run to run (see populate). Its initialiser runs before theirs: Go initialises packages
// in import-path order once their dependencies are, and this one depends
// on syscall (through package madv) alone.
package startup
