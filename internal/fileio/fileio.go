// Package fileio reads input files that must be regular files of bounded
// size, and writes output files atomically. It is the one place that
// writes files: the -o output, the HTTP template cache.
package fileio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// ErrNotRegular is a path that names a device, a FIFO, a socket or a
// directory where a regular file is needed.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is a file over the size limit.
var ErrTooLarge = errors.New("file too large")

// NotRegularError says what a non-regular path is.
type NotRegularError struct{ Mode fs.FileMode }

func (e *NotRegularError) Error() string {
	return "is " + Describe(e.Mode) + ", not a regular file"
}

// Is makes errors.Is(err, ErrNotRegular) true.
func (e *NotRegularError) Is(target error) bool { return target == ErrNotRegular }

// Describe names a file type for messages: "a directory", "a FIFO", ...
func Describe(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsRegular():
		return "a regular file"
	}
	return "not a regular file"
}

// ReadRegular reads the regular file at path, at most limit bytes. A
// device (/dev/zero), a FIFO (which would block until a writer comes),
// /dev/stdin or a directory is refused before it is read, and the file is
// opened without blocking, so a FIFO swapped in after the check cannot
// hang the read either. The returned errors are *fs.PathError-free: a
// *NotRegularError, ErrTooLarge or the system's error.
func ReadRegular(path string, limit int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, unwrapPath(err)
	}
	if !st.Mode().IsRegular() {
		return nil, &NotRegularError{Mode: st.Mode()}
	}
	if st.Size() > limit {
		return nil, ErrTooLarge
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, unwrapPath(err)
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return nil, unwrapPath(err)
	}
	if !st.Mode().IsRegular() {
		return nil, &NotRegularError{Mode: st.Mode()}
	}
	// Read into a buffer of the file's size and room for the read that
	// finds its end (io.ReadAll would grow a buffer from 512 bytes, taking
	// about twice the file's size more).
	b := bytes.NewBuffer(make([]byte, 0, min(st.Size(), limit)+bytes.MinRead))
	if _, err := b.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, unwrapPath(err)
	}
	if int64(b.Len()) > limit {
		return nil, ErrTooLarge
	}
	return b.Bytes(), nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// temps are the temporary files being written, removed by Cleanup when
// the process is stopped before a write finishes.
var temps sync.Map // path -> struct{}

// Cleanup removes every temporary file a write in progress has created.
// A signal handler calls it before the process exits.
func Cleanup() {
	temps.Range(func(k, _ any) bool {
		os.Remove(k.(string))
		temps.Delete(k)
		return true
	})
}

// WriteAtomic writes data to path through a temporary file in the same
// folder and a rename, so readers never see a partial file and a failed
// write leaves the old file as it was. A new file gets mode perm; an
// existing file keeps its own mode.
func WriteAtomic(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return unwrapPath(err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
		perm = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return unwrapPath(err)
	}
	name := tmp.Name()
	temps.Store(name, struct{}{})
	defer func() {
		os.Remove(name) // gone after the rename; removes a failed write
		temps.Delete(name)
	}()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	return unwrapPath(err)
}

// OutputError is a -o path that output may not be written to.
type OutputError struct {
	Path string
	Msg  string
	Err  error
}

func (e *OutputError) Error() string {
	s := "cannot write " + e.Path
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *OutputError) Unwrap() error { return e.Err }

// WriteOutput writes a command's output to path (-o), by these rules:
//
//   - a missing path or a regular file is replaced atomically (a new
//     file gets mode 0644, an existing one keeps its mode);
//   - a character device or a FIFO (/dev/null, /dev/stderr, a pipe) is
//     written as a stream: nothing is replaced, and a failed write
//     (/dev/full) is an error;
//   - a symbolic link is never replaced and never followed to a regular
//     file: -o names the file it replaces, so a link is an error unless it
//     leads to a stream (/dev/stdout is a link to a pipe or a terminal);
//   - a directory, socket or block device is an error.
func WriteOutput(path string, data []byte) error {
	lst, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return writeFile(path, data)
	}
	if err != nil {
		return &OutputError{Path: path, Err: unwrapPath(err)}
	}
	mode := lst.Mode()
	if mode&fs.ModeSymlink != 0 {
		st, err := os.Stat(path)
		if err != nil || !stream(st.Mode()) {
			target, _ := os.Readlink(path)
			return &OutputError{Path: path, Msg: fmt.Sprintf("it is a symbolic link (to %s); -o replaces only the regular file it names, so name the link's target instead", target)}
		}
		return writeStream(path, data)
	}
	switch {
	case mode.IsRegular():
		return writeFile(path, data)
	case stream(mode):
		return writeStream(path, data)
	}
	return &OutputError{Path: path, Msg: fmt.Sprintf("it is %s; -o writes a regular file, a character device or a FIFO", Describe(mode))}
}

func stream(m fs.FileMode) bool {
	return m&fs.ModeCharDevice != 0 || m&fs.ModeNamedPipe != 0
}

func writeFile(path string, data []byte) error {
	if err := WriteAtomic(path, data, 0o644); err != nil {
		return &OutputError{Path: path, Err: err}
	}
	return nil
}

func writeStream(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return &OutputError{Path: path, Err: unwrapPath(err)}
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return &OutputError{Path: path, Err: unwrapPath(err)}
	}
	return nil
}
