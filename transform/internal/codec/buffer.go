package codec

import (
	"bytes"
	"sync"
)

// buffers are reused across the entries and labels a render encodes: one
// fresh buffer each cost an allocation and its clearing per service,
// though only the final string outlives the encoding.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooled is the largest buffer kept for reuse, so one huge entry does
// not pin its memory for the rest of the run.
const maxPooled = 1 << 20

// GetBuffer returns an empty buffer from the pool; give it back with
// PutBuffer once its contents are copied out (bytes.Buffer.String copies).
func GetBuffer() *bytes.Buffer {
	return buffers.Get().(*bytes.Buffer)
}

// PutBuffer returns b to the pool.
func PutBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooled {
		return
	}
	b.Reset()
	buffers.Put(b)
}
