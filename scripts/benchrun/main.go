// Command benchrun times a command for scripts/bench.sh: it runs it N times
// one after another and prints the median wall time in seconds and the
// median peak RSS in KiB of the runs, to a precision /usr/bin/time lacks
// (start-up times are a few milliseconds).
//
//	benchrun [-n RUNS] [-warmup RUNS] [-stdout FILE] -- COMMAND [ARGS...]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"
)

func main() {
	runs := flag.Int("n", 5, "timed runs")
	warmup := flag.Int("warmup", 1, "untimed runs first (page cache, binary)")
	stdout := flag.String("stdout", os.DevNull, "where the command's standard output goes")
	flag.Parse()
	if flag.NArg() == 0 || *runs < 1 {
		fmt.Fprintln(os.Stderr, "usage: benchrun [-n RUNS] [-warmup RUNS] [-stdout FILE] -- COMMAND [ARGS...]")
		os.Exit(2)
	}
	var walls []float64
	var rss []int64
	for i := 0; i < *warmup+*runs; i++ {
		wall, maxRSS, err := run(flag.Args(), *stdout)
		if err != nil {
			fmt.Fprintf(os.Stderr, "benchrun: %s: %v\n", flag.Arg(0), err)
			os.Exit(1)
		}
		if i >= *warmup {
			walls, rss = append(walls, wall), append(rss, maxRSS)
		}
	}
	slices.Sort(walls)
	slices.Sort(rss)
	fmt.Printf("%.4f %d\n", walls[(len(walls)-1)/2], rss[(len(rss)-1)/2])
}

// run runs the command once and returns its wall time in seconds and its
// peak resident set in KiB.
func run(args []string, stdout string) (float64, int64, error) {
	out, err := os.Create(stdout)
	if err != nil {
		return 0, 0, err
	}
	defer out.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout = out
	var stderr limited
	cmd.Stderr = &stderr
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start).Seconds()
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %s", err, stderr.b)
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if ru == nil {
		return wall, 0, nil
	}
	return wall, ru.Maxrss, nil
}

// limited keeps the first KiB of what it is given: enough of an error.
type limited struct{ b []byte }

func (l *limited) Write(p []byte) (int, error) {
	if n := 1024 - len(l.b); n > 0 {
		l.b = append(l.b, p[:min(n, len(p))]...)
	}
	return len(p), nil
}
