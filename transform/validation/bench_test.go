package validation

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/podtemplate/podtemplate/internal/benchgen"
	"github.com/podtemplate/podtemplate/transform/config"
	"github.com/podtemplate/podtemplate/transform/load"
	"github.com/podtemplate/podtemplate/transform/validation/internal/fastschema"
)

// BenchmarkCheck3000 validates the 3000-service benchmark stack.
func BenchmarkCheck3000(b *testing.B) {
	dir := b.TempDir()
	if _, err := benchgen.Write(dir, 3000); err != nil {
		b.Fatal(err)
	}
	files, err := load.Files(load.Options{Files: []string{filepath.Join(dir, "stack.yml")}, Cwd: dir, Env: map[string]string{}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := config.Collect(files); err != nil {
		b.Fatal(err)
	}
	config.Strip(files)
	b.ResetTimer()
	before := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := Check(files, Options{Env: map[string]string{}}); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time, unlike wall time, barely depends on what else the
	// machine runs.
	b.ReportMetric(float64(cpuTime()-before)/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestBenchStackNeverCompilesTheSchema: the benchmark stack (pods, ports,
// labels, environment) is valid, and fastschema decides every document
// Check asks about, so docker's schema is never compiled.
func TestBenchStackNeverCompilesTheSchema(t *testing.T) {
	dir := t.TempDir()
	if _, err := benchgen.Write(dir, 10); err != nil {
		t.Fatal(err)
	}
	files, err := load.Files(load.Options{Files: []string{filepath.Join(dir, "stack.yml")}, Cwd: dir, Env: map[string]string{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Collect(files)
	if err != nil {
		t.Fatal(err)
	}
	config.Strip(files)
	opts := Options{Env: map[string]string{}, Pods: map[string]bool{}, Built: map[string]bool{},
		MovesToComponent: func(k string) bool { return k == "mem_limit" || k == "image" }}
	for name := range cfg.Pods {
		opts.Pods[name], opts.Built[name] = true, true
	}
	asked := 0
	observeSchemaCheck = func(doc map[string]any, version string, r fastschema.Result) {
		asked++
		if r != fastschema.Valid {
			t.Errorf("fastschema: %v for %v", r, doc)
		}
	}
	defer func() { observeSchemaCheck = nil }()
	if _, err := Check(files, opts); err != nil {
		t.Fatal(err)
	}
	if asked == 0 {
		t.Fatal("no document checked")
	}
}
