package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/podtemplate/podtemplate/internal/stackcheck"
	"gopkg.in/yaml.v3"
)

func TestPluginArgs(t *testing.T) {
	tests := []struct {
		name    string
		argv    []string
		args    []string
		globals []string
		env     map[string]string // expected; "" means unset
	}{
		{
			name:    "context before the plugin name",
			argv:    []string{"docker-podtemplate", "--context", "foo", "podtemplate", "render", "x"},
			args:    []string{"render", "x"},
			globals: []string{"--context", "foo"},
			env:     map[string]string{"DOCKER_CONTEXT": "foo", "DOCKER_HOST": ""},
		},
		{
			name:    "context=value",
			argv:    []string{"/home/u/.docker/cli-plugins/docker-podtemplate", "--context=bar", "podtemplate", "version"},
			args:    []string{"version"},
			globals: []string{"--context=bar"},
			env:     map[string]string{"DOCKER_CONTEXT": "bar", "DOCKER_HOST": ""},
		},
		{
			name:    "a context named podtemplate",
			argv:    []string{"docker-podtemplate", "--context", "podtemplate", "podtemplate", "version"},
			args:    []string{"version"},
			globals: []string{"--context", "podtemplate"},
			env:     map[string]string{"DOCKER_CONTEXT": "podtemplate", "DOCKER_HOST": ""},
		},
		{
			name: "run directly with a stack named podtemplate",
			argv: []string{"docker-podtemplate", "deploy", "-c", "stack.yml", "podtemplate"},
			args: []string{"deploy", "-c", "stack.yml", "podtemplate"},
		},
		{
			name:    "host and config",
			argv:    []string{"docker-podtemplate", "-H", "tcp://swarm:2376", "--config", "/etc/dc", "--debug", "podtemplate", "deploy", "-c", "s.yml", "app"},
			args:    []string{"deploy", "-c", "s.yml", "app"},
			globals: []string{"-H", "tcp://swarm:2376", "--config", "/etc/dc", "--debug"},
			env:     map[string]string{"DOCKER_HOST": "tcp://swarm:2376", "DOCKER_CONFIG": "/etc/dc", "DOCKER_CONTEXT": ""},
		},
		{
			name:    "no global flags",
			argv:    []string{"docker-podtemplate", "podtemplate", "render", "podtemplate.yml"},
			args:    []string{"render", "podtemplate.yml"},
			globals: []string{},
			env:     map[string]string{"DOCKER_CONTEXT": "", "DOCKER_HOST": "tcp://before:2375"},
		},
		{
			name: "not run as a plugin",
			argv: []string{"/usr/local/bin/podtemplate", "render", "--context", "x"},
			args: []string{"render", "--context", "x"},
			env:  map[string]string{"DOCKER_CONTEXT": "", "DOCKER_HOST": "tcp://before:2375"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// t.Setenv restores the environment pluginArgs changes.
			t.Setenv("DOCKER_CONTEXT", "")
			os.Unsetenv("DOCKER_CONTEXT")
			t.Setenv("DOCKER_HOST", "tcp://before:2375")
			t.Setenv("DOCKER_CONFIG", "")
			os.Unsetenv("DOCKER_CONFIG")

			var stdout bytes.Buffer
			a := &app{stdout: &stdout, stderr: &stdout}
			args, handled, code := pluginArgs(tc.argv, a)
			if handled || code != 0 {
				t.Fatalf("handled=%v code=%d, want false 0", handled, code)
			}
			if !reflect.DeepEqual(args, tc.args) {
				t.Errorf("args = %q, want %q", args, tc.args)
			}
			if len(a.globalDocker) != 0 || len(tc.globals) != 0 {
				if !reflect.DeepEqual(a.globalDocker, tc.globals) {
					t.Errorf("globalDocker = %q, want %q", a.globalDocker, tc.globals)
				}
			}
			for k, want := range tc.env {
				if got := os.Getenv(k); got != want {
					t.Errorf("$%s = %q, want %q", k, got, want)
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("unexpected output %q", stdout.String())
			}
		})
	}
}

func TestPluginMetadataInProcess(t *testing.T) {
	var stdout bytes.Buffer
	a := &app{stdout: &stdout, stderr: &stdout}
	_, handled, code := pluginArgs([]string{"/x/docker-podtemplate", "docker-cli-plugin-metadata"}, a)
	if !handled || code != exitOK {
		t.Fatalf("handled=%v code=%d, want true 0", handled, code)
	}
	checkPluginMetadata(t, stdout.Bytes())

	// Under its own name the binary does not answer the metadata request.
	stdout.Reset()
	args, handled, _ := pluginArgs([]string{"podtemplate", "docker-cli-plugin-metadata"}, a)
	if handled || stdout.Len() != 0 || len(args) != 1 {
		t.Errorf("as podtemplate: handled=%v args=%q output=%q", handled, args, stdout.String())
	}
}

// checkPluginMetadata checks the answer the docker CLI requires of a plugin.
func checkPluginMetadata(t *testing.T, out []byte) {
	t.Helper()
	var md map[string]any
	if err := json.Unmarshal(out, &md); err != nil {
		t.Fatalf("metadata is not JSON: %v\n%s", err, out)
	}
	if md["SchemaVersion"] != "0.1.0" {
		t.Errorf("SchemaVersion = %v, want 0.1.0", md["SchemaVersion"])
	}
	for _, k := range []string{"Vendor", "Version", "ShortDescription", "URL"} {
		if s, _ := md[k].(string); s == "" {
			t.Errorf("metadata %s is empty or missing:\n%s", k, out)
		}
	}
}

// pluginVersion is stamped into the plugin binary the tests build, to tell
// it from any other podtemplate the docker CLI could find.
const pluginVersion = "v0.0.0-plugintest"

// pluginEnv builds the binary as a docker CLI plugin in a fresh DOCKER_CONFIG
// and returns the binary's path and the environment to run docker with.
func pluginEnv(t *testing.T) (plugin string, env []string) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI in PATH; skipping the docker CLI plugin test")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH to build the plugin; skipping")
	}
	config := t.TempDir()
	plugin = filepath.Join(config, "cli-plugins", "docker-podtemplate")
	build := exec.Command(goBin, "build", "-ldflags", "-X main.version="+pluginVersion, "-o", plugin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	env = append(os.Environ(), "DOCKER_CONFIG="+config)
	return plugin, env
}

