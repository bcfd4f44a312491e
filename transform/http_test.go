package transform_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podtemplate/podtemplate/templates"
	"github.com/podtemplate/podtemplate/transform"
	"github.com/podtemplate/podtemplate/transform/fetch"
	"github.com/podtemplate/podtemplate/transform/retrieve"
)

const sidecar = "metrics:\n  image: prom/statsd-exporter\n  labels:\n    for: \"{{ .Service.Name }}\"\n"

// templateServer serves /sidecar.yml, counting requests; /missing is a
// 404 and /hang never answers until the client gives up.
func templateServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sidecar.yml":
			hits.Add(1)
			fmt.Fprint(w, sidecar)
		case "/hang":
			<-r.Context().Done()
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func renderHTTP(t *testing.T, stack string, fo fetch.Options) (string, error) {
	t.Helper()
	if fo.Timeout == 0 {
		fo.Timeout = 2 * time.Second
	}
	opts := transform.Options{Files: []string{"-"}, Stdin: strings.NewReader(stack), Cwd: t.TempDir(), Env: map[string]string{},
		Loaders: retrieve.Loaders{HTTP: retrieve.FetchHTTP(fetch.New(fo)), Builtin: templates.Get}, Warn: func(string) {}}
	done := make(chan struct{})
	var out string
	var err error
	go func() {
		defer close(done)
		var res *transform.Result
		if res, err = transform.Render(context.Background(), opts); err == nil {
			out = string(res.Output)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("render did not return: a hung template server must not hang the render")
	}
	return out, err
}

func podStack(n int, item string) string {
	var b strings.Builder
	b.WriteString("services:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  svc%d:\n    image: app\n    x-podlike:\n      templates:\n        - %s\n", i, item)
	}
	return b.String()
}

func TestHTTPOneRequestPerURL(t *testing.T) {
	srv, hits := templateServer(t)
	out, err := renderHTTP(t, podStack(50, srv.URL+"/sidecar.yml"), fetch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("server saw %d requests for 50 services sharing a URL, want 1", n)
	}
	if got := strings.Count(out, "pod.component.metrics"); got != 50 {
		t.Errorf("%d services got the component, want 50", got)
	}
}

func TestHTTPChecksum(t *testing.T) {
	srv, _ := templateServer(t)
	good := sha256.Sum256([]byte(sidecar))
	wrong := strings.Repeat("ab", 32)
	item := fmt.Sprintf("http: {url: %q, sha256: %s}", srv.URL+"/sidecar.yml", wrong)
	_, err := renderHTTP(t, podStack(1, item), fetch.Options{})
	if err == nil || !strings.Contains(err.Error(), wrong) || !strings.Contains(err.Error(), hex.EncodeToString(good[:])) || !strings.Contains(err.Error(), srv.URL) {
		t.Fatalf("mismatch: got %v, want an error naming the URL and both digests", err)
	}
	// A mismatch does not silently use the fallback...
	withFallback := fmt.Sprintf("http: {url: %q, sha256: %s, fallback: {inline: \"fb: {image: fallback}\"}}", srv.URL+"/sidecar.yml", wrong)
	if _, err := renderHTTP(t, podStack(1, withFallback), fetch.Options{}); err == nil {
		t.Fatal("a checksum mismatch used the fallback without fallback_on_mismatch")
	}
	// ...unless the stack asks for it.
	optIn := strings.Replace(withFallback, "sha256:", "fallback_on_mismatch: true, sha256:", 1)
	out, err := renderHTTP(t, podStack(1, optIn), fetch.Options{})
	if err != nil || !strings.Contains(out, "image: fallback") {
		t.Fatalf("fallback_on_mismatch: %v\n%s", err, out)
	}
	// The right pin renders.
	pinned := fmt.Sprintf("http: {url: %q, sha256: %s}", srv.URL+"/sidecar.yml", hex.EncodeToString(good[:]))
	if _, err := renderHTTP(t, podStack(1, pinned), fetch.Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestHTTPFallback(t *testing.T) {
	srv, _ := templateServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/sidecar.yml"
	ln.Close()
	for name, url := range map[string]string{
		"404":     srv.URL + "/missing",
		"refused": refused,
		"timeout": srv.URL + "/hang",
	} {
		t.Run(name, func(t *testing.T) {
			item := fmt.Sprintf("http: {url: %q, fallback: {inline: \"fb: {image: fallback}\"}}", url)
			out, err := renderHTTP(t, podStack(1, item), fetch.Options{Timeout: 300 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "pod.component.fb") {
				t.Errorf("fallback not used:\n%s", out)
			}
		})
	}
}

func TestHTTPNeverAnswers(t *testing.T) {
	srv, _ := templateServer(t)
	_, err := renderHTTP(t, podStack(3, srv.URL+"/hang"), fetch.Options{Timeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "timed out after") {
		t.Fatalf("got %v, want a timeout error", err)
	}
}

func TestHTTPOffline(t *testing.T) {
	srv, _ := templateServer(t)
	cache := t.TempDir()
	stack := podStack(2, srv.URL+"/sidecar.yml")
	online, err := renderHTTP(t, stack, fetch.Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	offline, err := renderHTTP(t, stack, fetch.Options{CacheDir: cache, Offline: true})
	if err != nil {
		t.Fatalf("offline render from the cache: %v", err)
	}
	if offline != online {
		t.Error("offline output differs from the online one")
	}
	_, err = renderHTTP(t, podStack(1, "https://templates.invalid/other.yml"), fetch.Options{CacheDir: cache, Offline: true})
	if err == nil || !strings.Contains(err.Error(), "is not in the cache") {
		t.Fatalf("offline miss: got %v", err)
	}
}

// TestHTTPHostileTemplates serves remote templates that render alias
// cycles and bombs, or include themselves: each is the same clear error
// as from a local template, naming the URL without its credentials.
func TestHTTPHostileTemplates(t *testing.T) {
	bodies := map[string]string{
		"/cycle.yml":   "c: &c\n  image: x\n  self: *c\n",
		"/merge.yml":   "c: &c\n  image: x\n  <<: *c\n",
		"/bomb.yml":    "a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: {image: x, command: *f}\n",
		"/include.yml": "{{ define \"r\" }}{{ include \"r\" . }}{{ end }}c: {image: \"{{ include \"r\" . }}\"}\n",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, bodies[r.URL.Path])
	}))
	defer srv.Close()
	creds := strings.Replace(srv.URL, "http://", "http://ci:t0ken@", 1)
	for path, want := range map[string]string{
		"/cycle.yml":   "alias *c refers to a node that contains it (an alias cycle)",
		"/merge.yml":   "alias *c refers to a node that contains it (an alias cycle)",
		"/bomb.yml":    "(an alias bomb?)",
		"/include.yml": `nested more than 1000 deep (include "r")`,
	} {
		_, err := renderHTTP(t, podStack(1, creds+path), fetch.Options{})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: got %v, want %q", path, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "t0ken") {
			t.Errorf("%s: credentials in %v", path, err)
		}
	}
}
