package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the command line in-process and returns stdout, stderr and
// the exit status.
func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(append([]string{"podtemplate"}, args...), &app{stdin: strings.NewReader(stdin), stdout: &o, stderr: &e})
	return o.String(), e.String(), code
}

const tinyStack = "version: \"3.8\"\nservices:\n  web:\n    image: example/web:${TAG:-1}\n" +
	"    x-podlike:\n      templates: [builtin:healthcheck]\n      args: {AppPort: 8080}\n"

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // in stderr
	}{
		{"no command", nil, nil},
		{"misspelled command", []string{"rendr"}, []string{`unknown command "rendr"`, "Did you mean this?\n\trender\n"}},
		{"misspelled jobs command", []string{"jobs", "lss", "shop"}, []string{`unknown jobs sub-command "lss"`, "Did you mean this?", "\tls\n"}},
		{"jobs without a command", []string{"jobs"}, []string{"jobs needs a sub-command"}},
		{"templates without a command", []string{"templates"}, []string{"templates needs a sub-command"}},
		{"unknown flag", []string{"render", "--no-such-flag", "x.yml"}, []string{"unknown flag: --no-such-flag", "Run 'podtemplate help render' for usage."}},
		{"deploy without a stack", []string{"deploy", "-c", "x.yml"}, []string{"deploy takes one STACK name"}},
		{"run with two jobs", []string{"run", "-c", "x.yml", "a", "b"}, []string{"run takes one JOB name"}},
		{"jobs ls with a job", []string{"jobs", "ls", "shop", "seed"}, []string{"jobs ls takes only a STACK", "Run 'podtemplate help jobs ls' for usage."}},
		{"render without files", []string{"render"}, []string{"no input files"}},
		{"bad format", []string{"render", "--format", "toml", "x.yml"}, []string{`--format "toml"`}},
		{"bad controller image", []string{"render", "--controller-image", "Podlike:1", "x.yml"}, []string{`--controller-image "Podlike:1": invalid reference format`}},
		{"multi-line controller image", []string{"render", "--controller-image", "a\nb: c", "x.yml"}, []string{`--controller-image "a\nb: c": invalid reference format`}},
		{"bad env", []string{"run", "-c", "x.yml", "-e", "NOEQUALS", "job"}, []string{`--env "NOEQUALS": expected K=V`}},
		{"bad resolve-image", []string{"deploy", "-c", "x.yml", "--resolve-image", "sometimes", "s"}, []string{"--resolve-image"}},
		{"detach with rollback", []string{"deploy", "-c", "x.yml", "--detach", "--rollback-on-failure", "s"}, []string{"--detach and --rollback-on-failure exclude each other"}},
		{"stack name with a space", []string{"deploy", "-c", "x.yml", "my stack"}, []string{`stack name "my stack": Swarm names`}},
		{"stack name with a dot", []string{"deploy", "-c", "x.yml", "--dry-run", "shop.eu"}, []string{`stack name "shop.eu"`}},
		{"stack name starting with -", []string{"deploy", "-c", "x.yml", "--", "-shop"}, []string{`stack name "-shop"`}},
		{"zero update timeout", []string{"deploy", "-c", "x.yml", "--update-timeout", "0s", "s"}, []string{"--update-timeout 0s: expected a positive duration"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, "", tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitUsage, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"help", "render"}, {"render", "--help"}, {"jobs", "wait", "-h"}, {"help", "jobs", "wait"}} {
		stdout, stderr, code := runCLI(t, "", args...)
		if code != exitOK || stderr != "" {
			t.Errorf("%q: exit %d, stderr %q", args, code, stderr)
		}
		if !strings.Contains(stdout, "Usage:  podtemplate") {
			t.Errorf("%q: no usage line:\n%s", args, stdout)
		}
	}
	stdout, _, _ := runCLI(t, "", "render", "--help")
	for _, w := range []string{"-c, --compose-file", "-f, --args-file", "      --strict ", "      --no-interpolate ", "-o, --output"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("render --help lacks %q:\n%s", w, stdout)
		}
	}
	if strings.Contains(stdout, "[=true|false]") {
		t.Errorf("booleans are shown with [=true|false]:\n%s", stdout)
	}
	stdout, _, _ = runCLI(t, "", "help", "jobs")
	for _, w := range []string{"Usage:  podtemplate jobs COMMAND", "ls ", "logs ", "wait ", "prune ", "-H, --host"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("help jobs lacks %q:\n%s", w, stdout)
		}
	}
}

