// Package parts runs the work on a large stack's services in concurrent
// parts: load's key walk and interpolation, and config's decoding, each
// on ranges of the services mapping, joined in document order.
package parts

import (
	"runtime"
	"sync"
)

// Min is the fewest items a part gets: fewer are worked on in one go.
const Min = 256

// Split is n items cut into Count ranges of Per items (the last may have
// fewer), one a goroutine.
type Split struct{ N, Per, Count int }

// Of splits n items into about one range a CPU, each of at least Min
// items; Count is 1 (one range of all n) on one CPU or with fewer than
// 2*Min items.
func Of(n int) Split {
	procs := runtime.GOMAXPROCS(0)
	if procs < 2 || n < 2*Min {
		return Split{N: n, Per: n, Count: 1}
	}
	per := max(Min, (n+procs-1)/procs)
	return Split{N: n, Per: per, Count: (n + per - 1) / per}
}

// Run calls work(i, lo, hi) for each range i, items lo to hi, on a
// goroutine of its own (on the caller's when there is one range) and
// returns their errors in range order once all are done.
func (s Split) Run(work func(i, lo, hi int) error) []error {
	errs := make([]error, s.Count)
	if s.Count == 1 {
		errs[0] = work(0, 0, s.N)
		return errs
	}
	var wg sync.WaitGroup
	for i := range errs {
		lo, hi := i*s.Per, min((i+1)*s.Per, s.N)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = work(i, lo, hi)
		}()
	}
	wg.Wait()
	return errs
}
