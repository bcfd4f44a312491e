package main

import (
	"github.com/podtemplate/podtemplate/transform"
	"github.com/podtemplate/podtemplate/transform/source"
	"github.com/podtemplate/podtemplate/transform/yamlx"
)

// loaders builds the HTTP and built-in template loaders from the flags.
func (f *renderFlags) loaders() (source.Loaders, error) {
	return source.Loaders{}, nil
}

func countServices(res *transform.Result) int {
	return len(yamlx.Pairs(yamlx.Get(yamlx.Body(res.Doc), "services")))
}
