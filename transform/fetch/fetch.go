// Package fetch downloads HTTP(S) templates for the compiler.
//
// A Fetcher is made once per run. It shares one network request between all
// concurrent and repeated fetches of the same URL (results and errors are
// memoized for the life of the Fetcher), bounds every request with a timeout
// and a size limit, checks optional sha256 pins, and keeps a
// content-addressed on-disk cache that pinned requests and offline runs are
// served from:
//
//	CacheDir/sha256/<hex digest>   the bodies, named by their own digest
//	CacheDir/urls/<sha256 of URL>  the digest last fetched from that URL
//
// Every error returned by Fetch is an *Error whose Kind says what failed;
// the compiler treats any of them as "fetch failed" and decides whether a
// fallback applies.
package fetch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/podtemplate/podtemplate/internal/duration"
	"github.com/podtemplate/podtemplate/transform/diag"
)

// DefaultTimeout bounds one request (connect, TLS, headers and body) when
// Options.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// DefaultMaxSize is the largest body accepted when Options.MaxSize is zero.
const DefaultMaxSize int64 = 1 << 20

// MaxParallel is how many requests FetchAll runs at once.
const MaxParallel = 8

// Options configure a Fetcher. The zero value is usable: 10s timeout, 1 MiB
// limit, no cache, online.
type Options struct {
	Timeout  time.Duration // per request, including reading the body; DefaultTimeout when zero
	MaxSize  int64         // largest accepted body in bytes; DefaultMaxSize when zero
	CacheDir string        // content-addressed cache; "" disables the cache
	Offline  bool          // never touch the network: serve from the cache or fail
	Client   *http.Client  // optional (tests); else one honouring HTTP(S)_PROXY/NO_PROXY. Insecure requests use a copy without TLS verification
}

// Request names one template to fetch.
type Request struct {
	// URL is the http:// or https:// address of the template.
	URL string
	// SHA256 optionally pins the body to a hex digest. Upper or lower case
	// is accepted, with or without a "sha256:" prefix.
	SHA256 string
	// Insecure skips TLS certificate verification for this request only.
	Insecure bool
}

// Result is the outcome of one Request in FetchAll.
type Result struct {
	Request Request
	Body    []byte // nil when Err is set
	Err     error  // nil or an *Error
}

// ErrorKind classifies fetch failures.
type ErrorKind int

const (
	// KindNetwork is a failure to connect or to read the response: DNS,
	// refused connection, TLS verification, reset, and the like.
	KindNetwork ErrorKind = iota + 1
	// KindTimeout means the request did not finish within Options.Timeout.
	KindTimeout
	// KindStatus means the server answered with a non-2xx status.
	KindStatus
	// KindTooLarge means the body is larger than Options.MaxSize.
	KindTooLarge
	// KindChecksum means the body does not match the request's SHA256 pin.
	KindChecksum
	// KindOffline means the fetcher is offline and the template is not in
	// the cache.
	KindOffline
	// KindInvalid means the request itself is malformed: not an http(s)
	// URL, or a SHA256 pin that is not 64 hex digits.
	KindInvalid
	// KindCanceled means the caller's context ended before the fetch did.
	// Unlike the other kinds it says nothing about the template; callers
	// usually stop rather than fall back.
	KindCanceled
)

// String returns a short lower-case name for the kind, such as "timeout".
func (k ErrorKind) String() string {
	switch k {
	case KindNetwork:
		return "network"
	case KindTimeout:
		return "timeout"
	case KindStatus:
		return "status"
	case KindTooLarge:
		return "too large"
	case KindChecksum:
		return "checksum"
	case KindOffline:
		return "offline"
	case KindInvalid:
		return "invalid"
	case KindCanceled:
		return "canceled"
	}
	return fmt.Sprintf("ErrorKind(%d)", int(k))
}

// Error is the error type of every failure Fetch and FetchAll report.
type Error struct {
	URL  string    // the requested URL, as given
	Kind ErrorKind // what failed
	Err  error     // the detail: "server answered 404 Not Found", "timed out after 10s", ...
}

// Error returns a one-line message naming the URL.
func (e *Error) Error() string {
	if e.Kind == KindOffline {
		// The detail is already a complete sentence naming the URL.
		return e.Err.Error()
	}
	return "fetching " + diag.RedactURL(e.URL) + ": " + e.Err.Error()
}

// Unwrap returns the detail error, so errors.Is(err, context.Canceled) and
// the like work.
func (e *Error) Unwrap() error { return e.Err }

// timeoutError is the detail of a KindTimeout error: its message is only
// "timed out after D", and it matches context.DeadlineExceeded.
type timeoutError struct{ d time.Duration }

