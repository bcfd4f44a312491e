package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// shellBlocks returns the fenced shell blocks (sh, shell, bash, console)
// of a markdown file, with their info strings.
func shellBlocks(t *testing.T, path string) (blocks []string, infos []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fence := regexp.MustCompile("(?ms)^```(sh|shell|bash|console)([^\\n]*)\\n(.*?)^```")
	for _, m := range fence.FindAllStringSubmatch(string(data), -1) {
		blocks = append(blocks, m[3])
		infos = append(infos, strings.TrimSpace(m[1]+m[2]))
	}
	return blocks, infos
}

// splitWords splits a command line as a shell would for the simple lines
// of the docs: spaces separate words, quotes group them.
func splitWords(line string) []string {
	var words []string
	var cur strings.Builder
	var quote rune
	inWord := false
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// TestDocumentedCommands checks every podtemplate command line of the
// shell blocks of README.md, docs/*.md and examples/*/README.md against
// the command tree: the command exists, its flags exist and take what
// they are given, and it gets the arguments it accepts.
func TestDocumentedCommands(t *testing.T) {
	files, _ := filepath.Glob("../../docs/*.md")
	more, _ := filepath.Glob("../../examples/*/README.md")
	files = append(append(files, "../../README.md"), more...)
	var checked int
	for _, f := range files {
		blocks, _ := shellBlocks(t, f)
		for _, b := range blocks {
			joined := strings.ReplaceAll(b, "\\\n", " ")
			for _, line := range strings.Split(joined, "\n") {
				line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "$ "))
				line = strings.TrimPrefix(line, "docker ")
				if !strings.HasPrefix(line, "podtemplate ") {
					continue
				}
				for _, cut := range []string{" #", " |", " <", " >", " &&", " ||", ";"} {
					if i := strings.Index(line, cut); i >= 0 {
						line = line[:i]
					}
				}
				words := splitWords(line)[1:]
				if strings.ContainsAny(line, "[]") || strings.Contains(line, "...") {
					continue // a synopsis, not a command
				}
				root := newRootCommand(&app{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}})
				cmd, rest, err := root.Find(words)
				if err == nil {
					err = cmd.ParseFlags(rest)
				}
				if err == nil {
					err = cmd.ValidateArgs(cmd.Flags().Args())
				}
				if err != nil {
					t.Errorf("%s: %q: %v", filepath.Base(f), line, err)
				}
				checked++
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d command lines found in the docs", checked)
	}
	t.Logf("%d documented command lines checked", checked)
}

// TestReadmeSetup runs the README's first set-up command (rendering an
// example) through the CLI.
func TestReadmeSetup(t *testing.T) {
	blocks, _ := shellBlocks(t, "../../README.md")
	var render string
	for _, b := range blocks {
		if strings.Contains(b, "go test ./...") {
			render, _, _ = strings.Cut(b, "\n")
		}
	}
	words := splitWords(strings.TrimSpace(strings.Split(render, "#")[0]))
	if len(words) < 4 || words[0] != "go" || words[2] != "./cmd/podtemplate" {
		t.Fatalf("the README's set-up block has no `go run ./cmd/podtemplate ...` line: %q", render)
	}
	t.Chdir("../..")
	stdout, stderr, code := runCLI(t, "", words[3:]...)
	if code != 0 || !strings.Contains(stdout, "pod.component.") {
		t.Errorf("%q: exit %d\n%s%s", words, code, stdout, stderr)
	}
}

// TestTutorial runs the README's tutorial block with bash on the real
// Swarm, as a newcomer would, under a unique stack name.
func TestTutorial(t *testing.T) {
	needSwarm(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl")
	}
	bin := testBinary(t)
	blocks, infos := shellBlocks(t, "../../README.md")
	var script string
	for i, info := range infos {
		if info == "sh tutorial" {
			script = blocks[i]
		}
	}
	if script == "" {
		t.Fatal("README.md has no ```sh tutorial block")
	}
	stack := testStack(t, "tut")
	script = regexp.MustCompile(`(\s)tutorial(\s|$)`).ReplaceAllString(script, "${1}"+stack+"${2}")
	binDir := t.TempDir()
	if err := os.Symlink(bin, filepath.Join(binDir, "podtemplate")); err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs("../..")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"), "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the tutorial failed: %v\n%s", err, out)
	}
	for _, want := range []string{
		`built tutorial-app:1`,
		`migrate\S* +\| migrating to schema 1: step 1 of 3`,
		`Hello from podtemplate \(schema 1\)`,
		`service migrate: changed`,
		`\+      - "2"`,
		`migrate\S* +\| schema 2 is in place`,
		`0 added, 1 changed, 0 removed, 1 unchanged`,
	} {
		if !regexp.MustCompile(want).Match(out) {
			t.Errorf("the tutorial's output lacks %q:\n%s", want, out)
		}
	}
}
