package validation

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/podtemplate/podtemplate/internal/benchgen"
	"github.com/podtemplate/podtemplate/transform/config"
	"github.com/podtemplate/podtemplate/transform/load"
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
