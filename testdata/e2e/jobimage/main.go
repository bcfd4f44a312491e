// Command jobimage is the single binary inside the podtemplate-e2e test
// image. Its arguments are a sequence of steps separated by "--":
//
//	echo TEXT...    print TEXT (each argument on its own line) to stdout
//	stderr TEXT...  print TEXT to stderr
//	lines N [TEXT]  print N numbered lines to stdout
//	sleep DURATION  sleep for a Go duration ("2s")
//	serve           sleep forever (a long-running, non-job service)
//	env NAME...     print NAME=value for each variable
//	touch PATH...   write a marker file at each PATH
//	require PATH... exit 1 unless every PATH exists (an app that needs a
//	                migration's marker)
//	exit N          print a line to stdout and one to stderr, then exit N
//
// Steps run in order; without an exit step the program exits 0. With no
// arguments it runs the steps in $JOBIMAGE_ARGS (split on spaces).
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	args := os.Args[1:]
	if len(args) == 0 {
		args = strings.Fields(os.Getenv("JOBIMAGE_ARGS"))
	}
	// Exit promptly on SIGTERM (Swarm stops services with it; PID 1 has
	// no default handler).
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		s := <-sigs
		fmt.Printf("jobimage: got %v, exiting\n", s)
		os.Exit(143)
	}()
	for _, step := range split(args) {
		run(step)
	}
}

func split(args []string) [][]string {
	var steps [][]string
	cur := []string{}
	for _, a := range args {
		if a == "--" {
			if len(cur) > 0 {
				steps = append(steps, cur)
			}
			cur = []string{}
			continue
		}
		cur = append(cur, a)
	}
	if len(cur) > 0 {
		steps = append(steps, cur)
	}
	return steps
}

func run(step []string) {
	cmd, rest := step[0], step[1:]
	switch cmd {
	case "echo":
		for _, s := range rest {
			fmt.Println(s)
		}
	case "stderr":
		for _, s := range rest {
			fmt.Fprintln(os.Stderr, s)
		}
	case "lines":
		n := 10
		if len(rest) > 0 {
			n, _ = strconv.Atoi(rest[0])
		}
		text := "line"
		if len(rest) > 1 {
			text = strings.Join(rest[1:], " ")
		}
		for i := 1; i <= n; i++ {
			fmt.Printf("%s %d\n", text, i)
		}
	case "sleep":
		d := time.Second
		if len(rest) > 0 {
			var err error
			if d, err = time.ParseDuration(rest[0]); err != nil {
				fail("sleep: %v", err)
			}
		}
		time.Sleep(d)
	case "serve":
		fmt.Println("serving")
		select {}
	case "env":
		for _, name := range rest {
			fmt.Printf("%s=%s\n", name, os.Getenv(name))
		}
	case "touch":
		for _, p := range rest {
			if err := os.WriteFile(p, []byte("ok\n"), 0o644); err != nil {
				fail("touch: %v", err)
			}
			fmt.Printf("wrote %s\n", p)
		}
	case "require":
		for _, p := range rest {
			if _, err := os.Stat(p); err != nil {
				fmt.Printf("marker %s missing: refusing to start\n", p)
				os.Exit(1)
			}
			fmt.Printf("marker %s found\n", p)
		}
	case "exit":
		code := 0
		if len(rest) > 0 {
			var err error
			if code, err = strconv.Atoi(rest[0]); err != nil {
				fail("exit: %v", err)
			}
		}
		fmt.Printf("exiting with %d\n", code)
		fmt.Fprintf(os.Stderr, "exit status %d\n", code)
		os.Exit(code)
	default:
		fail("unknown step %q", cmd)
	}
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "jobimage: "+format+"\n", a...)
	os.Exit(2)
}
