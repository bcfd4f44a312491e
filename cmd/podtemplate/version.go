package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = ""
)

func init() {
	register(&command{
		name:    "version",
		summary: "print the version",
		usage:   "Usage: podtemplate version\n",
		run: func(ctx context.Context, a *app, args []string) error {
			c := commands["version"]
			fs := newFlagSet(c)
			if err := parseFlags(c, fs, a, args); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "podtemplate %s (commit %s, %s)\n", buildVersion(), buildCommit(), runtime.Version())
			return nil
		},
	})
}

// buildVersion is the -ldflags version, else the module version Go
// recorded (go install ...@v1.2.3), else "dev".
func buildVersion() string {
	if version != "dev" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return version
}

// buildCommit is the -ldflags commit, else the VCS revision Go recorded.
func buildCommit() string {
	if commit != "" {
		return commit
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return s.Value[:12]
			}
		}
	}
	return "unknown"
}
