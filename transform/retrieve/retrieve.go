// Package retrieve is the template-loading stage: it reads each distinct
// template source named by the configuration once, following fallbacks,
// with HTTP fetches run concurrently.
package retrieve

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"sync"

	"github.com/podtemplate/podtemplate/internal/fileio"
	"github.com/podtemplate/podtemplate/transform/config"
	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/fetch"
	"github.com/podtemplate/podtemplate/transform/render"
)

// Loaders are how sources other than files and inline text are read.
type Loaders struct {
	// HTTP fetches a URL; nil means HTTP templates are an error.
	HTTP func(ctx context.Context, url, sha256 string, insecure bool) ([]byte, error)
	// Builtin returns a built-in template by name.
	Builtin func(name string) ([]byte, bool)
	// MaxFileSize caps a template file's size (0: 1 MiB).
	MaxFileSize int64
}

// Text is a loaded template.
type Text struct {
	Key  string // the Source key it was loaded for
	Name string // the source that provided it (the fallback's, when used)
	Body string
}

// parallel bounds concurrent loads.
const parallel = 8

// Load reads every distinct source in srcs once. The result maps
// Source.Key() to its text.
func Load(ctx context.Context, srcs []*config.Source, l Loaders) (map[string]*Text, error) {
	distinct := map[string]*config.Source{}
	var order []string
	for _, s := range srcs {
		k := s.Key()
		if _, ok := distinct[k]; !ok {
			distinct[k] = s
			order = append(order, k)
		}
	}
	out := make(map[string]*Text, len(order))
	errs := make([]error, len(order))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	for i, k := range order {
		s := distinct[k]
		if s.Kind != config.KindHTTP && (s.Fallback == nil || s.Fallback.Kind != config.KindHTTP) {
			t, err := load(ctx, s, l)
			if err != nil {
				errs[i] = err
				continue
			}
			t.Key = k
			out[k] = t
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(i int, k string, s *config.Source) {
			defer wg.Done()
			defer func() { <-sem }()
			t, err := load(ctx, s, l)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[i] = err
				return
			}
			t.Key = k
			out[k] = t
		}(i, k, s)
	}
	wg.Wait()
	var list diag.List
	for _, err := range errs {
		list.Add(err)
	}
	if err := list.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func load(ctx context.Context, s *config.Source, l Loaders) (*Text, error) {
	body, err := read(ctx, s, l)
	if err == nil {
		return &Text{Name: s.Name(), Body: string(body)}, nil
	}
	var fe *fetch.Error
	if errors.As(err, &fe) && (fe.Kind == fetch.KindCanceled || (fe.Kind == fetch.KindChecksum && !s.FallbackOnMismatch)) {
		// A cancelled run stops; a checksum mismatch may be tampering,
		// so it falls back only when the stack asks for that.
		return nil, s.Pos.Errorf("%v", err).WithService(s.Service)
	}
	if s.Fallback != nil {
		t, ferr := load(ctx, s.Fallback, l)
		if ferr == nil {
			return t, nil
		}
		return nil, s.Pos.Errorf("template %s failed (%v), and so did its fallback: %v", s.Name(), err, unwrapMsg(ferr)).WithService(s.Service)
	}
	return nil, s.Pos.Errorf("%v", err).WithService(s.Service)
}

func unwrapMsg(err error) string {
	var d *diag.Error
	if errors.As(err, &d) {
		return d.Msg
	}
	return err.Error()
}

func read(ctx context.Context, s *config.Source, l Loaders) ([]byte, error) {
	switch s.Kind {
	case config.KindInline:
		return []byte(s.Text), nil
	case config.KindFile:
		limit := l.MaxFileSize
		if limit == 0 {
			limit = 1 << 20
		}
		b, err := fileio.ReadRegular(s.Path, limit)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("template file %s does not exist%s", s.Name(), lookedFor(s))
		case errors.Is(err, fileio.ErrTooLarge):
			return nil, fmt.Errorf("template file %s is larger than %d bytes", s.Name(), limit)
		case errors.Is(err, fileio.ErrNotRegular):
			return nil, fmt.Errorf("template file %s %v: a template is read from a file, never from a device, a FIFO or stdin", s.Name(), err)
		case err != nil:
			return nil, fmt.Errorf("cannot read template file %s: %w", s.Name(), err)
		}
		return b, nil
	case config.KindBuiltin:
		if l.Builtin != nil {
			if b, ok := l.Builtin(s.Text); ok {
				return b, nil
			}
		}
		return nil, fmt.Errorf("no built-in template named %q (see podtemplate templates ls)", s.Text)
	case config.KindHTTP:
		if l.HTTP == nil {
			return nil, fmt.Errorf("HTTP templates are not available here (%s)", diag.RedactURL(s.URL))
		}
		return l.HTTP(ctx, s.URL, s.SHA256, s.Insecure)
	}
	return nil, fmt.Errorf("unknown template source kind %q", s.Kind)
}

// lookedFor explains where a relative path was looked for when the file
// naming it is in another folder: paths are relative to that file.
func lookedFor(s *config.Source) string {
	if s.Written == "" || filepath.IsAbs(s.Written) || s.Pos.File == "-" {
		return ""
	}
	dir := filepath.Dir(s.Pos.File)
	if dir == "." {
		return ""
	}
	return fmt.Sprintf(" (looked for %s: paths are relative to the file that names them)", filepath.Join(dir, s.Written))
}

// FetchHTTP adapts a fetch.Fetcher to Loaders.HTTP.
func FetchHTTP(f *fetch.Fetcher) func(ctx context.Context, url, sha256 string, insecure bool) ([]byte, error) {
	return func(ctx context.Context, url, sha256 string, insecure bool) ([]byte, error) {
		return f.Fetch(ctx, fetch.Request{URL: url, SHA256: sha256, Insecure: insecure})
	}
}

// Templates reads every distinct source in srcs once and returns the
// texts to parse, in key order; each is named by the first item that uses
// it, for messages.
func Templates(ctx context.Context, srcs []*config.Source, l Loaders) ([]render.Template, error) {
	texts, err := Load(ctx, srcs, l)
	if err != nil {
		return nil, err
	}
	first := map[string]*config.Source{}
	for _, s := range srcs {
		if _, ok := first[s.Key()]; !ok {
			first[s.Key()] = s
		}
	}
	out := make([]render.Template, 0, len(texts))
	for k, t := range texts {
		out = append(out, render.Template{Key: k, Name: t.Name, Body: t.Body, Pos: first[k].Pos, Service: first[k].Service})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}
