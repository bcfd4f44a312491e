package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const tmpl = "proxy:\n  image: varnish:7.6\n"

func hexsum(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// counting serves body at every path and counts the requests.
func counting(t *testing.T, body string, delay time.Duration) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		time.Sleep(delay)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func asError(t *testing.T, err error, kind ErrorKind) *Error {
	t.Helper()
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *fetch.Error", err, err)
	}
	if fe.Kind != kind {
		t.Fatalf("kind = %v, want %v (error: %v)", fe.Kind, kind, err)
	}
	return fe
}

// within fails the test if fn has not returned after a generous bound.
func within(t *testing.T, d time.Duration, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("still running after %s", d)
	}
}

func TestConcurrentFetchesShareOneRequest(t *testing.T) {
	srv, n := counting(t, tmpl, 50*time.Millisecond)
	f := New(Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, err := f.Fetch(context.Background(), Request{URL: srv.URL + "/t.yml"})
			if err == nil && string(body) != tmpl {
				err = fmt.Errorf("body = %q", body)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// A later call is served from memory too.
	if _, err := f.Fetch(context.Background(), Request{URL: srv.URL + "/t.yml"}); err != nil {
		t.Fatal(err)
	}
	if got := n.Load(); got != 1 {
		t.Fatalf("server saw %d requests, want 1", got)
	}
}

func TestReturnedBodyIsTheCallersOwn(t *testing.T) {
	srv, _ := counting(t, tmpl, 0)
	f := New(Options{})
	a, err := f.Fetch(context.Background(), Request{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	a[0] = 'X'
	b, _ := f.Fetch(context.Background(), Request{URL: srv.URL})
	if string(b) != tmpl {
		t.Fatalf("memoized body was modified through a returned slice: %q", b)
	}
}

func TestErrorsAreMemoized(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer srv.Close()
	f := New(Options{})
	for range 3 {
		_, err := f.Fetch(context.Background(), Request{URL: srv.URL})
		asError(t, err, KindStatus)
	}
	if n.Load() != 1 {
		t.Fatalf("server saw %d requests, want 1", n.Load())
	}
}

func TestChecksum(t *testing.T) {
	srv, _ := counting(t, tmpl, 0)
	f := New(Options{})
	want := hexsum(tmpl)

	body, err := f.Fetch(context.Background(), Request{URL: srv.URL, SHA256: "SHA256:" + strings.ToUpper(want)})
	if err != nil || string(body) != tmpl {
		t.Fatalf("pinned fetch: %q, %v", body, err)
	}

	wrong := hexsum("something else")
	_, err = f.Fetch(context.Background(), Request{URL: srv.URL, SHA256: wrong})
	fe := asError(t, err, KindChecksum)
	msg := fe.Error()
	for _, s := range []string{srv.URL, wrong, want, "expected", "got"} {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q does not contain %q", msg, s)
		}
	}

	_, err = f.Fetch(context.Background(), Request{URL: srv.URL, SHA256: "abc"})
	asError(t, err, KindInvalid)
}

func TestPinnedAndCachedMakesNoRequest(t *testing.T) {
	srv, n := counting(t, tmpl, 0)
	dir := t.TempDir()
	if _, err := New(Options{CacheDir: dir}).Fetch(context.Background(), Request{URL: srv.URL + "/a.yml"}); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 1 {
		t.Fatalf("requests = %d", n.Load())
	}
	// Layout: the body by digest, the URL index pointing at it.
	d := hexsum(tmpl)
	if b, err := os.ReadFile(filepath.Join(dir, "sha256", d)); err != nil || string(b) != tmpl {
		t.Fatalf("blob: %q, %v", b, err)
	}
	idx, err := os.ReadFile(filepath.Join(dir, "urls", hexsum(srv.URL+"/a.yml")))
	if err != nil || !strings.HasPrefix(string(idx), d+"\n") {
		t.Fatalf("index: %q, %v", idx, err)
	}

	// A fresh run (new Fetcher) with a pin: served from the cache, even for
	// another URL that has the same content.
	f := New(Options{CacheDir: dir})
	for _, u := range []string{srv.URL + "/a.yml", srv.URL + "/elsewhere.yml"} {
		body, err := f.Fetch(context.Background(), Request{URL: u, SHA256: d})
		if err != nil || string(body) != tmpl {
			t.Fatalf("%s: %q, %v", u, body, err)
		}
	}
	if n.Load() != 1 {
		t.Fatalf("server saw %d requests, want 1 (pinned requests should come from the cache)", n.Load())
	}

	// A corrupt cache entry is a miss, not a wrong answer.
	if err := os.WriteFile(filepath.Join(dir, "sha256", d), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	body, err := New(Options{CacheDir: dir}).Fetch(context.Background(), Request{URL: srv.URL + "/a.yml", SHA256: d})
	if err != nil || string(body) != tmpl {
		t.Fatalf("after corruption: %q, %v", body, err)
	}
	if n.Load() != 2 {
		t.Fatalf("server saw %d requests, want 2", n.Load())
	}
}

func TestStatus(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	u := srv.URL + "/missing.yml"
	_, err := New(Options{}).Fetch(context.Background(), Request{URL: u})
	fe := asError(t, err, KindStatus)
	if !strings.Contains(fe.Error(), u) || !strings.Contains(fe.Error(), "404 Not Found") {
		t.Fatalf("message %q should name the URL and the status", fe.Error())
	}
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = New(Options{Timeout: 5 * time.Second}).Fetch(context.Background(), Request{URL: "http://" + addr + "/t.yml"})
	fe := asError(t, err, KindNetwork)
	if !strings.Contains(fe.Error(), addr) {
		t.Fatalf("message %q should name the URL", fe.Error())
	}
}

// silent accepts connections and never answers.
func silent(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + l.Addr().String() + "/t.yml"
}

func TestServerThatNeverAnswersTimesOut(t *testing.T) {
	u := silent(t)
	f := New(Options{Timeout: 200 * time.Millisecond})
	var err error
	within(t, 5*time.Second, func() { _, err = f.Fetch(context.Background(), Request{URL: u}) })
	fe := asError(t, err, KindTimeout)
	if !strings.Contains(fe.Error(), "timed out after 200ms") || !strings.Contains(fe.Error(), u) {
		t.Fatalf("message = %q", fe.Error())
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("a timeout should match context.DeadlineExceeded")
	}
}

func TestStalledBodyTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte("proxy:\n"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	f := New(Options{Timeout: 200 * time.Millisecond})
	var err error
	within(t, 5*time.Second, func() { _, err = f.Fetch(context.Background(), Request{URL: srv.URL}) })
	asError(t, err, KindTimeout)
}

func TestDefaultTimeoutMessage(t *testing.T) {
	if got := (&Error{URL: "https://x/t.yml", Kind: KindTimeout, Err: timeoutError{DefaultTimeout}}).Error(); got != "fetching https://x/t.yml: timed out after 10s" {
		t.Fatalf("got %q", got)
	}
}

func TestTooLarge(t *testing.T) {
	big := strings.Repeat("x", 2048)
	// With a Content-Length, and streamed without one.
	for _, stream := range []bool{false, true} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if stream {
				for i := 0; i < len(big); i += 256 {
					w.Write([]byte(big[i : i+256]))
					w.(http.Flusher).Flush()
				}
				return
			}
			fmt.Fprint(w, big)
		}))
		_, err := New(Options{MaxSize: 1024}).Fetch(context.Background(), Request{URL: srv.URL})
		fe := asError(t, err, KindTooLarge)
		if !strings.Contains(fe.Error(), "larger than 1 KiB") {
			t.Errorf("message = %q", fe.Error())
		}
		srv.Close()
	}
	// Exactly the limit is fine.
	srv, _ := counting(t, big[:1024], 0)
	if _, err := New(Options{MaxSize: 1024}).Fetch(context.Background(), Request{URL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	if got := formatSize(DefaultMaxSize); got != "1 MiB" {
		t.Fatalf("formatSize(DefaultMaxSize) = %q", got)
	}
}

func TestOffline(t *testing.T) {
	srv, n := counting(t, tmpl, 0)
	dir := t.TempDir()
	u := srv.URL + "/t.yml"
	if _, err := New(Options{CacheDir: dir}).Fetch(context.Background(), Request{URL: u}); err != nil {
		t.Fatal(err)
	}
	off := New(Options{CacheDir: dir, Offline: true})

	// Hit through the URL index, and by digest.
	for _, r := range []Request{{URL: u}, {URL: u, SHA256: hexsum(tmpl)}} {
		body, err := off.Fetch(context.Background(), r)
		if err != nil || string(body) != tmpl {
			t.Fatalf("%+v: %q, %v", r, body, err)
		}
	}
	// Misses: another URL, and a pin that is not cached.
	other := srv.URL + "/other.yml"
	for _, r := range []Request{{URL: other}, {URL: u, SHA256: hexsum("not cached")}} {
		_, err := off.Fetch(context.Background(), r)
		fe := asError(t, err, KindOffline)
		want := "template " + r.URL + " is not in the cache (" + dir + "); run once without --offline to fetch it"
		if fe.Error() != want {
			t.Fatalf("message = %q\nwant      %q", fe.Error(), want)
		}
	}
	// Offline without a cache at all.
	_, err := New(Options{Offline: true}).Fetch(context.Background(), Request{URL: u})
	asError(t, err, KindOffline)

	if n.Load() != 1 {
		t.Fatalf("offline fetches reached the server: %d requests", n.Load())
	}
}

func TestTLSVerification(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, tmpl)
	}))
	defer srv.Close()
	f := New(Options{})
	_, err := f.Fetch(context.Background(), Request{URL: srv.URL})
	fe := asError(t, err, KindNetwork)
	if !strings.Contains(fe.Error(), "certificate") {
		t.Errorf("message %q should explain the certificate problem", fe.Error())
	}
	body, err := f.Fetch(context.Background(), Request{URL: srv.URL, Insecure: true})
	if err != nil || string(body) != tmpl {
		t.Fatalf("insecure fetch: %q, %v", body, err)
	}
	// The insecure request did not weaken the verified one.
	_, err = f.Fetch(context.Background(), Request{URL: srv.URL + "/again"})
	asError(t, err, KindNetwork)

	// A caller-supplied client gets an insecure twin too.
	f = New(Options{Client: &http.Client{}})
	if _, err := f.Fetch(context.Background(), Request{URL: srv.URL, Insecure: true}); err != nil {
		t.Fatal(err)
	}
	// And the client trusting the test CA verifies without Insecure.
	f = New(Options{Client: srv.Client()})
	if _, err := f.Fetch(context.Background(), Request{URL: srv.URL}); err != nil {
		t.Fatal(err)
	}
}

