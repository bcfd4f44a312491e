package main

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/podtemplate/podtemplate/internal/fileio"
	"github.com/podtemplate/podtemplate/swarm"
	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/spf13/pflag"
)

// The JSON documents below are podtemplate's machine-readable output
// (--format json, --report). Their field names are a contract documented
// in docs/output.md: add fields, never rename or remove them.

// jsonProblem is one problem validate found.
type jsonProblem struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Service  string `json:"service"`
	Template string `json:"template"`
	Message  string `json:"message"`
}

// jsonValidation is validate --format json.
type jsonValidation struct {
	Valid    bool          `json:"valid"`
	Services int           `json:"services"`
	Pods     int           `json:"pods"`
	Jobs     int           `json:"jobs"`
	Problems []jsonProblem `json:"problems"`
}

// problems lists err's problems: each diag.Error with its position, any
// other error as a message alone.
func problems(err error) []jsonProblem {
	var list diag.List
	var errs []error
	if errors.As(err, &list) {
		errs = list
	} else {
		errs = []error{err}
	}
	out := make([]jsonProblem, 0, len(errs))
	for _, e := range errs {
		var de *diag.Error
		if !errors.As(e, &de) {
			out = append(out, jsonProblem{Message: e.Error()})
			continue
		}
		msg := de.Msg
		if de.Err != nil {
			if msg != "" {
				msg += ": "
			}
			msg += de.Err.Error()
		}
		file := de.File
		if file == "-" {
			file = "<stdin>"
		}
		out = append(out, jsonProblem{File: file, Line: de.Line, Column: de.Column, Service: de.Service, Template: de.Template, Message: msg})
	}
	return out
}