// TestPluginUsageLine: run as docker-podtemplate, usage lines say how
// the user runs it: docker podtemplate.
func TestPluginUsageLine(t *testing.T) {
	var o, e bytes.Buffer
	code := run([]string{"/x/docker-podtemplate", "podtemplate", "render", "--help"}, &app{stdout: &o, stderr: &e})
	if code != 0 || !strings.Contains(o.String(), "Usage:  docker podtemplate render [OPTIONS]") {
		t.Errorf("exit %d, usage:\n%s%s", code, o.String(), e.String())
	}
	o.Reset()
	e.Reset()
	code = run([]string{"/x/docker-podtemplate", "podtemplate", "render", "--bad"}, &app{stdout: &o, stderr: &e})
	if code != exitUsage || !strings.Contains(e.String(), "Run 'docker podtemplate help render' for usage.") {
		t.Errorf("exit %d, stderr:\n%s", code, e.String())
	}
}

// TestFlagAliases: -c, --compose-file and --file are one flag, in the
// order given; -f, --values and --args-file too.
func TestFlagAliases(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.yml")
	over := filepath.Join(dir, "over.yml")
	args := filepath.Join(dir, "args.yml")
	args2 := filepath.Join(dir, "args2.yml")
	mustWrite(t, base, tinyStack)
	mustWrite(t, over, "version: \"3.8\"\nservices:\n  web:\n    image: example/web:override\n") // docker refuses files of different versions
	mustWrite(t, args, "AppPort: 9000\n")
	mustWrite(t, args2, "AppPort: 9100\n")
	var outputs []string
	for _, flags := range [][]string{
		{"-c", base, "--compose-file", over, "-f", args, "--values", args2},
		{"--file", base, "-c", over, "--args-file", args, "-f", args2},
		{"--compose-file=" + base, "--file=" + over, "--values=" + args, "--args-file=" + args2},
	} {
		stdout, stderr, code := runCLI(t, "", append([]string{"render"}, flags...)...)
		if code != 0 {
			t.Fatalf("render %q: exit %d\n%s", flags, code, stderr)
		}
		if !strings.Contains(stdout, "example/web:override") || !strings.Contains(stdout, "9100") || strings.Contains(stdout, "9000") {
			t.Errorf("render %q: files or args not applied in order:\n%s", flags, stdout)
		}
		outputs = append(outputs, stdout)
	}
	if outputs[0] != outputs[1] || outputs[1] != outputs[2] {
		t.Errorf("the aliases render differently")
	}
}

func TestQuiet(t *testing.T) {
	_, stderr, code := runCLI(t, tinyStack, "validate", "-c", "-")
	if code != 0 || !strings.HasPrefix(stderr, "ok: 1 services") {
		t.Errorf("validate: exit %d, stderr %q", code, stderr)
	}
	stdout, stderr, code := runCLI(t, tinyStack, "validate", "-q", "-c", "-")
	if code != 0 || stderr != "" || stdout != "" {
		t.Errorf("validate -q: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	_, stderr, code = runCLI(t, "services: [", "validate", "--quiet", "-c", "-")
	if code != exitError || !strings.Contains(stderr, "error:") {
		t.Errorf("validate -q of a bad stack: exit %d, stderr %q", code, stderr)
	}
	stdout, _, code = runCLI(t, "", "templates", "ls", "-q")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 0 || len(lines) < 3 {
		t.Fatalf("templates ls -q: exit %d\n%s", code, stdout)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "builtin:") || strings.ContainsAny(l, " \t") {
			t.Errorf("templates ls -q line %q is not one name", l)
		}
	}
	full, _, _ := runCLI(t, "", "templates", "list")
	if !strings.HasPrefix(full, "NAME") || strings.Count(full, "\n") != len(lines)+1 {
		t.Errorf("templates list:\n%s", full)
	}
}

// TestCompletion generates each shell's completion script; bash loads its
// own and completes sub-commands and flags through it.
func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		stdout, stderr, code := runCLI(t, "", "completion", shell)
		if code != 0 || len(stdout) < 500 || !strings.Contains(stdout, "podtemplate") {
			t.Errorf("completion %s: exit %d, %d bytes, stderr %q", shell, code, len(stdout), stderr)
		}
	}
	_, _, code := runCLI(t, "", "completion", "tcsh")
	if code != exitUsage {
		t.Errorf("completion tcsh: exit %d, want %d", code, exitUsage)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	bin := testBinary(t)
	dir := t.TempDir()
	if err := os.Symlink(bin, filepath.Join(dir, "podtemplate")); err != nil {
		t.Fatal(err)
	}
	script, _, _ := runCLI(t, "", "completion", "bash")
	mustWrite(t, filepath.Join(dir, "completion.bash"), script)
	// Load the script, then ask its completion function what it offers,
	// as bash does on TAB.
	probe := `set -e
if [ -r /usr/share/bash-completion/bash_completion ]; then
	source /usr/share/bash-completion/bash_completion
else
	# The one bash-completion function the script needs, for machines
	# without the bash-completion package.
	_get_comp_words_by_ref() { cur="${COMP_WORDS[COMP_CWORD]}"; prev="${COMP_WORDS[COMP_CWORD-1]}"; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
fi
source ./completion.bash
complete -p podtemplate
# compopt only works while bash itself runs a completion.
compopt() { :; }
set +e
try() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}; COMPREPLY=(); __start_podtemplate; echo "$*: ${COMPREPLY[*]}"; }
try podtemplate re
try podtemplate render --str
try podtemplate jobs w
try podtemplate templates show caching
`
	cmd := exec.Command(bash, "--norc", "--noprofile", "-c", probe)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	for _, w := range []string{"-F __start_podtemplate podtemplate", "podtemplate re: render", "podtemplate render --str: --strict", "podtemplate jobs w: wait", "podtemplate templates show caching: caching-proxy"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("bash completion lacks %q:\n%s", w, out)
		}
	}
}

