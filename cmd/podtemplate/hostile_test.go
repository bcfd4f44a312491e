package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The hostile corpus runs the real binary (this test binary, re-executed
// as podtemplate) under limits, so a hang or a memory blow-up fails the
// case instead of hanging or killing the test run.
const (
	// hostileMemLimit is the peak RSS a hostile input may reach.
	hostileMemLimit = 512 << 20
	// hostileTimeLimit is the CPU time (user and system) a hostile input
	// may take: on a busy machine (CI runs packages in parallel) wall
	// time says more about the neighbours than about the input.
	hostileTimeLimit = 5 * time.Second
	// hostileWallLimit is when a run is killed as hung, whatever its CPU
	// time; PODTEMPLATE_HOSTILE_TIME_FACTOR multiplies it on slow
	// machines.
	hostileWallLimit = 30 * time.Second
)

// TestMain makes the test binary act as podtemplate when asked, so tests
// can run the real command in a process of its own.
func TestMain(m *testing.M) {
	if os.Getenv("PODTEMPLATE_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// hostileRun is the outcome of one guarded run.
type hostileRun struct {
	stdout, stderr string
	code           int
	peakRSS        int64
	elapsed        time.Duration
	cpu            time.Duration
	killed         string // why the guard killed it, if it did
}

// runGuarded runs podtemplate with args in dir, killing it when it runs
// longer than the time limit or its resident memory passes the limit.
// signal, if set, is sent after sendAfter.
func runGuarded(t *testing.T, dir string, args []string, stdin []byte, env []string, signal os.Signal, sendAfter time.Duration) hostileRun {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	limit := hostileWallLimit
	if f, err := strconv.ParseFloat(os.Getenv("PODTEMPLATE_HOSTILE_TIME_FACTOR"), 64); err == nil && f > 0 {
		limit = time.Duration(float64(limit) * f)
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "PODTEMPLATE_TEST_AS_MAIN=1", "HOME="+t.TempDir()), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var r hostileRun
	deadline := time.After(limit)
	var sig <-chan time.Time
	if signal != nil {
		sig = time.After(sendAfter)
	}
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	var werr error
wait:
	for {
		select {
		case werr = <-done:
			break wait
		case <-sig:
			cmd.Process.Signal(signal)
			sig = nil
		case <-deadline:
			r.killed = fmt.Sprintf("still running after %s", limit)
			cmd.Process.Kill()
		case <-poll.C:
			if rss := currentRSS(cmd.Process.Pid); rss > hostileMemLimit && r.killed == "" {
				r.killed = fmt.Sprintf("resident memory %d MiB over %d MiB", rss>>20, hostileMemLimit>>20)
				cmd.Process.Kill()
			}
		}
	}
	r.elapsed = time.Since(start)
	r.stdout, r.stderr = stdout.String(), stderr.String()
	r.code = cmd.ProcessState.ExitCode()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.peakRSS = ru.Maxrss << 10
		r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) {
		t.Fatal(werr)
	}
	return r
}

// currentRSS reads a process's resident memory from /proc (0 if gone).
func currentRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// checkGuarded fails t if r broke a limit, printed a stack trace or
// wrote to stdout when it should not.
func checkGuarded(t *testing.T, r hostileRun, stdoutAllowed bool) {
	t.Helper()
	if r.killed != "" {
		t.Fatalf("killed: %s; stderr:\n%s", r.killed, r.stderr)
	}
	if r.cpu > hostileTimeLimit {
		t.Errorf("took %s of CPU time, over %s", r.cpu.Round(time.Millisecond), hostileTimeLimit)
	}
	if r.peakRSS > hostileMemLimit {
		t.Errorf("peak resident memory %d MiB over %d MiB", r.peakRSS>>20, hostileMemLimit>>20)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "fatal error") {
		t.Errorf("stack trace in stderr:\n%s", r.stderr)
	}
	if !stdoutAllowed && r.stdout != "" {
		t.Errorf("stdout is not empty:\n%.2000s", r.stdout)
	}
}

// TestHostileCorpus runs every case of testdata/hostile: a hostile input
// and the exact message it must produce. A case folder holds
//
//	stack.yml     the input (the command is `render stack.yml -o OUT`), or
//	args          the command line, one argument per line; $OUT is the -o
//	              file, $TMP a scratch folder, $CASE the case folder
//	stdin         fed to the command (else it gets none)
//	prepare       lines "fifo NAME" or "symlink TARGET NAME" run in $TMP
//	              first (git cannot hold FIFOs; links to absolute paths)
//	env           VAR=value lines added to the environment
//	expected.err  stderr, exactly ($TMP and $CASE stand for the folders)
//	expected.stdout  stdout, exactly, for a case that must render (exit 0)
//	exit          the exit status when not 1 (or 0 with expected.stdout)
//
// Every case must end by itself within the time limit and under the
// memory limit, never print a stack trace, and write nothing to stdout
// unless it renders.
func TestHostileCorpus(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "hostile"))
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	update := *updateErrors
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		src := filepath.Join(root, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			out := filepath.Join(tmp, "out.yml")
			// The case runs in a copy, where $TMP in its files is the
			// scratch folder (for FIFOs and links made by prepare).
			dir := filepath.Join(tmp, "case")
			subst := func(s string) string {
				return strings.NewReplacer("$OUT", out, "$TMP", tmp, "$CASE", dir).Replace(s)
			}
			copyCase(t, src, dir, subst)
			args := []string{"render", "stack.yml", "-o", out}
			if data, err := os.ReadFile(filepath.Join(dir, "args")); err == nil {
				args = nil
				for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
					args = append(args, subst(line))
				}
			}
			if data, err := os.ReadFile(filepath.Join(dir, "prepare")); err == nil {
				for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
					f := strings.Fields(subst(line))
					switch {
					case len(f) == 2 && f[0] == "fifo":
						if err := syscall.Mkfifo(filepath.Join(tmp, f[1]), 0o644); err != nil {
							t.Fatal(err)
						}
					case len(f) == 3 && f[0] == "symlink":
						if err := os.Symlink(f[1], filepath.Join(tmp, f[2])); err != nil {
							t.Fatal(err)
						}
					case len(f) == 3 && f[0] == "write":
						if err := os.WriteFile(filepath.Join(tmp, f[2]), []byte(f[1]+"\n"), 0o640); err != nil {
							t.Fatal(err)
						}
					default:
						t.Fatalf("prepare: cannot read %q", line)
					}
				}
			}
			var env []string
			if data, err := os.ReadFile(filepath.Join(dir, "env")); err == nil {
				env = strings.Fields(string(data))
			}
			stdin, _ := os.ReadFile(filepath.Join(dir, "stdin"))
			r := runGuarded(t, dir, args, stdin, env, nil, 0)
			t.Logf("%s: cpu %s, wall %s, peak RSS %d MiB", e.Name(), r.cpu.Round(time.Millisecond), r.elapsed.Round(time.Millisecond), r.peakRSS>>20)
			wantOut, renders := os.ReadFile(filepath.Join(src, "expected.stdout"))
			checkGuarded(t, r, renders == nil)
			wantCode := exitError
			if renders == nil {
				wantCode = exitOK
			}
			if data, err := os.ReadFile(filepath.Join(src, "exit")); err == nil {
				wantCode, _ = strconv.Atoi(strings.TrimSpace(string(data)))
			}
			if r.code != wantCode {
				t.Errorf("exit status %d, want %d; stderr:\n%s", r.code, wantCode, r.stderr)
			}
			if _, err := os.Stat(filepath.Join(src, ".fill")); err == nil && update && renders == nil {
				wantOut = []byte(r.stdout)
				if err := os.WriteFile(filepath.Join(src, "expected.stdout"), wantOut, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if renders == nil && r.stdout != subst(string(wantOut)) {
				t.Errorf("stdout differs from expected.stdout:\n--- got\n%s--- want\n%s", r.stdout, wantOut)
			}
			if wantCode != exitOK {
				if _, err := os.Stat(out); err == nil && !strings.Contains(strings.Join(args, " "), "$OUT") {
					t.Errorf("-o file was written")
				}
			}
			got := strings.NewReplacer(dir, "$CASE", tmp, "$TMP").Replace(r.stderr)
			if update {
				if err := os.WriteFile(filepath.Join(src, "expected.err"), []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(filepath.Join(src, "expected.err"))
			if err != nil {
				t.Fatalf("%v (go test ./cmd/podtemplate -run TestHostileCorpus -update creates it)", err)
			}
			if got != string(want) {
				t.Errorf("stderr differs from expected.err:\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}

// TestHostileSignals sends Ctrl-C and SIGTERM to renders that would run
// far longer: each must end at once with "interrupted" (exit 130) and
// leave no temporary file beside the -o file.
func TestHostileSignals(t *testing.T) {
	// A template that calls no function and has no range cannot be
	// stopped from inside: a binary recursion over args nested 40 deep
	// makes 2^40 calls. Only abandoning it ends the render.
	nested := strings.Repeat("{a: ", 40) + "{}" + strings.Repeat("}", 40)
	stuck := "version: \"3.8\"\nservices:\n  web:\n    image: nginx\n    x-podlike:\n      args: {n: " + nested + "}\n      templates:\n        - inline: |\n            {{ define \"r\" }}{{ with .a }}{{ template \"r\" . }}{{ template \"r\" . }}{{ end }}{{ end }}{{ template \"r\" .Args.n }}c: {image: x}\n"
	busy := "version: \"3.8\"\nservices:\n  web:\n    image: nginx\n    x-podlike:\n      templates:\n        - inline: |\n            {{ range until 1000 }}{{ range until 1000 }}{{ $x := until 10 }}{{ end }}{{ end }}c: {image: x}\n"
	for _, tc := range []struct {
		name  string
		stack string
		sig   syscall.Signal
	}{
		{"sigint-busy", busy, syscall.SIGINT},
		{"sigterm-busy", busy, syscall.SIGTERM},
		{"sigint-stuck", stuck, syscall.SIGINT},
		{"sigterm-stuck", stuck, syscall.SIGTERM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "stack.yml"), []byte(tc.stack), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out.yml")
			r := runGuarded(t, dir, []string{"render", "stack.yml", "-o", out, "--template-timeout", "0"}, nil, nil, tc.sig, 300*time.Millisecond)
			checkGuarded(t, r, false)
			if r.code != 130 || r.stderr != "error: interrupted\n" {
				t.Errorf("exit %d, stderr %q; want 130 and \"error: interrupted\"", r.code, r.stderr)
			}
			if r.elapsed > 300*time.Millisecond+stuckGrace+time.Second {
				t.Errorf("took %s after the signal", r.elapsed-300*time.Millisecond)
			}
			left, _ := filepath.Glob(filepath.Join(dir, ".*"))
			if _, err := os.Stat(out); err == nil || len(left) > 0 {
				t.Errorf("files left behind: %v", left)
			}
		})
	}
}

// TestHostileSignalDuringWrite stops the process while -o writes to a
// FIFO nobody reads... and a regular file: no temporary file is left.
func TestHostileSignalDuringWrite(t *testing.T) {
	dir := t.TempDir()
	stack := "version: \"3.8\"\nservices:\n  web:\n    image: nginx\n"
	if err := os.WriteFile(filepath.Join(dir, "stack.yml"), []byte(stack), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "out.fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runGuarded(t, dir, []string{"render", "stack.yml", "-o", fifo}, nil, nil, syscall.SIGTERM, 300*time.Millisecond)
	checkGuarded(t, r, false)
	if r.code != 130 {
		t.Errorf("exit %d, stderr %q; want 130", r.code, r.stderr)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(left) > 0 {
		t.Errorf("files left behind: %v", left)
	}
}

// copyCase copies the input files of case folder src to dir, replacing
// $TMP and the like in them.
func copyCase(t *testing.T, src, dir string, subst func(string) string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, "expected.") || name == "exit" || name == ".fill" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(subst(string(data))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