func (e timeoutError) Error() string { return "timed out after " + duration.Setting(e.d) }
func (e timeoutError) Unwrap() error { return context.DeadlineExceeded }

// Fetcher fetches templates over HTTP(S). It is safe for concurrent use.
type Fetcher struct {
	timeout  time.Duration
	maxSize  int64
	cacheDir string
	offline  bool

	clientOnce     sync.Once
	secure, unsafe *http.Client

	mu      sync.Mutex
	flights map[flightKey]*flight
}

type flightKey struct {
	url      string
	insecure bool
}

// flight is one network fetch, shared by every caller that wants it.
type flight struct {
	done    chan struct{} // closed when body/err are set
	body    []byte
	err     *Error
	waiters int                // callers still waiting; guarded by Fetcher.mu
	cancel  context.CancelFunc // stops the fetch when every waiter gave up
}

// New returns a Fetcher for opts.
func New(opts Options) *Fetcher {
	f := &Fetcher{
		timeout:  opts.Timeout,
		maxSize:  opts.MaxSize,
		cacheDir: opts.CacheDir,
		offline:  opts.Offline,
		flights:  map[flightKey]*flight{},
	}
	if f.timeout <= 0 {
		f.timeout = DefaultTimeout
	}
	if f.maxSize <= 0 {
		f.maxSize = DefaultMaxSize
	}
	if opts.Client != nil {
		f.secure = opts.Client
	}
	return f
}

// DefaultCacheDir returns the per-user template cache,
// os.UserCacheDir()/podtemplate/templates, or "" (no cache) when the user
// has no cache directory.
func DefaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil || dir == "" {
		return ""
	}
	return filepath.Join(dir, "podtemplate", "templates")
}

// Fetch returns the body of r.URL.
//
// A pinned request (SHA256 set) whose digest is in the cache is served from
// the cache without any request. Otherwise, unless the Fetcher is offline,
// the URL is fetched once per Fetcher: concurrent and later calls for the
// same URL (and Insecure setting) share that one request and its outcome,
// errors included. A successful download is written to the cache. With
// Offline, pinned requests are served by digest and unpinned ones through
// the URL index; anything else fails with KindOffline.
//
// Every error is an *Error. Cancelling ctx makes this call return at once
// with KindCanceled; the shared request goes on only while another caller
// still waits for it. The returned slice belongs to the caller.
func (f *Fetcher) Fetch(ctx context.Context, r Request) ([]byte, error) {
	u, pin, e := validate(r)
	if e != nil {
		return nil, e
	}
	if pin != "" {
		if body, ok := f.readBlob(pin); ok {
			return body, nil
		}
	}
	if f.offline {
		if pin == "" {
			if body, ok := f.readByURL(r.URL); ok {
				return body, nil
			}
		}
		return nil, f.offlineError(r.URL)
	}
	body, e := f.shared(ctx, flightKey{url: u, insecure: r.Insecure}, r.URL)
	if e != nil {
		return nil, e
	}
	if pin != "" {
		if got := digest(body); got != pin {
			return nil, &Error{URL: r.URL, Kind: KindChecksum,
				Err: fmt.Errorf("sha256 mismatch: expected %s, got %s", pin, got)}
		}
	}
	return bytes.Clone(body), nil
}

// FetchAll fetches every request, at most MaxParallel at once, and returns
// one Result per request in input order; duplicates share one fetch.
// Failures are reported per item in Result.Err, so the caller can apply
// each item's fallback; the error return is nil when every item succeeded
// and otherwise the errors.Join of the failed items' errors, in input
// order.
func (f *Fetcher) FetchAll(ctx context.Context, rs []Request) ([]Result, error) {
	results := make([]Result, len(rs))
	first := map[Request]int{} // each distinct request is fetched by the first index naming it
	var wg sync.WaitGroup
	sem := make(chan struct{}, MaxParallel)
	for i, r := range rs {
		results[i].Request = r
		if _, dup := first[r]; dup {
			continue
		}
		first[r] = i
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				results[i].Err = &Error{URL: r.URL, Kind: KindCanceled, Err: ctx.Err()}
				return
			}
			results[i].Body, results[i].Err = f.Fetch(ctx, r)
		}()
	}
	wg.Wait()
	var errs []error
	for i := range results {
		j := first[results[i].Request]
		if j != i {
			results[i].Body = bytes.Clone(results[j].Body)
			results[i].Err = results[j].Err
		}
		if results[i].Err != nil {
			errs = append(errs, results[i].Err)
		}
	}
	return results, errors.Join(errs...)
}

