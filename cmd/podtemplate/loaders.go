package main

import (
	"github.com/podtemplate/podtemplate/templates"
	"github.com/podtemplate/podtemplate/transform"
	"github.com/podtemplate/podtemplate/transform/fetch"
	"github.com/podtemplate/podtemplate/transform/retrieve"
)

// loaders builds the HTTP and built-in template loaders from the flags.
func (f *renderFlags) loaders() (retrieve.Loaders, error) {
	cacheDir := f.cacheDir
	if cacheDir == "" {
		cacheDir = fetch.DefaultCacheDir()
	}
	fetcher := fetch.New(fetch.Options{Timeout: f.httpTimeout, CacheDir: cacheDir, Offline: f.offline})
	return retrieve.Loaders{HTTP: retrieve.FetchHTTP(fetcher), Builtin: templates.Get}, nil
}

func countServices(res *transform.Result) int {
	return len(res.Services)
}
