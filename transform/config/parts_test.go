package config

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/podtemplate/podtemplate/transform/load"
)

// TestPartsAsOneCollect checks that decoding a large stack's services in
// concurrent parts gives what one pass gives: the pods and jobs in order,
// their sources and args, and every problem in order.
func TestPartsAsOneCollect(t *testing.T) {
	var b strings.Builder
	b.WriteString("services:\n")
	for i := 0; i < 1500; i++ {
		fmt.Fprintf(&b, "  s%d:\n    image: app\n", i)
		switch {
		case i%97 == 5:
			b.WriteString("    x-podlike:\n      unknown: 1\n")
		case i%50 == 3:
			fmt.Fprintf(&b, "    x-jobs:\n      templates: [\"job-%d.yml\"]\n      args: {N: %d}\n      mode: restart-none\n", i%3, i)
		case i%2 == 0:
			fmt.Fprintf(&b, "    x-podlike:\n      pod: pod.yml\n      templates: [\"side-%d.yml\", {inline: \"a: {}\"}]\n      args: {Shard: %d, Team: t%d}\n", i%4, i, i%9)
		}
	}
	b.WriteString("x-podlike:\n  s1:\n    transformer: t.yml\n  args:\n    Global: 1\n")
	describe := func(procs int) string {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		f, err := load.Parse("stack.yml", "/stacks", []byte(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		c, err := Collect([]*load.File{f})
		var out strings.Builder
		fmt.Fprintf(&out, "err: %v\npods %v\njobs %v\n", err, c.PodOrder, c.JobOrder)
		services := map[string]bool{}
		for i := 0; i < 1500; i++ {
			services[fmt.Sprintf("s%d", i)] = true
		}
		fmt.Fprintf(&out, "finish: %v\n", c.Finish(services, nil))
		for _, name := range c.PodOrder {
			p := c.Pods[name]
			fmt.Fprintf(&out, "%s %v %v\n", name, p.Pos, p.Args)
			for _, list := range [][]*Source{p.Pod, p.Init, p.Transformer, p.Templates, p.Copy} {
				for _, s := range list {
					fmt.Fprintf(&out, "  %s %s %s %v %s\n", s.Key(), s.Folder(), s.Name(), s.Pos, s.Service)
				}
			}
		}
		for _, name := range c.JobOrder {
			j := c.Jobs[name]
			fmt.Fprintf(&out, "%s %v %v %s\n", name, j.Pos, j.Args, j.Mode)
			for _, s := range j.Templates {
				fmt.Fprintf(&out, "  %s %v\n", s.Key(), s.Pos)
			}
		}
		return out.String()
	}
	if one, parts := describe(1), describe(2); one != parts {
		t.Errorf("parts differ from one pass:\n%.2000s\n---\n%.2000s", one, parts)
	}
}
