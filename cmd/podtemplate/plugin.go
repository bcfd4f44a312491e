package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
)

// pluginName is the binary's name as a docker CLI plugin.
const pluginName = "docker-podtemplate"

// pluginMetadata answers `docker-cli-plugin-metadata`.
type pluginMetadata struct {
	SchemaVersion    string `json:"SchemaVersion"`
	Vendor           string `json:"Vendor"`
	Version          string `json:"Version"`
	ShortDescription string `json:"ShortDescription"`
	URL              string `json:"URL"`
}

// pluginArgs returns the podtemplate arguments. Run as a docker CLI plugin
// (docker-podtemplate), it answers the metadata request itself, and takes
// the docker global flags the CLI passes before the plugin name (--context,
// -H, --config...), keeping them for the docker calls it makes.
func pluginArgs(argv []string, a *app) (args []string, handled bool, code int) {
	if len(argv) == 0 {
		return nil, false, 0
	}
	args = argv[1:]
	asPlugin := strings.TrimSuffix(filepath.Base(argv[0]), ".exe") == pluginName
	a.asPlugin = asPlugin
	if !asPlugin {
		return args, false, 0
	}
	if len(args) > 0 && args[0] == "docker-cli-plugin-metadata" {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(pluginMetadata{
			SchemaVersion:    "0.1.0",
			Vendor:           "podtemplate",
			Version:          buildVersion(),
			ShortDescription: "Compile x-podlike and x-jobs stacks, deploy them and follow their jobs",
			URL:              "https://github.com/podtemplate/podtemplate",
		})
		return nil, true, exitOK
	}
	// docker passes its global flags, then the plugin name. Skip the flags
	// by name so a flag value or a stack called "podtemplate" is not taken
	// for the plugin name.
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "podtemplate" {
			a.globalDocker = append([]string(nil), args[:i]...)
			applyDockerGlobals(a.globalDocker)
			return args[i+1:], false, 0
		}
		if !strings.HasPrefix(arg, "-") {
			break
		}
		if name, _, hasValue := strings.Cut(arg, "="); !hasValue && dockerFlagWithValue(name) {
			i++
		}
	}
	return args, false, 0
}

// dockerFlagWithValue reports whether name is one of docker's global
// flags that take a value (a switch, not a map: a map literal is built by
// the package's initialiser at every start).
func dockerFlagWithValue(name string) bool {
	switch name {
	case "--config", "-c", "--context", "-H", "--host", "-l", "--log-level", "--tlscacert", "--tlscert", "--tlskey":
		return true
	}
	return false
}

// applyDockerGlobals exports --context and -H/--host so the Engine client
// reaches the daemon the docker CLI was pointed at.
func applyDockerGlobals(flags []string) {
	for i := 0; i < len(flags); i++ {
		name, value, hasValue := strings.Cut(flags[i], "=")
		if !hasValue && i+1 < len(flags) {
			value = flags[i+1]
		}
		switch name {
		case "--context", "-c":
			os.Setenv("DOCKER_CONTEXT", value)
			os.Unsetenv("DOCKER_HOST")
		case "-H", "--host":
			os.Setenv("DOCKER_HOST", value)
		case "--config":
			os.Setenv("DOCKER_CONFIG", value)
		}
	}
}