func mustWrite(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSetFlags renders through the CLI with the --set family: Helm's
// typing rules (issue: --set Sidecar.Tag=1.10 rendered busybox:1.1).
func TestSetFlags(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	mustWrite(t, "side.yml", `side:
  image: busybox:{{ .Args.Sidecar.Tag }}
  environment:
    MSG: '{{ .Args.Msg }}'
    MSG_TYPE: '{{ printf "%T" .Args.Msg }}'
    EXTRA: '{{ .Args.Extra }}'
`)
	mustWrite(t, "stack.yml", `version: "3.8"
services:
  web:
    image: example/web:1
    x-podlike:
      templates: side.yml
      args: {Sidecar: {Tag: latest}, Msg: default, Extra: none}
`)
	mustWrite(t, "motd.txt", "hello from a file")
	mustWrite(t, "values.yml", "Msg: from-values\nExtra: from-values\n")
	tests := []struct {
		flags []string
		want  []string
	}{
		{[]string{"--set", "Sidecar.Tag=1.10"}, []string{"image: busybox:1.10\n"}},
		{[]string{"--set", "Msg=0123456"}, []string{"MSG: '0123456'", "MSG_TYPE: 'string'"}},
		{[]string{"--set", "Msg=1234e56"}, []string{"MSG: '1234e56'", "MSG_TYPE: 'string'"}},
		{[]string{"--set", "Msg=1e5"}, []string{"MSG: '1e5'", "MSG_TYPE: 'string'"}},
		{[]string{"--set", "Msg=4a2f0c1"}, []string{"MSG: '4a2f0c1'", "MSG_TYPE: 'string'"}},
		{[]string{"--set", "Msg=42"}, []string{"MSG: '42'", "MSG_TYPE: 'int'"}},
		{[]string{"--set", "Msg=true"}, []string{"MSG: 'true'", "MSG_TYPE: 'bool'"}},
		{[]string{"--set", "Msg=a,Extra=b"}, []string{"MSG: 'a'", "EXTRA: 'b'"}},
		{[]string{"--set", "Extra[1]=x"}, []string{"EXTRA: '[<nil> x]'"}},
		{[]string{"--set", "Extra={a,b}"}, []string{"EXTRA: '[a b]'"}},
		{[]string{"--set-string", "Msg=42"}, []string{"MSG: '42'", "MSG_TYPE: 'string'"}},
		{[]string{"--set", "Msg=42", "--set-string", "Msg=43"}, []string{"MSG: '43'", "MSG_TYPE: 'string'"}},
		{[]string{"--set-file", "Msg=motd.txt"}, []string{"MSG: 'hello from a file'"}},
		{[]string{"--set-json", `Msg={"k":[1,2]}`}, []string{"MSG: 'map[k:[1 2]]'"}},
		{[]string{"-f", "values.yml", "--set", "Extra=set"}, []string{"MSG: 'from-values'", "EXTRA: 'set'"}},
		{[]string{"--values", "values.yml"}, []string{"MSG: 'from-values'", "EXTRA: 'from-values'"}},
	}
	for _, tc := range tests {
		stdout, stderr, code := runCLI(t, "", append([]string{"render", "stack.yml"}, tc.flags...)...)
		if code != 0 {
			t.Errorf("%q: exit %d\n%s", tc.flags, code, stderr)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("%q: output lacks %q:\n%s", tc.flags, w, stdout)
			}
		}
	}
	for _, flags := range [][]string{{"--set", "Msg"}, {"--set", "a[x]=1"}, {"--set-json", "Msg={"}, {"--set-string", "=1"}} {
		_, stderr, code := runCLI(t, "", append([]string{"render", "stack.yml"}, flags...)...)
		if code != exitUsage || !strings.Contains(stderr, "error: --"+strings.TrimPrefix(flags[0], "--")+" ") {
			t.Errorf("%q: exit %d, want %d\n%s", flags, code, exitUsage, stderr)
		}
	}
	_, stderr, code := runCLI(t, "", "render", "stack.yml", "--set-file", "Msg=missing.txt")
	if code != exitError || !strings.Contains(stderr, "missing.txt") {
		t.Errorf("--set-file of a missing file: exit %d\n%s", code, stderr)
	}
}
