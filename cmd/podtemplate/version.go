package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/spf13/cobra"
)

// Set with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = ""
)

// jsonVersion is version --format json.
type jsonVersion struct {
	Version  string `json:"version"`
	Commit   string `json:"commit"`
	Go       string `json:"go"`
	Platform string `json:"platform"` // GOOS/GOARCH
}

func newVersionCommand(a *app) *cobra.Command {
	var format outputFormat
	cmd := &cobra.Command{
		Use:                   "version [OPTIONS]",
		Short:                 "Print the version",
		Args:                  exactArgs(0, "version takes no arguments"),
		DisableFlagsInUseLine: true,
		Annotations:           map[string]string{quickAnnotation: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVersion(a, format)
		},
	}
	format.register(cmd.Flags(), "version, commit, go, platform")
	return cmd
}

func runVersion(a *app, format outputFormat) error {
	if err := format.check(); err != nil {
		return err
	}
	if format.json() {
		return writeJSON(a.stdout, jsonVersion{Version: buildVersion(), Commit: buildCommit(), Go: runtime.Version(),
			Platform: runtime.GOOS + "/" + runtime.GOARCH})
	}
	fmt.Fprintf(a.stdout, "podtemplate %s (commit %s, %s)\n", buildVersion(), buildCommit(), runtime.Version())
	return nil
}

// buildVersion is the -ldflags version, else the module version Go
// recorded (go install ...@v1.2.3), else "dev".
func buildVersion() string {
	if version != "dev" {
		return version
	}
	if info := buildInfo(); info != nil && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return version
}

// buildCommit is the -ldflags commit, else the VCS revision Go recorded.
func buildCommit() string {
	if commit != "" {
		return commit
	}
	if info := buildInfo(); info != nil {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return s.Value[:12]
			}
		}
	}
	return "unknown"
}

// buildInfo is what Go recorded in the binary, parsed once (nil when
// absent).
func buildInfo() *debug.BuildInfo {
	buildInfoOnce.Do(func() { parsedBuildInfo, _ = debug.ReadBuildInfo() })
	return parsedBuildInfo
}

var (
	buildInfoOnce   sync.Once
	parsedBuildInfo *debug.BuildInfo
)
