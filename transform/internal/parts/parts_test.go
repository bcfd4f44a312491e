package parts

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
)

// TestRunCoversEveryItemOnce checks that a split's ranges cover the n
// items once, in order, and that errors come back in range order.
func TestRunCoversEveryItemOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	for _, tc := range []struct{ n, count int }{{0, 1}, {511, 1}, {512, 2}, {768, 3}, {3000, 3}} {
		s := Of(tc.n)
		if s.Count != tc.count {
			t.Errorf("Of(%d) makes %d parts, want %d", tc.n, s.Count, tc.count)
		}
		seen := make([]int, tc.n)
		starts := make([]int, s.Count)
		errs := s.Run(func(i, lo, hi int) error {
			starts[i] = lo
			if hi-lo < Min && s.Count > 1 && hi != tc.n {
				return fmt.Errorf("part %d has %d items", i, hi-lo)
			}
			for j := lo; j < hi; j++ {
				seen[j]++
			}
			return fmt.Errorf("part %d", i)
		})
		for j, c := range seen {
			if c != 1 {
				t.Fatalf("n=%d: item %d worked on %d times", tc.n, j, c)
			}
		}
		for i, err := range errs {
			if want := fmt.Sprintf("part %d", i); err == nil || err.Error() != want || (i > 0 && starts[i] <= starts[i-1]) {
				t.Errorf("n=%d: errs[%d] = %v (start %d), want %q in order", tc.n, i, err, starts[i], want)
			}
		}
	}
	runtime.GOMAXPROCS(1)
	if s := Of(5000); s.Count != 1 || len(s.Run(func(int, int, int) error { return errors.New("x") })) != 1 {
		t.Errorf("on one CPU Of(5000) makes %d parts, want 1", s.Count)
	}
}
