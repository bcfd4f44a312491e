package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/podtemplate/podtemplate/transform/render"
)

// TestSandboxCannot proves each "cannot" of the README's sandbox list: a
// template (run here by the real binary, with a hostile environment)
// cannot see the environment, the clock, the time zone, randomness, the
// network, files, the folder or the user, and cannot make the deploy read
// the deployer's environment.
func TestSandboxCannot(t *testing.T) {
	const secret = "s3cret-from-the-environment"
	// The folder's name is a secret too: it must not reach the output.
	dir := filepath.Join(t.TempDir(), "secret-folder-name")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"SECRET=" + secret, "TZ=Asia/Tokyo", "USER=deployer-name", "HOSTNAME=deployer-host"}
	render1 := func(t *testing.T, tmpl string, args ...string) hostileRun {
		t.Helper()
		stack := "version: \"3.8\"\nservices:\n  web:\n    image: nginx\n    environment: {KNOWN: known}\n    volumes: [\"./data:/data\"]\n    x-podlike:\n      args: {t: !!timestamp 2020-01-01T10:00:00+02:00}\n      templates:\n        - inline: |\n            " + tmpl + "\n"
		if err := os.WriteFile(filepath.Join(dir, "stack.yml"), []byte(stack), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runGuarded(t, dir, append([]string{"render", "stack.yml"}, args...), nil, env, nil, 0)
		checkGuarded(t, r, true)
		return r
	}
	blocked := func(t *testing.T, fns ...string) {
		t.Helper()
		for _, fn := range fns {
			r := render1(t, `c: {image: "{{ `+fn+` }}"}`)
			if r.code != 1 || !strings.Contains(r.stderr, "is blocked") && !strings.Contains(r.stderr, "not defined") {
				t.Errorf("%s: exit %d, %s", fn, r.code, r.stderr)
			}
		}
	}
	// Everything a template can see, printed: none of it may come from
	// the environment, the folder or the user.
	everything := `c: {image: x, labels: {all: "{{ toJson . | b64enc }}", project: "{{ .Project | toJson | b64enc }}"}}`

	t.Run("the environment", func(t *testing.T) {
		blocked(t, `env "SECRET"`, `expandenv "$SECRET"`)
		r := render1(t, everything)
		if r.code != 0 || strings.Contains(decodeLabels(t, r.stdout), secret) {
			t.Errorf("exit %d; the secret is visible: %s", r.code, r.stderr)
		}
	})
	t.Run("the clock", func(t *testing.T) {
		blocked(t, "now", `date "2006" 0`, "ago 0", `toDate "2006" "2020"`, `dateModify "1h" 0`, `htmlDate 0`)
		r := render1(t, `c: {image: x, labels: {a: "{{ durationRound .Args.t }}"}}`)
		if r.code != 1 || !strings.Contains(r.stderr, "durationRound of a time measures it from the clock") {
			t.Errorf("durationRound of a time: exit %d, %s", r.code, r.stderr)
		}
	})
	t.Run("the time zone", func(t *testing.T) {
		r := render1(t, `c: {image: x, labels: {a: "{{ .Args.t.Local }}", z: "{{ .Args.t.Local.Location }}"}}`)
		if r.code != 0 || !strings.Contains(r.stdout, `a: "2020-01-01 08:00:00 +0000 UTC"`) || !strings.Contains(r.stdout, `z: "UTC"`) {
			t.Errorf("exit %d, TZ=Asia/Tokyo shows through:\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("randomness", func(t *testing.T) {
		blocked(t, "randAlphaNum 8", "randInt 1 9", "uuidv4", `shuffle "abc"`, `genPrivateKey "rsa"`, `bcrypt "x"`, `encryptAES "k" "x"`)
	})
	t.Run("the network", func(t *testing.T) {
		blocked(t, `getHostByName "localhost"`)
	})
	t.Run("files, the host and the user", func(t *testing.T) {
		// No function reads a file, runs a command or names the host or
		// user; the function list is checked against such names.
		bad := regexp.MustCompile(`(?i)file|read|open|exec|command|shell|host|user|env|getwd|cwd|net|http|dns`)
		for _, name := range render.FuncNames() {
			if bad.MatchString(name) {
				t.Errorf("function %q looks like it reaches outside the template", name)
			}
		}
		r := render1(t, everything)
		all := decodeLabels(t, r.stdout)
		for _, s := range []string{"deployer-name", "deployer-host", "root:x:0:0"} {
			if strings.Contains(all, s) {
				t.Errorf("%q is visible", s)
			}
		}
	})
	t.Run("the folder", func(t *testing.T) {
		r := render1(t, everything)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if all := decodeLabels(t, r.stdout); strings.Contains(all, "secret-folder-name") {
			t.Errorf("the folder's name is visible:\n%s", all)
		}
		r = render1(t, `c: {image: x, labels: {p: "[{{ .Project.Name }}]"}}`)
		if !strings.Contains(r.stdout, `p: "[]"`) {
			t.Errorf(".Project.Name is not empty:\n%s", r.stdout)
		}
	})
	t.Run("the deployer's environment through the deploy", func(t *testing.T) {
		for _, args := range [][]string{nil, {"--no-interpolate"}} {
			r := render1(t, `c: {image: x, environment: {A: "${SECRET}", B: "$SECRET"}}`, args...)
			if r.code != 0 || !strings.Contains(r.stdout, `A: "$${SECRET}"`) || !strings.Contains(r.stdout, `B: "$$SECRET"`) {
				t.Errorf("%v: exit %d, template output not escaped:\n%s%s", args, r.code, r.stdout, r.stderr)
			}
		}
	})
}

var b64Label = regexp.MustCompile(`(?:all|project): "([A-Za-z0-9+/=]*)"`)

// decodeLabels returns the base64 labels of the output, decoded.
func decodeLabels(t *testing.T, out string) string {
	t.Helper()
	var b strings.Builder
	for _, m := range b64Label.FindAllStringSubmatch(out, -1) {
		data, err := decodeB64(m[1])
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	if b.Len() == 0 {
		t.Fatalf("no labels in the output:\n%s", out)
	}
	return b.String()
}

func decodeB64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
