// Command app is the tutorial's application: one static binary with two
// modes, so that its image is FROM scratch and built without pulling
// anything.
//
//	app serve            answers HTTP on :8080 with $GREETING
//	app migrate VERSION  prints the steps of a (pretend) schema migration
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: app serve | app migrate VERSION")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		greeting := os.Getenv("GREETING")
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s (schema %s)\n", greeting, os.Getenv("SCHEMA_VERSION"))
		})
		fmt.Println("serving on :8080")
		if err := http.ListenAndServe(":8080", nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "migrate":
		version := "1"
		if len(os.Args) > 2 {
			version = os.Args[2]
		}
		for step := 1; step <= 3; step++ {
			fmt.Printf("migrating to schema %s: step %d of 3\n", version, step)
			time.Sleep(200 * time.Millisecond)
		}
		fmt.Printf("schema %s is in place\n", version)
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}
}
