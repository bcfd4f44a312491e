package stackdiff

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnified(t *testing.T) {
	a := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\n"
	b := "a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\nn\n"
	got := unified(a, b, "old", "new")
	want := `--- old
+++ new
@@ -1,5 +1,5 @@
 a
-b
+B
 c
 d
 e
@@ -11,3 +11,4 @@
 k
 l
 m
+n
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if unified(a, a, "x", "y") != "" {
		t.Error("equal texts give a diff")
	}
	// patch(1) applies it, if there is one.
	if _, err := exec.LookPath("patch"); err != nil {
		t.Skip("no patch(1)")
	}
	dir := t.TempDir()
	for _, tc := range [][2]string{{a, b}, {"", "x\ny\n"}, {"x\ny\n", ""}, {b, a}, {"1\n2\n3\n", "0\n1\n3\n4\n"}} {
		file := filepath.Join(dir, "f")
		if err := os.WriteFile(file, []byte(tc[0]), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("patch", "-s", file)
		cmd.Stdin = strings.NewReader(unified(tc[0], tc[1], "f", "f"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("patch: %v\n%s\ndiff:\n%s", err, out, unified(tc[0], tc[1], "f", "f"))
		}
		if got, _ := os.ReadFile(file); string(got) != tc[1] {
			t.Errorf("patched %q, want %q", got, tc[1])
		}
	}
}
