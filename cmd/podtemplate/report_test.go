package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"
)

// decodeJUnit parses a JUnit report and returns its one suite.
func decodeJUnit(t *testing.T, path string) junitSuite {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName xml.Name `xml:"testsuites"`
		Suites  []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Skipped  int    `xml:"skipped,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Time    string `xml:"time,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Type    string `xml:"type,attr"`
				} `xml:"failure"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s is not JUnit XML: %v\n%s", path, err, data)
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%d suites, want 1:\n%s", len(doc.Suites), data)
	}
	s := doc.Suites[0]
	out := junitSuite{Name: s.Name, Tests: s.Tests, Failures: s.Failures, Skipped: s.Skipped}
	for _, c := range s.Cases {
		jc := junitCase{Name: c.Name, Time: c.Time}
		if c.Failure != nil {
			jc.Failure = &junitFailure{Message: c.Failure.Message, Type: c.Failure.Type}
		}
		if c.Skipped != nil {
			jc.Skipped = &junitSkipped{}
		}
		out.Cases = append(out.Cases, jc)
	}
	return out
}

// TestReportsOnSwarm deploys a stack with a job that completes and one
// that fails, on the real Swarm, and reads the reports: deploy --report
// as JSON, jobs ls --format json, a re-deploy's JUnit report, run's JUnit.
func TestReportsOnSwarm(t *testing.T) {
	needSwarm(t)
	stack := testStack(t, "report")
	stackFile, _ := filepath.Abs("../../testdata/e2e/cli/jobs.yml")
	dir := t.TempDir()

	report := filepath.Join(dir, "out", "deploy.json")
	_, stderr, code := runCLI(t, "", "deploy", "-q", "--timeout", "3m", "-c", stackFile, "--report", report, stack)
	if code != exitError {
		t.Fatalf("deploy: exit %d, want 1 (a job fails)\n%s", code, stderr)
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	checkDocumented(t, "--report FILE", data)
	var rep jsonReport
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Command != "deploy" || rep.Stack != stack || rep.OK || rep.Detached || len(rep.Jobs) != 2 {
		t.Fatalf("report: %+v", rep)
	}
	byName := map[string]jsonJob{}
	for _, j := range rep.Jobs {
		byName[j.Name] = j
	}
	if j := byName["migrate"]; j.State != "completed" || j.ExitCode == nil || *j.ExitCode != 0 || j.OK == nil || !*j.OK || j.Started == nil || j.Finished == nil {
		t.Errorf("migrate: %+v", j)
	}
	if j := byName["seed"]; j.State != "failed" || j.OK == nil || *j.OK || j.Service != stack+"_seed" {
		t.Errorf("seed: %+v", j)
	} else if j.ExitCode == nil || *j.ExitCode != 3 {
		// Seen on a loaded machine: Swarm fails the task before its
		// container exits. The report must then say so (no exit code).
		if j.ExitCode != nil {
			t.Errorf("seed: exit code %d, want 3", *j.ExitCode)
		}
		t.Logf("seed failed without an exit code (Swarm: %q); the machine is loaded", j.Error)
	}

	stdout, stderr, code := runCLI(t, "", "jobs", "ls", "--format", "json", stack)
	if code != 0 {
		t.Fatalf("jobs ls --format json: exit %d\n%s", code, stderr)
	}
	checkDocumented(t, "jobs ls --format json", []byte(stdout))
	var list []jsonJob
	if err := json.Unmarshal([]byte(stdout), &list); err != nil || len(list) != 2 || list[0].Name != "migrate" || list[1].State != "failed" || list[0].Mode != "restart-none" {
		t.Errorf("jobs ls: %+v %v", list, err)
	}
	stdout, _, _ = runCLI(t, "", "jobs", "ls", "-q", stack)
	if stdout != "migrate\nseed\n" {
		t.Errorf("jobs ls -q: %q", stdout)
	}

	// Unchanged jobs: migrate is skipped, seed still failed.
	junit := filepath.Join(dir, "deploy.xml")
	_, stderr, code = runCLI(t, "", "deploy", "-q", "--timeout", "3m", "-c", stackFile, "--report", junit, stack)
	if code != exitError {
		t.Fatalf("re-deploy: exit %d\n%s", code, stderr)
	}
	suite := decodeJUnit(t, junit)
	if suite.Name != "deploy "+stack || suite.Tests != 2 || suite.Failures != 1 || suite.Skipped != 1 || len(suite.Cases) != 2 {
		t.Errorf("re-deploy JUnit: %+v", suite)
	}
	for _, c := range suite.Cases {
		if c.Name == "seed" && (c.Failure == nil || c.Failure.Type != "failed") || c.Name == "migrate" && c.Skipped == nil {
			t.Errorf("case %+v", c)
		}
	}

	// run: the job's exit code, and a JUnit report chosen by flag.
	runReport := filepath.Join(dir, "run.report")
	_, stderr, code = runCLI(t, "", "run", "-q", "--timeout", "3m", "-c", stackFile, "--stack-prefix", "ptclirun", "--report", runReport, "--report-format", "junit", "seed")
	if code != 3 && code != 125 { // 125: Swarm failed the task before it exited (loaded machine)
		t.Fatalf("run seed: exit %d, want 3\n%s", code, stderr)
	}
	suite = decodeJUnit(t, runReport)
	if suite.Tests != 1 || suite.Failures != 1 || suite.Cases[0].Name != "seed" {
		t.Errorf("run JUnit: %+v", suite)
	}
	runJSON := filepath.Join(dir, "run.json")
	_, stderr, code = runCLI(t, "", "run", "-q", "--timeout", "3m", "-c", stackFile, "--stack-prefix", "ptclirun", "--report", runJSON, "migrate")
	if code != 0 {
		t.Fatalf("run migrate: exit %d\n%s", code, stderr)
	}
	data, _ = os.ReadFile(runJSON)
	checkDocumented(t, "--report FILE", data)
	if err := json.Unmarshal(data, &rep); err != nil || rep.Command != "run" || !rep.OK || len(rep.Jobs) != 1 || rep.Jobs[0].Name != "migrate" {
		t.Errorf("run report: %+v %v", rep, err)
	}

	_, _, code = runCLI(t, "", "deploy", "-c", stackFile, "--report-format", "yaml", "--report", "x", stack)
	if code != exitUsage {
		t.Errorf("--report-format yaml: exit %d, want 2", code)
	}
}
