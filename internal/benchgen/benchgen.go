// Package benchgen writes the benchmark workload: a stack of N services,
// each a pod with a file pod template, a file transformer template, one
// file template defining two sidecar components, per-service args, ports,
// labels and environment.
package benchgen

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const podTemplate = `pod:
  image: rycus86/podlike:0.5.1
  command: -logs -pids=false
  labels:
    pod.owner: "{{ .Args.Team }}"
`

const transformerTemplate = `app:
  image: {{ .Service.Image }}
  environment:
    - SERVICE={{ .Service.Name }}
    - SHARD={{ .Args.Shard }}
`

const sidecarsTemplate = `proxy:
  image: nginx:1.25
  environment:
    UPSTREAM: "127.0.0.1:{{ .Args.Port }}"
  command: ["nginx", "-g", "daemon off;"]
metrics:
  image: prom/statsd-exporter:v0.26.0
  command: ["--statsd.listen-udp=:9125"]
  labels:
    shard: "{{ .Args.Shard }}"
`

// Write creates stack.yml and its templates for n services in dir.
func Write(dir string, n int) (string, error) {
	tdir := filepath.Join(dir, "templates")
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		return "", err
	}
	for name, text := range map[string]string{"pod.yml": podTemplate, "transformer.yml": transformerTemplate, "sidecars.yml": sidecarsTemplate} {
		if err := os.WriteFile(filepath.Join(tdir, name), []byte(text), 0o644); err != nil {
			return "", err
		}
	}
	path := filepath.Join(dir, "stack.yml")
	return path, os.WriteFile(path, Stack(n), 0o644)
}

// Stack is the text of the stack file Write writes for n services (its
// templates are only read from files).
func Stack(n int) []byte {
	var b strings.Builder
	b.WriteString("version: \"3.8\"\nservices:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `  svc%05d:
    image: example/app:%d
    ports:
      - "%d:8080"
    labels:
      com.example.index: "%d"
    environment:
      INDEX: "%d"
      LOG_LEVEL: info
    deploy:
      replicas: 1
    x-podlike:
      pod: templates/pod.yml
      transformer: templates/transformer.yml
      templates: templates/sidecars.yml
      args:
        Team: team%d
        Shard: %d
        Port: 8080
`, i, i%7, 10000+i, i, i, i%10, i)
	}
	return []byte(b.String())
}
