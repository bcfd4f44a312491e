package fetch

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/podtemplate/podtemplate/internal/fileio"
	"github.com/podtemplate/podtemplate/transform/diag"
)

// The cache is best effort: a missing, unreadable or corrupt entry is a
// miss, and a failure to write one never fails a fetch.

func (f *Fetcher) blobPath(hexDigest string) string {
	return filepath.Join(f.cacheDir, "sha256", hexDigest)
}

// indexPath names rawURL's index entry by a digest of the URL without its
// credentials (the same resource whoever fetches it).
func (f *Fetcher) indexPath(rawURL string) string {
	return filepath.Join(f.cacheDir, "urls", digest([]byte(withoutUser(rawURL))))
}

// withoutUser drops the user part (credentials) of rawURL.
func withoutUser(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		return rawURL
	}
	u.User = nil
	return u.String()
}

// readBlob returns the cached body with the given digest, verifying it.
func (f *Fetcher) readBlob(hexDigest string) ([]byte, bool) {
	if f.cacheDir == "" {
		return nil, false
	}
	body, err := os.ReadFile(f.blobPath(hexDigest))
	if err != nil || int64(len(body)) > f.maxSize || digest(body) != hexDigest {
		return nil, false
	}
	return body, true
}

// readByURL returns the body last fetched from rawURL, via the URL index.
func (f *Fetcher) readByURL(rawURL string) ([]byte, bool) {
	if f.cacheDir == "" {
		return nil, false
	}
	idx, err := os.ReadFile(f.indexPath(rawURL))
	if err != nil {
		return nil, false
	}
	// The first line is the digest; the second, the URL (for people).
	line, _, _ := strings.Cut(string(idx), "\n")
	pin, err := NormalizeSHA256(line)
	if err != nil || pin == "" {
		return nil, false
	}
	return f.readBlob(pin)
}

// store writes body to the cache and points rawURL's index entry at it.
func (f *Fetcher) store(rawURL string, body []byte) {
	if f.cacheDir == "" {
		return
	}
	d := digest(body)
	if _, ok := f.readBlob(d); !ok {
		if fileio.WriteAtomic(f.blobPath(d), body, 0o644) != nil {
			return
		}
	}
	idx := []byte(d + "\n" + diag.RedactURL(rawURL) + "\n")
	if cur, err := os.ReadFile(f.indexPath(rawURL)); err == nil && bytes.Equal(cur, idx) {
		return
	}
	_ = fileio.WriteAtomic(f.indexPath(rawURL), idx, 0o644)
}
