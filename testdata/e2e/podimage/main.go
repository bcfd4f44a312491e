// Command podimage is the single binary inside the podtemplate-e2e-pod
// test image, the components of the end-to-end pods run by podlike's real
// controller. Its arguments are steps separated by "--":
//
//	echo TEXT...        print TEXT to stdout
//	env NAME...         print NAME=value for each variable
//	http ADDR           serve "hello from $NAME" over HTTP on ADDR, in the background
//	poll URL            GET URL until it answers 200 (60s), print "reached URL: BODY"
//	check URL           GET URL once: exit 0 on 200, 1 otherwise (a health check)
//	cat FILE            print FILE, waiting for it to exist (60s)
//	append FILE TEXT    append TEXT and a newline to FILE
//	sleep DURATION      sleep ("2s")
//	forever             block until stopped
//	exit N              exit with status N
//
// Without an exit step the program exits 0.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		os.Exit(143)
	}()
	var step []string
	for _, a := range append(os.Args[1:], "--") {
		if a != "--" {
			step = append(step, a)
			continue
		}
		if len(step) > 0 {
			run(step[0], step[1:])
		}
		step = nil
	}
}

func run(cmd string, args []string) {
	switch cmd {
	case "echo":
		fmt.Println(strings.Join(args, " "))
	case "env":
		for _, n := range args {
			fmt.Printf("%s=%s\n", n, os.Getenv(n))
		}
	case "http":
		name := os.Getenv("NAME")
		srv := &http.Server{Addr: args[0], Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello from %s", name)
		})}
		go func() {
			if err := srv.ListenAndServe(); err != nil {
				fail("http: %v", err)
			}
		}()
		fmt.Printf("serving on %s\n", args[0])
	case "poll":
		deadline := time.Now().Add(60 * time.Second)
		for {
			body, err := get(args[0])
			if err == nil {
				fmt.Printf("reached %s: %s\n", args[0], body)
				return
			}
			if time.Now().After(deadline) {
				fail("poll %s: %v", args[0], err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	case "check":
		if _, err := get(args[0]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "cat":
		deadline := time.Now().Add(60 * time.Second)
		for {
			data, err := os.ReadFile(args[0])
			if err == nil {
				fmt.Printf("%s: %s\n", args[0], strings.TrimSpace(string(data)))
				return
			}
			if time.Now().After(deadline) {
				fail("cat: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	case "append":
		f, err := os.OpenFile(args[0], os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			fail("append: %v", err)
		}
		fmt.Fprintln(f, strings.Join(args[1:], " "))
		if err := f.Close(); err != nil {
			fail("append: %v", err)
		}
		fmt.Printf("appended to %s\n", args[0])
	case "sleep":
		d, err := time.ParseDuration(args[0])
		if err != nil {
			fail("sleep: %v", err)
		}
		time.Sleep(d)
	case "forever":
		select {}
	case "exit":
		code, err := strconv.Atoi(args[0])
		if err != nil {
			fail("exit: %v", err)
		}
		fmt.Printf("exiting with %d\n", code)
		os.Exit(code)
	default:
		fail("unknown step %q", cmd)
	}
}

func get(url string) (string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return string(body), nil
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "podimage: "+format+"\n", a...)
	os.Exit(2)
}