// validate checks r and returns the URL to request and the normalized pin.
func validate(r Request) (string, string, *Error) {
	u, err := url.Parse(r.URL)
	if err != nil {
		// url's message quotes the whole URL, credentials included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", "", &Error{URL: r.URL, Kind: KindInvalid, Err: fmt.Errorf("not a valid URL: %w", err)}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", "", &Error{URL: r.URL, Kind: KindInvalid,
			Err: errors.New("not an http:// or https:// URL")}
	}
	if u.Host == "" {
		return "", "", &Error{URL: r.URL, Kind: KindInvalid, Err: errors.New("the URL has no host")}
	}
	pin, err := NormalizeSHA256(r.SHA256)
	if err != nil {
		return "", "", &Error{URL: r.URL, Kind: KindInvalid, Err: err}
	}
	return r.URL, pin, nil
}

// NormalizeSHA256 returns the lower-case hex form of a sha256 pin, accepting
// upper case and a "sha256:" prefix; "" stays "". Anything but 64 hex digits
// is an error.
func NormalizeSHA256(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > 7 && strings.EqualFold(s[:7], "sha256:") {
		s = s[7:]
	}
	s = strings.ToLower(s)
	if len(s) != sha256.Size*2 {
		return "", fmt.Errorf("invalid sha256 %q: want 64 hex digits", s)
	}
	if _, err := hex.DecodeString(s); err != nil {
		return "", fmt.Errorf("invalid sha256 %q: want 64 hex digits", s)
	}
	return s, nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// shared runs or joins the flight for key and waits for it or for ctx.
func (f *Fetcher) shared(ctx context.Context, key flightKey, rawURL string) ([]byte, *Error) {
	if ctx.Err() != nil {
		return nil, &Error{URL: rawURL, Kind: KindCanceled, Err: ctx.Err()}
	}
	f.mu.Lock()
	fl, ok := f.flights[key]
	if !ok {
		// The fetch outlives any single caller: it is cancelled only when
		// every waiter has given up (see below), and bounded by the timeout.
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		fl = &flight{done: make(chan struct{}), cancel: cancel}
		f.flights[key] = fl
		go f.run(fctx, key, fl, rawURL)
	}
	fl.waiters++
	f.mu.Unlock()

	select {
	case <-fl.done:
		return fl.body, fl.err
	case <-ctx.Done():
	}
	f.mu.Lock()
	fl.waiters--
	select {
	case <-fl.done:
		// Finished meanwhile: the result is there, use it.
		f.mu.Unlock()
		return fl.body, fl.err
	default:
	}
	if fl.waiters == 0 {
		// Nobody wants it any more: stop it, and let a later call start
		// afresh rather than inherit a cancelled result.
		fl.cancel()
		if f.flights[key] == fl {
			delete(f.flights, key)
		}
	}
	f.mu.Unlock()
	return nil, &Error{URL: rawURL, Kind: KindCanceled, Err: ctx.Err()}
}

// run performs the flight's request and publishes its outcome. A flight that
// ended because all its callers left is forgotten, so a later call retries.
func (f *Fetcher) run(ctx context.Context, key flightKey, fl *flight, rawURL string) {
	body, e := f.download(ctx, key, rawURL)
	if e == nil {
		f.store(rawURL, body)
	}
	f.mu.Lock()
	fl.body, fl.err = body, e
	if e != nil && e.Kind == KindCanceled && f.flights[key] == fl {
		delete(f.flights, key)
	}
	close(fl.done)
	fl.cancel()
	f.mu.Unlock()
}

// download makes one GET request, bounded by the timeout and size limit.
func (f *Fetcher) download(ctx context.Context, key flightKey, rawURL string) ([]byte, *Error) {
	tctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	fail := func(err error) *Error {
		switch {
		case ctx.Err() != nil:
			return &Error{URL: rawURL, Kind: KindCanceled, Err: ctx.Err()}
		case tctx.Err() != nil || isTimeout(err):
			return &Error{URL: rawURL, Kind: KindTimeout, Err: timeoutError{f.timeout}}
		}
		err = unwrapURLError(err)
		var cv *tls.CertificateVerificationError
		if errors.As(err, &cv) && !key.insecure {
			err = fmt.Errorf("%w (insecure: true skips verification)", err)
		}
		return &Error{URL: rawURL, Kind: KindNetwork, Err: err}
	}

	req, err := http.NewRequestWithContext(tctx, http.MethodGet, key.url, nil)
	if err != nil {
		return nil, &Error{URL: rawURL, Kind: KindInvalid, Err: err}
	}
	req.Header.Set("Accept", "application/yaml, text/yaml, text/plain, */*")
	req.Header.Set("User-Agent", "podtemplate")
	resp, err := f.client(key.insecure).Do(req)
	if err != nil {
		return nil, fail(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &Error{URL: rawURL, Kind: KindStatus,
			Err: fmt.Errorf("server answered %s", statusText(resp))}
	}
	tooLarge := &Error{URL: rawURL, Kind: KindTooLarge,
		Err: fmt.Errorf("the template is larger than %s", formatSize(f.maxSize))}
	if resp.ContentLength > f.maxSize {
		return nil, tooLarge
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.maxSize+1))
	if err != nil {
		return nil, fail(err)
	}
	if int64(len(body)) > f.maxSize {
		return nil, tooLarge
	}
	return body, nil
}

func statusText(resp *http.Response) string {
	if resp.Status != "" {
		return resp.Status
	}
	return fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// unwrapURLError drops the `Get "https://...":` prefix of *url.Error, since
// *Error names the URL already.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// client returns the HTTP client for a request; insecure clients skip TLS
// verification.
func (f *Fetcher) client(insecure bool) *http.Client {
	f.clientOnce.Do(func() {
		if f.secure == nil {
			t := http.DefaultTransport.(*http.Transport).Clone()
			t.Proxy = http.ProxyFromEnvironment
			t.DialContext = guardedDial(&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second})
			f.secure = &http.Client{Transport: t}
		} else {
			c := *f.secure
			f.secure = &c
		}
		f.secure.CheckRedirect = checkRedirect
		f.unsafe = insecureClient(f.secure)
	})
	if insecure {
		return f.unsafe
	}
	return f.secure
}

// insecureClient copies c with certificate verification turned off. A custom
// RoundTripper that is not an *http.Transport is used as it is.
func insecureClient(c *http.Client) *http.Client {
	cc := *c
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	if t, ok := rt.(*http.Transport); ok {
		t = t.Clone()
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = &tls.Config{}
		}
		t.TLSClientConfig.InsecureSkipVerify = true
		cc.Transport = t
	}
	return &cc
}

