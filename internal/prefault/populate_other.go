//go:build !linux

package prefault

// bulkPopulate tells whether populate may populate memory: not here.
const bulkPopulate = false

// populate does nothing here.
func populate([]byte, int) bool { return false }
