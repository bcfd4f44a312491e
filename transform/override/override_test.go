package override

import (
	"testing"

	"gopkg.in/yaml.v3"
)

func parse(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

func TestFilesRules(t *testing.T) {
	base := `services:
  api:
    image: api:1
    command: [serve, --port, "80"]
    environment: [A=1, B=2]
    dns: 1.1.1.1
    networks: [front]
    volumes: ["data:/data", "./conf:/etc/conf:ro"]
    ports: ["80:80"]
networks:
  front:
    labels: [team=a]
`
	over := `services:
  api:
    image: api:2
    command: [serve]
    environment: {B: "3", C: "4"}
    dns: [8.8.8.8]
    networks: {back: {aliases: [x]}}
    volumes: ["other:/data"]
    ports: ["443:443"]
networks:
  front:
    labels: {owner: b}
`
	out, err := yaml.Marshal(Files([]*yaml.Node{parse(t, base), parse(t, over)}))
	if err != nil {
		t.Fatal(err)
	}
	want := `services:
    api:
        image: api:2
        command: [serve]
        environment: [A=1, B=3, C=4]
        dns:
            - 1.1.1.1
            - 8.8.8.8
        networks:
            front: null
            back: {aliases: [x]}
        volumes: ["other:/data", "./conf:/etc/conf:ro"]
        ports: ["80:80", "443:443"]
networks:
    front:
        labels: [team=a, owner=b]
`
	if string(out) != want {
		t.Errorf("merged:\n%s\nwant:\n%s", out, want)
	}
}

func TestOneFileKeptAsIs(t *testing.T) {
	root := parse(t, "x: &a {k: v}\ny: *a\n")
	if Files([]*yaml.Node{root}) != root {
		t.Error("a single file's tree was copied")
	}
}

// TestLoggingRule merges logging as docker's merge does: another driver
// replaces it whole, the same driver (or none named) merges the options.
func TestLoggingRule(t *testing.T) {
	base := `services:
  a:
    logging: {driver: json-file, options: {max-size: 10m}}
  b:
    logging: {driver: json-file, options: {max-size: 10m}}
  c:
    logging: {options: {max-size: 10m}}
`
	over := `services:
  a:
    logging: {driver: syslog}
  b:
    logging: {options: {max-file: "3"}}
  c:
    logging: {driver: journald, options: {tag: c}}
`
	out, err := yaml.Marshal(Files([]*yaml.Node{parse(t, base), parse(t, over)}))
	if err != nil {
		t.Fatal(err)
	}
	want := `services:
    a:
        logging: {driver: syslog}
    b:
        logging: {driver: json-file, options: {max-size: 10m, max-file: "3"}}
    c:
        logging: {options: {max-size: 10m, tag: c}, driver: journald}
`
	if string(out) != want {
		t.Errorf("merged:\n%s\nwant:\n%s", out, want)
	}
}
