// Command tcprelay forwards TCP connections from one address to another.
// scripts/swarm-worker.sh runs it inside a test worker's network namespace
// so that the Swarm manager, which advertises 127.0.0.1:2377, is reachable
// at that address from the namespace too.
//
// Usage: tcprelay -listen 127.0.0.1:2377 -to 192.168.250.1:2377
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

func main() {
	listen := flag.String("listen", "", "address to listen on (host:port)")
	to := flag.String("to", "", "address to forward each connection to (host:port)")
	flag.Parse()
	if *listen == "" || *to == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: tcprelay -listen HOST:PORT -to HOST:PORT")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tcprelay:", err)
		os.Exit(1)
	}
	for {
		conn, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "tcprelay: accept:", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		go relay(conn.(*net.TCPConn), *to)
	}
}

// relay copies both ways until both sides are done, passing on half-closes.
func relay(in *net.TCPConn, to string) {
	defer in.Close()
	c, err := net.DialTimeout("tcp", to, 10*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tcprelay: dial:", err)
		return
	}
	out := c.(*net.TCPConn)
	defer out.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	pipe := func(dst, src *net.TCPConn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		_ = dst.CloseWrite()
	}
	go pipe(out, in)
	go pipe(in, out)
	wg.Wait()
}
