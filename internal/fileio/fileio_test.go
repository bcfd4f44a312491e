package fileio

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestReadRegularReadsWholeFiles checks that files around the read
// sizes come back whole, and that one over the limit is refused.
func TestReadRegularReadsWholeFiles(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 511, 512, 513, 4096, 100_003} {
		data := bytes.Repeat([]byte("0123456789abcdef\n"), size/17+1)[:size]
		path := filepath.Join(dir, "f")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := ReadRegular(path, int64(size))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("size %d: got %d bytes, %v", size, len(got), err)
		}
		if size > 0 {
			if _, err := ReadRegular(path, int64(size-1)); !errors.Is(err, ErrTooLarge) {
				t.Errorf("size %d, limit %d: got %v, want ErrTooLarge", size, size-1, err)
			}
		}
	}
	if _, err := ReadRegular(dir, 1<<20); !errors.Is(err, ErrNotRegular) {
		t.Errorf("a directory: got %v, want ErrNotRegular", err)
	}
}