// jsonTasks counts a job's tasks by state.
type jsonTasks struct {
	Pending   int `json:"pending"`
	Running   int `json:"running"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
	Stopped   int `json:"stopped"`
}

// jsonJob is one job in jobs ls --format json and in --report files.
type jsonJob struct {
	Name            string     `json:"name"`
	Service         string     `json:"service"`
	Mode            string     `json:"mode"`
	State           string     `json:"state"`
	ExitCode        *int       `json:"exitCode"` // null when no container exited
	Error           string     `json:"error"`
	Started         *time.Time `json:"started"`  // null when not started
	Finished        *time.Time `json:"finished"` // null when not finished
	DurationSeconds float64    `json:"durationSeconds"`
	Tasks           jsonTasks  `json:"tasks"`
	Schedule        string     `json:"schedule,omitempty"`       // jobs ls
	Stage           string     `json:"stage,omitempty"`          // jobs ls: pre-deploy, post-deploy
	TimeoutSeconds  float64    `json:"timeoutSeconds,omitempty"` // jobs ls
	Unchanged       bool       `json:"unchanged,omitempty"`      // report
	Rerun           bool       `json:"rerun,omitempty"`          // report
	OK              *bool      `json:"ok,omitempty"`             // report
}

func newJSONJob(r swarm.JobRun, now time.Time) jsonJob {
	j := jsonJob{Name: r.Name, Service: r.Service, Mode: r.Mode, State: string(r.State), Error: r.Err,
		Tasks: jsonTasks{r.Tasks.Pending, r.Tasks.Running, r.Tasks.Completed, r.Tasks.Failed, r.Tasks.Stopped}}
	if r.ExitCode >= 0 {
		code := r.ExitCode
		j.ExitCode = &code
	}
	if !r.Started.IsZero() {
		t := r.Started.UTC()
		j.Started = &t
		end := r.Finished
		if end.IsZero() {
			end = now
		}
		j.DurationSeconds = end.Sub(r.Started).Seconds()
	}
	if !r.Finished.IsZero() {
		t := r.Finished.UTC()
		j.Finished = &t
	}
	return j
}

// jsonReport is the --report document of deploy and run.
type jsonReport struct {
	Command  string    `json:"command"` // deploy or run
	Stack    string    `json:"stack"`
	OK       bool      `json:"ok"`
	Detached bool      `json:"detached"`
	Jobs     []jsonJob `json:"jobs"`
}

func newJSONReport(command, stack string, s swarm.Summary, detached bool) jsonReport {
	r := jsonReport{Command: command, Stack: stack, OK: s.OK(), Detached: detached, Jobs: []jsonJob{}}
	for _, res := range s.Jobs {
		j := newJSONJob(res.JobRun, time.Now())
		if res.Duration > 0 {
			j.DurationSeconds = res.Duration.Seconds()
		}
		j.Unchanged, j.Rerun = res.Unchanged, res.Rerun
		ok := (swarm.Summary{Jobs: []swarm.JobResult{res}}).OK()
		j.OK = &ok
		r.Jobs = append(r.Jobs, j)
	}
	return r
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// JUnit XML, the subset CI test tabs read: one suite per stack, one case
// per job; a job that did not complete is a failure.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

func junitReport(r jsonReport) ([]byte, error) {
	suite := junitSuite{Name: r.Command + " " + r.Stack, Tests: len(r.Jobs), Cases: []junitCase{}}
	var total float64
	for _, j := range r.Jobs {
		c := junitCase{Name: j.Name, ClassName: r.Stack, Time: fmt.Sprintf("%.3f", j.DurationSeconds)}
		total += j.DurationSeconds
		exit := "-"
		if j.ExitCode != nil {
			exit = fmt.Sprint(*j.ExitCode)
		}
		switch {
		case j.State == string(swarm.StateScheduled) || j.Unchanged && j.OK != nil && *j.OK:
			c.Skipped = &junitSkipped{Message: strings.TrimSpace(j.State + " " + j.Error)}
			suite.Skipped++
		case j.OK != nil && !*j.OK:
			c.Failure = &junitFailure{Message: fmt.Sprintf("job %s %s (exit %s)", j.Name, j.State, exit), Type: j.State, Text: j.Error}
			suite.Failures++
		}
		c.SystemOut = fmt.Sprintf("service %s, mode %s, state %s, exit %s", j.Service, j.Mode, j.State, exit)
		suite.Cases = append(suite.Cases, c)
	}
	suite.Time = fmt.Sprintf("%.3f", total)
	out, err := xml.MarshalIndent(junitSuites{Suites: []junitSuite{suite}}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

// reportFlags are deploy's and run's --report options.
type reportFlags struct {
	path   string
	format string
}

func (r *reportFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&r.path, "report", "", "write the jobs' outcome to this file: JSON, or JUnit XML when it ends in .xml")
	fs.StringVar(&r.format, "report-format", "", "format of --report: json or junit (default: from the file name)")
}

func (r *reportFlags) check() error {
	switch r.format {
	case "", "json", "junit":
	default:
		return usagef("--report-format %q: expected json or junit", r.format)
	}
	if r.format != "" && r.path == "" {
		return usagef("--report-format needs --report FILE")
	}
	return nil
}

// write writes the report, if one was asked for.
func (r *reportFlags) write(rep jsonReport) error {
	if r.path == "" {
		return nil
	}
	format := r.format
	if format == "" {
		format = "json"
		if strings.HasSuffix(strings.ToLower(r.path), ".xml") {
			format = "junit"
		}
	}
	var data []byte
	var err error
	if format == "junit" {
		data, err = junitReport(rep)
	} else {
		var b strings.Builder
		err = writeJSON(&b, rep)
		data = []byte(b.String())
	}
	if err != nil {
		return err
	}
	return fileio.WriteOutput(r.path, data)
}

// outputFormat is the --format of the commands that list or report: the
// default text (a table), or json.
type outputFormat string

func (f *outputFormat) register(fs *pflag.FlagSet, what string) {
	fs.StringVar((*string)(f), "format", "text", "output format: text or json ("+what+")")
}

func (f outputFormat) check() error {
	if f != "text" && f != "json" && f != "table" {
		return usagef("--format %q: expected text or json", string(f))
	}
	return nil
}

func (f outputFormat) json() bool { return f == "json" }
