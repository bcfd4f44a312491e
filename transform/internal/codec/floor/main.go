// Command floor is the floor scripts/bench.sh measures a render against: it
// only reads a stack file, parses it and writes it out again with the
// project's codec (the parallel split parser where the file allows, else
// yaml.v3, and the block writer), the least any render of that stack does.
//
//	floor IN OUT
package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/podtemplate/podtemplate/internal/prefault"
	// The same start-up as podtemplate's (see roundTrip).
	_ "github.com/podtemplate/podtemplate/internal/prefault/startup"
	"github.com/podtemplate/podtemplate/transform/internal/codec"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: floor IN OUT")
		os.Exit(2)
	}
	if err := roundTrip(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

// floorPrefaultPerInputByte times the input's size is the heap the floor
// has populated in bulk before it starts, as podtemplate render does
// (package prefault): about the floor's own peak, so that the two compare
// with the same memory set-up.
const floorPrefaultPerInputByte = 25

func roundTrip(in, out string) error {
	if st, err := os.Stat(in); err == nil {
		prefault.Heap(floorPrefaultPerInputByte*st.Size(), 0)
	}
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	doc, ok := codec.Split(data)
	if !ok {
		doc = &yaml.Node{}
		if err := yaml.Unmarshal(data, doc); err != nil {
			return err
		}
	}
	var b bytes.Buffer
	b.Grow(len(data))
	if err := codec.Write(&b, yamlx.Body(doc)); err != nil {
		return err
	}
	return os.WriteFile(out, b.Bytes(), 0o644)
}
