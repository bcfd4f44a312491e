package transform_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podtemplate/podtemplate/internal/stackcheck"
	"github.com/podtemplate/podtemplate/transform"
	"github.com/podtemplate/podtemplate/transform/retrieve"
)

// TestRootMergeKeyMeansExplicitKeys renders stacks whose top-level `<<`
// merge keys bring x-podlike or x-jobs (and other keys), and the same
// stacks with those keys written at the top level, and compares what
// `docker stack config` makes of the two outputs: the same, less the
// top-level x-anchor-* fields that hold the anchors, and no x-podlike or
// x-jobs at the top level.
func TestRootMergeKeyMeansExplicitKeys(t *testing.T) {
	if !stackcheck.Available() {
		t.Skip("docker CLI with 'stack config' not found; skipping the comparison with docker stack config")
	}
	const pod = `
      pod:
        inline: |
          pod:
            labels:
              from: %s`
	for _, c := range []struct {
		name             string
		merged, explicit []string // files, in command-line order
	}{{
		name: "x-podlike only",
		merged: []string{`version: "3.8"
x-anchor: &base
  x-podlike:
    web:` + strings.Replace(pod, "%s", "root-merge", 1) + `
<<: *base
services:
  web:
    image: nginx:1.25
`},
		explicit: []string{`version: "3.8"
x-podlike:
  web:` + strings.Replace(pod, "%s", "root-merge", 1) + `
services:
  web:
    image: nginx:1.25
`},
	}, {
		name: "x-jobs beside networks and another extension field",
		merged: []string{`version: "3.8"
x-anchor: &shared
  x-jobs:
    migrate:
      mode: replicated-job
      attempts: 3
  networks:
    back: {}
  x-team: payments
<<: *shared
services:
  migrate:
    image: example/migrate:1.0
    networks: [back]
`},
		explicit: []string{`version: "3.8"
x-jobs:
  migrate:
    mode: replicated-job
    attempts: 3
networks:
  back: {}
x-team: payments
services:
  migrate:
    image: example/migrate:1.0
    networks: [back]
`},
	}, {
		name: "services and x-podlike",
		merged: []string{`version: "3.8"
x-anchor: &fragment
  services:
    web:
      image: nginx:1.25
      networks: [front]
    cache:
      image: redis:7
  networks:
    front: {}
  x-podlike:
    web:` + strings.Replace(pod, "%s", "fragment", 1) + `
<<: *fragment
x-other: kept
`},
		explicit: []string{`version: "3.8"
services:
  web:
    image: nginx:1.25
    networks: [front]
  cache:
    image: redis:7
networks:
  front: {}
x-podlike:
  web:` + strings.Replace(pod, "%s", "fragment", 1) + `
x-other: kept
`},
	}, {
		name: "a list of sources and an own key",
		merged: []string{`version: "3.8"
x-anchor-first: &first
  x-podlike:
    web:` + strings.Replace(pod, "%s", "first", 1) + `
x-anchor-second: &second
  x-podlike:
    web:` + strings.Replace(pod, "%s", "second", 1) + `
    api:` + strings.Replace(pod, "%s", "second", 1) + `
  x-jobs:
    migrate:
      attempts: 5
  volumes:
    data: {}
<<: [*first, *second]
x-jobs:
  migrate:
    attempts: 2
services:
  web:
    image: nginx:1.25
  api:
    image: example/api:1.0
  migrate:
    image: example/migrate:1.0
`},
		explicit: []string{`version: "3.8"
x-podlike:
  web:` + strings.Replace(pod, "%s", "first", 1) + `
volumes:
  data: {}
x-jobs:
  migrate:
    attempts: 2
services:
  web:
    image: nginx:1.25
  api:
    image: example/api:1.0
  migrate:
    image: example/migrate:1.0
`},
	}, {
		name: "a nested merge key and an inline source",
		merged: []string{`version: "3.8"
x-anchor-inner: &inner
  x-podlike:
    web:` + strings.Replace(pod, "%s", "inner", 1) + `
  x-note: inner
x-anchor-outer: &outer
  <<: *inner
  x-note: outer
<<: [*outer, {x-jobs: {migrate: {attempts: 2}}, x-more: 1}]
services:
  web:
    image: nginx:1.25
  migrate:
    image: example/migrate:1.0
`},
		explicit: []string{`version: "3.8"
x-podlike:
  web:` + strings.Replace(pod, "%s", "inner", 1) + `
x-note: outer
x-jobs:
  migrate:
    attempts: 2
x-more: 1
services:
  web:
    image: nginx:1.25
  migrate:
    image: example/migrate:1.0
`},
	}, {
		name: "several files",
		merged: []string{`version: "3.8"
x-anchor: &base
  x-podlike:
    web:
      pod:
        inline: |
          pod:
            labels:
              tier: {{ .Args.tier }}
      args:
        tier: dev
  networks:
    front: {}
<<: *base
services:
  web:
    image: nginx:1.25
    networks: [front]
`, `version: "3.8"
x-anchor-prod: &prod
  x-podlike:
    web:
      args:
        tier: prod
  x-jobs:
    migrate:
      attempts: 2
<<: *prod
services:
  migrate:
    image: example/migrate:1.0
`},
		explicit: []string{`version: "3.8"
x-podlike:
  web:
    pod:
      inline: |
        pod:
          labels:
            tier: {{ .Args.tier }}
    args:
      tier: dev
networks:
  front: {}
services:
  web:
    image: nginx:1.25
    networks: [front]
`, `version: "3.8"
x-podlike:
  web:
    args:
      tier: prod
x-jobs:
  migrate:
    attempts: 2
services:
  migrate:
    image: example/migrate:1.0
`},
	}} {
		t.Run(c.name, func(t *testing.T) {
			merged, explicit := rootMergeConfig(t, c.merged), rootMergeConfig(t, c.explicit)
			for k := range merged {
				if strings.HasPrefix(k, "x-anchor") {
					delete(merged, k)
				}
			}
			for _, k := range []string{"x-podlike", "x-jobs"} {
				if _, ok := merged[k]; ok {
					t.Errorf("docker stack config of the output has a top-level %s", k)
				}
			}
			got, _ := json.MarshalIndent(merged, "", " ")
			want, _ := json.MarshalIndent(explicit, "", " ")
			if string(got) != string(want) {
				t.Errorf("docker stack config of the output differs from the explicit stack's:\n%s", lineDiff(string(want), string(got)))
			}
		})
	}
}

// rootMergeConfig renders the stack of files and returns what `docker
// stack config` makes of the output.
func rootMergeConfig(t *testing.T, files []string) map[string]any {
	t.Helper()
	dir := t.TempDir()
	var names []string
	for i, text := range files {
		name := "stack" + string(rune('a'+i)) + ".yml"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	res, err := transform.Render(context.Background(), transform.Options{Files: names, Cwd: dir, Env: map[string]string{},
		Warn: func(string) {}, Loaders: retrieve.Loaders{}})
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	env := map[string]string{"HOME": t.TempDir(), "PATH": os.Getenv("PATH")}
	for _, k := range []string{"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY"} {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	out, err := dockerConfig(dir, []string{"-"}, env, res.Output)
	if err != nil {
		t.Fatalf("docker stack config rejects the output: %v\n%s", err, res.Output)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	return v
}