// runDockerCLI runs the docker CLI in dir and returns stdout, stderr, exit code.
func runDockerCLI(t *testing.T, dir string, env []string, stdin []byte, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command("docker", args...)
	cmd.Dir = dir
	cmd.Env = env
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	return o.String(), e.String(), code
}

// renderedPodComponents returns the pod.component.* labels of each service of a
// rendered stack file, failing t when it is not one.
func renderedPodComponents(t *testing.T, out []byte) map[string][]string {
	t.Helper()
	var stack struct {
		Version  string `yaml:"version"`
		Services map[string]struct {
			Labels map[string]string `yaml:"labels"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(out, &stack); err != nil {
		t.Fatalf("output is not YAML: %v\n%s", err, out)
	}
	if len(stack.Services) == 0 {
		t.Fatalf("output has no services:\n%s", out)
	}
	comps := map[string][]string{}
	for name, s := range stack.Services {
		for k := range s.Labels {
			if strings.HasPrefix(k, "pod.component.") {
				comps[name] = append(comps[name], k)
			}
		}
	}
	if len(comps) == 0 {
		t.Fatalf("no service has pod.component. labels:\n%s", out)
	}
	return comps
}

func TestPluginDockerCLI(t *testing.T) {
	plugin, env := pluginEnv(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("metadata", func(t *testing.T) {
		out, err := exec.Command(plugin, "docker-cli-plugin-metadata").Output()
		if err != nil {
			t.Fatalf("docker-podtemplate docker-cli-plugin-metadata: %v", err)
		}
		checkPluginMetadata(t, out)
	})

	t.Run("render", func(t *testing.T) {
		stdout, stderr, code := runDockerCLI(t, root, env, nil, "podtemplate", "render", "examples/caching-proxy/stack.yml")
		if code != 0 {
			t.Fatalf("docker podtemplate render: exit %d\n%s", code, stderr)
		}
		comps := renderedPodComponents(t, []byte(stdout))
		if len(comps["shop"]) == 0 {
			t.Errorf("service shop has no pod.component. labels: %v", comps)
		}
		stackcheck.Check(t, filepath.Join(root, "examples", "caching-proxy"), []byte(stdout), env)
	})

	t.Run("stdin", func(t *testing.T) {
		stack := "version: \"3.8\"\nservices:\n  web:\n    image: example/web:1.2\n" +
			"    x-podlike:\n      templates: [builtin:healthcheck]\n      args: {AppPort: 8080}\n"
		stdout, stderr, code := runDockerCLI(t, t.TempDir(), env, []byte(stack), "podtemplate", "render", "-")
		if code != 0 {
			t.Fatalf("docker podtemplate render -: exit %d\n%s", code, stderr)
		}
		if comps := renderedPodComponents(t, []byte(stdout)); len(comps["web"]) != 2 {
			t.Errorf("web: got components %v, want app and healthcheck", comps["web"])
		}
	})

	t.Run("global flags before the plugin name", func(t *testing.T) {
		stdout, stderr, code := runDockerCLI(t, root, env, nil, "--context", "default", "podtemplate", "version")
		if code != 0 || !strings.HasPrefix(stdout, "podtemplate "+pluginVersion+" ") {
			t.Fatalf("docker --context default podtemplate version: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
	})

	t.Run("exit status", func(t *testing.T) {
		_, stderr, code := runDockerCLI(t, root, env, nil, "podtemplate", "render", "testdata/does-not-exist.yml")
		if code != exitError || !strings.Contains(stderr, "error:") || !strings.Contains(stderr, "does-not-exist.yml") {
			t.Errorf("docker podtemplate render of a missing file: exit %d (want %d)\n%s", code, exitError, stderr)
		}
		_, _, code = runDockerCLI(t, root, env, nil, "podtemplate", "render", "--no-such-flag")
		if code != exitUsage {
			t.Errorf("docker podtemplate render --no-such-flag: exit %d, want %d", code, exitUsage)
		}
	})

	t.Run("usage line", func(t *testing.T) {
		stdout, stderr, code := runDockerCLI(t, root, env, nil, "podtemplate", "deploy", "--help")
		if code != 0 || !strings.Contains(stdout, "Usage:  docker podtemplate deploy [OPTIONS] STACK") {
			t.Errorf("docker podtemplate deploy --help: exit %d\n%s%s", code, stdout, stderr)
		}
		_, stderr, code = runDockerCLI(t, root, env, nil, "podtemplate", "rendr")
		if code != exitUsage || !strings.Contains(stderr, "Did you mean this?") {
			t.Errorf("docker podtemplate rendr: exit %d\n%s", code, stderr)
		}
	})

	t.Run("listed by docker", func(t *testing.T) {
		stdout, stderr, code := runDockerCLI(t, root, env, nil, "--help")
		if code != 0 || !strings.Contains(stdout, "podtemplate") {
			t.Errorf("docker --help does not list podtemplate (exit %d):\n%s%s", code, stdout, stderr)
		}
	})
}

// TestPluginInstallScript runs scripts/install.sh into a temporary prefix and
// DOCKER_CONFIG, twice (it is idempotent), and uses the plugin symlink.
func TestPluginInstallScript(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping scripts/install.sh")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI in PATH; skipping the install script test")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command in PATH; skipping the install script test")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	prefix, config := filepath.Join(tmp, "prefix"), filepath.Join(tmp, "docker")
	env := append(os.Environ(), "DOCKER_CONFIG="+config, "VERSION="+pluginVersion)
	for i := 0; i < 2; i++ {
		cmd := exec.Command("sh", filepath.Join(root, "scripts", "install.sh"), prefix)
		cmd.Dir = tmp
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("scripts/install.sh (run %d): %v\n%s", i+1, err, out)
		}
		t.Logf("scripts/install.sh (run %d):\n%s", i+1, out)
	}
	bin := filepath.Join(prefix, "bin", "podtemplate")
	link := filepath.Join(config, "cli-plugins", "docker-podtemplate")
	if dest, err := os.Readlink(link); err != nil || dest != bin {
		t.Fatalf("plugin link %s -> %q (%v), want -> %s", link, dest, err, bin)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "podtemplate "+pluginVersion+" ") {
		t.Errorf("%s version: %q %v", bin, out, err)
	}
	stdout, stderr, code := runDockerCLI(t, tmp, env, nil, "podtemplate", "version")
	if code != 0 || !strings.HasPrefix(stdout, "podtemplate "+pluginVersion+" ") {
		t.Errorf("docker podtemplate version through the link: exit %d\n%s%s", code, stdout, stderr)
	}
}