func (f *Fetcher) offlineError(rawURL string) *Error {
	if f.cacheDir == "" {
		return &Error{URL: rawURL, Kind: KindOffline, Err: fmt.Errorf(
			"template %s is not available offline: the template cache is disabled", diag.RedactURL(rawURL))}
	}
	return &Error{URL: rawURL, Kind: KindOffline, Err: fmt.Errorf(
		"template %s is not in the cache (%s); run once without --offline to fetch it", diag.RedactURL(rawURL), f.cacheDir)}
}

// formatSize prints n as "1 MiB", "512 KiB" or "1000 bytes".
func formatSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n == 1:
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}

// checkRedirect follows a redirect only to the same host (name and port),
// and never from https to http. A template is code: a redirect to another
// host would run code from a server the stack's author did not name, and
// one to http would let anyone on the path change it. Either is an error
// naming both addresses, so the author can name the final URL instead.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	prev := via[len(via)-1].URL
	to := diag.RedactURL(req.URL.String())
	if prev.Scheme == "https" && req.URL.Scheme != "https" {
		return &redirectError{fmt.Sprintf("refused a redirect from https to %s (a TLS downgrade)", to)}
	}
	if !strings.EqualFold(hostPort(prev), hostPort(req.URL)) {
		return &redirectError{fmt.Sprintf("refused a redirect to another host, %s; name that URL in the stack if it is trusted", to)}
	}
	return nil
}

// redirectError is a refused redirect; its message is the whole detail.
type redirectError struct{ msg string }

func (e *redirectError) Error() string { return e.msg }

// hostPort is u's host with its scheme's default port made explicit.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// guardedDial connects like d, but a host name that resolves to a
// loopback, link-local or unspecified address is refused: such names are
// how a remote template (or a DNS answer) reaches the machine's own
// services or a cloud metadata endpoint (169.254.169.254). An address the
// stack names literally (127.0.0.1, [::1]) or "localhost" is the
// author's choice and allowed.
func guardedDial(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil || net.ParseIP(host) != nil || strings.EqualFold(host, "localhost") {
			return d.DialContext(ctx, network, addr)
		}
		guarded := *d
		guarded.Control = refuseLocal(host)
		return guarded.DialContext(ctx, network, addr)
	}
}

// refuseLocal is the dial check for host: the address it resolved to must
// not be loopback, link-local or unspecified.
func refuseLocal(host string) func(network, address string, c syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		h, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		if ip := net.ParseIP(h); ip != nil && (ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified()) {
			return fmt.Errorf("%s resolves to %s, a loopback or link-local address; refused (write the address itself in the URL if it is meant)", host, h)
		}
		return nil
	}
}
