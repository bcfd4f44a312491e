package fetch

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// redirecting answers every request with a redirect to target.
func redirecting(t *testing.T, srv func(http.Handler) *httptest.Server, target func() string) *httptest.Server {
	t.Helper()
	s := srv(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target(), http.StatusFound)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestRedirectFromHTTPSToHTTPIsRefused(t *testing.T) {
	plain, hits := counting(t, tmpl, 0)
	tlsSrv := redirecting(t, httptest.NewTLSServer, func() string { return plain.URL + "/t.yml" })
	f := New(Options{})
	_, err := f.Fetch(context.Background(), Request{URL: tlsSrv.URL + "/t.yml", Insecure: true})
	e := asError(t, err, KindNetwork)
	if !strings.Contains(e.Error(), "refused a redirect from https to http://") || !strings.Contains(e.Error(), "TLS downgrade") {
		t.Errorf("got %v", e)
	}
	if hits.Load() != 0 {
		t.Errorf("the http server was asked %d times", hits.Load())
	}
}

func TestRedirectToAnotherHostIsRefused(t *testing.T) {
	other, hits := counting(t, tmpl, 0)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(other.URL, "http://"))
	for name, target := range map[string]string{
		"other name":        "http://localhost:" + port + "/t.yml",
		"other port":        other.URL + "/t.yml",
		"link-local":        "http://169.254.169.254/latest/meta-data/",
		"other host, https": "https://example.invalid/t.yml",
	} {
		t.Run(name, func(t *testing.T) {
			src := redirecting(t, httptest.NewServer, func() string { return target })
			_, err := New(Options{}).Fetch(context.Background(), Request{URL: src.URL + "/t.yml"})
			e := asError(t, err, KindNetwork)
			if !strings.Contains(e.Error(), "refused a redirect to another host") {
				t.Errorf("got %v", e)
			}
		})
	}
	if hits.Load() != 0 {
		t.Errorf("the other server was asked %d times", hits.Load())
	}
}

func TestRedirectOnTheSameHostIsFollowed(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old.yml" {
			http.Redirect(w, r, srv.URL+"/new.yml", http.StatusMovedPermanently)
			return
		}
		w.Write([]byte(tmpl))
	}))
	defer srv.Close()
	body, err := New(Options{}).Fetch(context.Background(), Request{URL: srv.URL + "/old.yml"})
	if err != nil || string(body) != tmpl {
		t.Fatalf("got %q, %v", body, err)
	}
}

// TestCredentialsNeverShown fetches with credentials in the URL (user
// part and query): no message and no cache file, name or content, holds
// them.
func TestCredentialsNeverShown(t *testing.T) {
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); ok {
			auth.Store(u + ":" + p)
		}
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(tmpl))
	}))
	defer srv.Close()
	cache := t.TempDir()
	f := New(Options{CacheDir: cache})
	withCreds := strings.Replace(srv.URL, "http://", "http://deployer:s3cret-token@", 1)
	if _, err := f.Fetch(context.Background(), Request{URL: withCreds + "/t.yml?private_token=q-s3cret"}); err != nil {
		t.Fatal(err)
	}
	if auth.Load() != "deployer:s3cret-token" {
		t.Errorf("the server got credentials %v", auth.Load())
	}
	for _, u := range []string{withCreds + "/missing?private_token=q-s3cret", "http://deployer:s3cret-token@bad host/x", withCreds + ":99999/x"} {
		_, err := f.Fetch(context.Background(), Request{URL: u})
		if err == nil {
			t.Fatalf("%s: no error", u)
		}
		if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "deployer") {
			t.Errorf("credentials in the message: %v", err)
		}
	}
	_, err := New(Options{CacheDir: cache, Offline: true}).Fetch(context.Background(), Request{URL: withCreds + "/other.yml"})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("offline message: %v", err)
	}
	filepath.Walk(cache, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(path, "s3cret") {
			t.Errorf("credentials in a cache file name: %s", path)
		}
		if !info.IsDir() {
			data, _ := os.ReadFile(path)
			if strings.Contains(string(data), "s3cret") || strings.Contains(string(data), "deployer") {
				t.Errorf("credentials in cache file %s: %q", path, data)
			}
		}
		return nil
	})
	// The index is found again without the credentials: offline, by URL.
	body, err := New(Options{CacheDir: cache, Offline: true}).Fetch(context.Background(), Request{URL: withCreds + "/t.yml?private_token=q-s3cret"})
	if err != nil || string(body) != tmpl {
		t.Errorf("offline: %q, %v", body, err)
	}
}

// TestNamesResolvingToLoopbackAreRefused dials a name (not the literal
// address or "localhost") that resolves to a loopback address.
func TestNamesResolvingToLoopbackAreRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	dial := guardedDial(&net.Dialer{Timeout: 2 * time.Second})
	if c, err := dial(context.Background(), "tcp", "127.0.0.1:"+port); err != nil {
		t.Errorf("literal address: %v", err)
	} else {
		c.Close()
	}
	if c, err := dial(context.Background(), "tcp", "localhost:"+port); err != nil {
		t.Errorf("localhost: %v", err)
	} else {
		c.Close()
	}
	check := refuseLocal("templates.example")
	for addr, refused := range map[string]bool{
		"127.0.0.1:80": true, "[::1]:80": true, "169.254.169.254:80": true, "[fe80::1]:80": true,
		"0.0.0.0:80": true, "93.184.216.34:443": false, "10.1.2.3:80": false,
	} {
		err := check("tcp", addr, nil)
		if (err != nil) != refused {
			t.Errorf("%s: %v, want refused %t", addr, err, refused)
		}
	}
}