func TestCancelOneCallerOnly(t *testing.T) {
	release := make(chan struct{})
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		<-release
		fmt.Fprint(w, tmpl)
	}))
	defer srv.Close()
	f := New(Options{Timeout: 5 * time.Second})

	bDone := make(chan error, 1)
	go func() {
		body, err := f.Fetch(context.Background(), Request{URL: srv.URL})
		if err == nil && string(body) != tmpl {
			err = fmt.Errorf("body %q", body)
		}
		bDone <- err
	}()
	for n.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	aDone := make(chan error, 1)
	go func() { _, err := f.Fetch(ctx, Request{URL: srv.URL}); aDone <- err }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	var errA error
	within(t, 5*time.Second, func() { errA = <-aDone })
	asError(t, errA, KindCanceled)
	if !errors.Is(errA, context.Canceled) {
		t.Fatal("should match context.Canceled")
	}
	close(release)
	if err := <-bDone; err != nil {
		t.Fatalf("the other caller failed: %v", err)
	}
	if n.Load() != 1 {
		t.Fatalf("requests = %d", n.Load())
	}
}

func TestCancelLastCallerStopsRequestAndAllowsRetry(t *testing.T) {
	var n atomic.Int64
	stopped := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			<-r.Context().Done() // the first request stalls until the client gives up
			close(stopped)
			return
		}
		fmt.Fprint(w, tmpl)
	}))
	defer srv.Close()
	f := New(Options{Timeout: 30 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var err error
	within(t, 5*time.Second, func() { _, err = f.Fetch(ctx, Request{URL: srv.URL}) })
	asError(t, err, KindCanceled)
	// With no caller left, the request itself is abandoned...
	within(t, 5*time.Second, func() { <-stopped })
	// ...and not memoized: a later call tries again.
	body, err := f.Fetch(context.Background(), Request{URL: srv.URL})
	if err != nil || string(body) != tmpl {
		t.Fatalf("retry: %q, %v", body, err)
	}
	if n.Load() != 2 {
		t.Fatalf("requests = %d, want 2", n.Load())
	}
}

func TestInvalidRequests(t *testing.T) {
	f := New(Options{})
	for _, u := range []string{"ftp://example.com/t.yml", "templates/t.yml", "http://", "http://a b/"} {
		_, err := f.Fetch(context.Background(), Request{URL: u})
		asError(t, err, KindInvalid)
	}
	for in, want := range map[string]string{
		"":                              "",
		strings.ToUpper(hexsum("a")):    hexsum("a"),
		"sha256:" + hexsum("a"):         hexsum("a"),
		" SHA256:" + hexsum("a") + "\n": hexsum("a"),
	} {
		if got, err := NormalizeSHA256(in); err != nil || got != want {
			t.Errorf("NormalizeSHA256(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"abc", "sha256:", strings.Repeat("g", 64), "md5:" + hexsum("a")} {
		if _, err := NormalizeSHA256(in); err == nil {
			t.Errorf("NormalizeSHA256(%q) should fail", in)
		}
	}
}

func TestFetchAll(t *testing.T) {
	var inFlight, peak, n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		cur := inFlight.Add(1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		time.Sleep(30 * time.Millisecond)
		inFlight.Add(-1)
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, r.URL.Path)
	}))
	defer srv.Close()

	var rs []Request
	for i := range 20 {
		rs = append(rs, Request{URL: fmt.Sprintf("%s/t%d", srv.URL, i)})
	}
	rs = append(rs, Request{URL: srv.URL + "/missing"}, Request{URL: srv.URL + "/t3"})
	res, err := New(Options{}).FetchAll(context.Background(), rs)
	if len(res) != len(rs) {
		t.Fatalf("%d results for %d requests", len(res), len(rs))
	}
	for i, r := range res {
		if r.Request != rs[i] {
			t.Fatalf("result %d is for %+v, want %+v", i, r.Request, rs[i])
		}
	}
	for i := range 20 {
		if res[i].Err != nil || string(res[i].Body) != fmt.Sprintf("/t%d", i) {
			t.Errorf("result %d: %q, %v", i, res[i].Body, res[i].Err)
		}
	}
	asError(t, res[20].Err, KindStatus)
	if string(res[21].Body) != "/t3" || res[21].Err != nil {
		t.Errorf("duplicate: %q, %v", res[21].Body, res[21].Err)
	}
	if err == nil {
		t.Fatal("FetchAll should report the failed item")
	}
	asError(t, err, KindStatus)
	if n.Load() != 21 {
		t.Errorf("server saw %d requests, want 21 (duplicates share one)", n.Load())
	}
	if peak.Load() > MaxParallel {
		t.Errorf("%d requests at once, want at most %d", peak.Load(), MaxParallel)
	}

	res, err = New(Options{}).FetchAll(context.Background(), rs[:3])
	if err != nil || len(res) != 3 {
		t.Fatalf("all good: %v", err)
	}
}

func TestDefaultCacheDir(t *testing.T) {
	base, err := os.UserCacheDir()
	if err != nil {
		t.Skip("no user cache dir here")
	}
	if got := DefaultCacheDir(); got != filepath.Join(base, "podtemplate", "templates") {
		t.Fatalf("DefaultCacheDir() = %q", got)
	}
}
