// Command benchgen writes the benchmark workload: benchgen DIR N.
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/podtemplate/podtemplate/internal/benchgen"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: benchgen DIR N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "N must be a number")
		os.Exit(2)
	}
	path, err := benchgen.Write(os.Args[1], n)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(path)
}
