package model

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/schema"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/podtemplate/podtemplate/internal/benchgen"
	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/load"
	"github.com/podtemplate/podtemplate/transform/validation"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"github.com/sirupsen/logrus"
	"gopkg.in/yaml.v3"
)

// loaderProject is how Project built the typed project before it stopped
// linking compose-go's loader (whose schema package costs 10 ms of init
// on every run): the reference the differential tests compare with.
func loaderProject(ctx context.Context, merged *yaml.Node, workingDir, describe string) (p *types.Project, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, &diag.Error{File: describe, Msg: fmt.Sprintf("invalid stack: compose-go cannot read it (%v)", r)}
		}
	}()
	var dict map[string]any
	if err := merged.Decode(&dict); err != nil {
		return nil, &diag.Error{File: describe, Msg: "cannot read the stack", Err: err}
	}
	delete(dict, "version")
	details := types.ConfigDetails{
		WorkingDir:  workingDir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(workingDir, "stack.yml"), Config: dict}},
	}
	p, err = loader.LoadWithContext(ctx, details, func(o *loader.Options) {
		o.SetProjectName(PlaceholderName, true)
		o.SkipInterpolation = true
		o.ResolvePaths = false
		o.SkipResolveEnvironment = true
		o.SkipResolveLabels = true
		o.SkipInclude = true
		o.SkipExtends = true
		o.SkipConsistencyCheck = true
	})
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "validating "+details.ConfigFiles[0].Filename+": ")
		return nil, &diag.Error{File: describe, Msg: "invalid stack: " + msg}
	}
	return p, nil
}

// targeted are stacks for the parts of the model the repository's stacks
// exercise little: each form compose accepts for ports, resources,
// durations, environment, networks, volumes, secrets, configs, extension
// fields, ulimits, logging, build, and the loader's normalisations.
var targeted = map[string]string{
	"ports": `
services:
  a:
    image: a
    ports:
      - 80
      - "8080:80"
      - "127.0.0.1:8081:81/udp"
      - "9000-9002:9000-9002"
      - 3000-3001
      - target: 82
        published: "8082"
        protocol: tcp
        mode: host
      - target: 83
        published: 8083
        x-note: extension in a port
`,
	"deploy": `
services:
  a:
    image: a
    deploy:
      mode: replicated
      replicas: 3
      endpoint_mode: dnsrr
      labels: [a=b, c]
      resources:
        limits: {cpus: "0.5", memory: 512M, pids: 100}
        reservations:
          cpus: 0.25
          memory: 1g
          generic_resources:
            - discrete_resource_spec: {kind: gpu, value: 2}
      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3, window: 2m}
      update_config: {parallelism: 2, delay: 10s, order: start-first, failure_action: rollback, monitor: 1m30s, max_failure_ratio: 0.3}
      rollback_config: {parallelism: 0, order: stop-first}
      placement:
        constraints: [node.role == manager]
        preferences: [{spread: node.labels.zone}]
        max_replicas_per_node: 2
  b:
    image: b
    deploy:
      mode: global
      labels: {x: "1", y: ""}
`,
	"healthcheck": `
services:
  a:
    image: a
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost"]
      interval: 1m30s
      timeout: 10s
      retries: 3
      start_period: 40s
      start_interval: 5s
  b:
    image: b
    healthcheck:
      test: curl -f http://localhost || exit 1
  c:
    image: c
    healthcheck:
      disable: true
  d:
    image: d
    healthcheck:
      test: ["NONE"]
    stop_grace_period: 1m
`,
	"environment": `
services:
  list:
    image: a
    environment:
      - A=1
      - B=
      - C
      - COMPOSE_PROJECT_NAME
      - D=x=y
  map:
    image: a
    environment:
      A: 1
      B: ""
      C: null
      D: true
      E: 1.5
      COMPOSE_PROJECT_NAME:
  empty:
    image: a
    environment: []
  env_file:
    image: a
    env_file: [a.env, {path: b.env, required: false}]
`,
	"networks": `
services:
  list:
    image: a
    networks: [front, back]
  map:
    image: a
    networks:
      front:
        aliases: [x, y]
        ipv4_address: 10.0.0.2
        priority: 10
      back:
  none:
    image: a
  mode:
    image: a
    network_mode: host
  shared:
    image: a
    network_mode: service:list
networks:
  front:
    driver: overlay
    attachable: true
    labels: [a=b]
    ipam:
      driver: default
      config: [{subnet: 10.0.0.0/24}]
  back:
    external: true
  named:
    name: my-net
    x-extra: 1
`,
	"volumes": `
services:
  a:
    image: a
    volumes:
      - data:/data
      - ./src:/src:ro
      - /abs:/abs:rw,z
      - /anon
      - /trailing/:/trail/
      - type: bind
        source: ./x
        target: /x/
        read_only: true
        bind: {propagation: rprivate, create_host_path: true}
      - type: volume
        source: data
        target: /y
        volume: {nocopy: true, subpath: sub}
      - type: tmpfs
        target: /t
        tmpfs: {size: 10m, mode: 0o1777}
    volumes_from: [b, "container:c"]
    tmpfs: [/run, /tmp]
  b:
    image: b
volumes:
  data:
    driver: local
    driver_opts: {type: nfs, o: addr=10.0.0.1}
    labels: {a: b}
  ext:
    external: true
  ext-named:
    external: true
    name: shared
`,
	"secrets-configs": `
services:
  a:
    image: a
    secrets:
      - s1
      - source: s2
        target: /run/s2
        uid: "1000"
        gid: "1000"
        mode: 0400
    configs:
      - c1
      - source: c2
        target: /etc/c2
        mode: 0444
secrets:
  s1: {file: ./s1.txt}
  s2: {external: true}
  s3: {environment: COMPOSE_PROJECT_NAME}
  s4: {environment: UNSET}
  s5: {name: real-name, file: ./s5}
configs:
  c1: {file: ./c1.txt}
  c2: {external: true, name: other}
  c3: {content: "inline"}
  c4: {environment: COMPOSE_PROJECT_NAME}
`,
	"extensions": `
x-top: {a: 1}
x-list: [1, 2]
services:
  x-named:
    image: a
    x-svc: {b: 2}
    depends_on:
      x-dep: {condition: service_started}
    deploy:
      x-deploy: 3
      resources:
        x-res: 4
    logging:
      x-log: 5
  x-dep:
    image: b
    x-develop:
      watch:
        - path: ./src
          action: sync
          target: /src
          x-initialSync: true
networks:
  x-net: {x-net-ext: 1}
volumes:
  x-vol: {}
secrets:
  x-sec: {file: ./x, x-sec-ext: 1}
`,
	"ulimits-logging-build": `
services:
  a:
    image: a
    ulimits:
      nproc: 65535
      nofile: {soft: 20000, hard: 40000}
    logging:
      driver: json-file
      options: {max-size: 10m, max-file: "3"}
    build: .
  b:
    image: b
    build:
      context: ./dir
      dockerfile: Other
      args: [A=1, B, COMPOSE_PROJECT_NAME]
      labels: {a: b}
      cache_from: [x]
      target: prod
      network: host
      shm_size: 64m
      extra_hosts: ["h:1.2.3.4"]
  c:
    image: c
    build:
      dockerfile_inline: FROM scratch
      args: {A: 1, B: null}
`,
	"misc": `
services:
  a:
    image: a
    command: [a, b]
    entrypoint: /bin/sh -c "x y"
    working_dir: /w
    user: "1000:1000"
    hostname: h
    init: true
    read_only: true
    tty: true
    stdin_open: true
    stop_signal: SIGTERM
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    dns: [8.8.8.8, ""]
    dns_search: example.com
    extra_hosts: {h1: 1.2.3.4, h2: "::1"}
    sysctls: [net.core.somaxconn=1024]
    labels: [a=b, c]
    links: [b, "c:alias"]
    isolation: default
    pull_policy: if_not_present
    shm_size: 64m
    mem_limit: 1g
    cpus: 1.5
    cpu_shares: 512
    pids_limit: 10
    oom_score_adj: 100
    restart: always
    scale: 2
    devices: ["/dev/a:/dev/b:rwm"]
    profiles: []
    privileged: false
    security_opt: [no-new-privileges]
    group_add: [wheel, 100]
    expose: ["80", 81, 1000-1002]
    annotations: {a: b}
    ipc: service:b
    pid: host
  b:
    image: b
    dns: 1.1.1.1
    command: ""
    entrypoint: []
  c:
    image: c
    depends_on: [a, b]
  d:
    image: d
    depends_on:
      a: {condition: service_healthy, restart: true}
      b: {condition: service_completed_successfully, required: false}
  e:
    image: e
    profiles: [debug]
    pre_start:
      - command: [migrate]
        user: root
`,
	"empty-services": `
services: {}
`,
	"top-level-only": `
networks:
  n: {}
`,
}

// stackFiles lists the YAML files of the repository's stacks, inputs and
// outputs: the golden, docker parity, faithful and error corpora and the
// examples.
func stackFiles(t testing.TB) []string {
	var files []string
	for _, root := range []string{"../../testdata", "../../examples"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && path != root {
				// other packages' tests write temporary files there
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".yml") || strings.HasSuffix(path, ".yaml")) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(files)
	return files
}

// composeTopLevel are the top-level keys of a Compose file: a YAML file
// of the repository with others (a template, an args file) is no stack.
var composeTopLevel = map[string]bool{"version": true, "name": true, "services": true, "networks": true,
	"volumes": true, "secrets": true, "configs": true, "include": true, "models": true}

func isStack(root *yaml.Node) bool {
	if root.Kind != yaml.MappingNode || len(root.Content) == 0 {
		return false
	}
	for i := 0; i < len(root.Content); i += 2 {
		k := root.Content[i].Value
		if !composeTopLevel[k] && !strings.HasPrefix(k, "x-") {
			return false
		}
	}
	return true
}

// acceptedNow are the stacks docker accepts that compose's schema, which
// the loader checked, rejects: templates reading .Service failed on them
// before ("invalid stack: services.app.cgroupns_mode false schema").
var acceptedNow = map[string]string{
	"../../testdata/docker/svc-cgroupns-mode.yml": "cgroupns_mode is in docker's schema, not compose's",
}

// TestProjectMatchesLoader checks that Project gives what compose-go's
// loader gives, over every stack of the repository and the targeted ones:
// the same project, or an error from both, in the same file and with the
// same message unless the loader's came from compose's schema, which
// Project no longer checks. A stack only the schema rejects must be one
// podtemplate's validation rejects (before any typed model is built).
func TestProjectMatchesLoader(t *testing.T) {
	logrus.SetOutput(io.Discard) // the loader's warnings about Compose
	defer logrus.SetOutput(os.Stderr)
	type input struct {
		name string
		text []byte
		doc  *yaml.Node
	}
	var inputs []input
	for name, src := range targeted {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		inputs = append(inputs, input{"targeted/" + name, []byte(src), doc.Content[0]})
	}
	for _, f := range stackFiles(t) {
		text, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var doc yaml.Node
		if yaml.Unmarshal(text, &doc) != nil || len(doc.Content) == 0 || !isStack(doc.Content[0]) {
			continue // a template, an args file, a broken input: no stack
		}
		inputs = append(inputs, input{f, text, doc.Content[0]})
	}
	sort.Slice(inputs, func(i, j int) bool { return inputs[i].name < inputs[j].name })
	ctx := context.Background()
	var compared, failed, schemaOnly int
	for _, in := range inputs {
		// Each side decodes its own copy: the loader's steps change the
		// decoded values in place, not the node.
		want, wantErr := loaderProject(ctx, in.doc, "/work/dir", "stack.yml")
		got, gotErr := Project(ctx, in.doc, "/work/dir", "stack.yml")
		switch {
		case wantErr != nil && gotErr != nil:
			failed++
			var d *diag.Error
			if !errors.As(gotErr, &d) || d.File != "stack.yml" {
				t.Errorf("%s: error %v, want one in stack.yml", in.name, gotErr)
			}
			if sortedLines(gotErr) != sortedLines(wantErr) && !schemaInvalid(in.doc) {
				t.Errorf("%s: error\n  %v\nwant\n  %v", in.name, gotErr, wantErr)
			}
		case wantErr != nil:
			schemaOnly++
			if !schemaInvalid(in.doc) {
				t.Errorf("%s: loader fails (%v), Project does not", in.name, wantErr)
			} else if _, ok := acceptedNow[in.name]; !ok && !validationRejects(t, in.text) {
				t.Errorf("%s: only compose's schema rejects it (%v), and podtemplate's validation does not", in.name, wantErr)
			}
		case gotErr != nil:
			t.Errorf("%s: Project fails (%v), loader does not", in.name, gotErr)
		default:
			compared++
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: Project differs from the loader:\n%s", in.name, strings.Join(diff(reflect.ValueOf(got), reflect.ValueOf(want), "project", nil), "\n"))
			}
		}
	}
	t.Logf("%d stacks: %d compared, %d failing on both sides, %d rejected by compose's schema only", len(inputs), compared, failed, schemaOnly)
	if compared < 300 {
		t.Errorf("only %d stacks compared", compared)
	}
}

// sortedLines is an error's text with its lines sorted: mapstructure
// lists a decoding's errors in map order.
func sortedLines(err error) string {
	lines := strings.Split(err.Error(), "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// schemaInvalid reports whether compose's schema, which the loader
// checked, rejects the stack.
func schemaInvalid(root *yaml.Node) bool {
	var dict map[string]any
	if root.Decode(&dict) != nil {
		return true
	}
	delete(dict, "version")
	return schema.Validate(dict) != nil
}

// validationRejects reports whether podtemplate's validation rejects the
// stack, which then never gets to Project.
func validationRejects(t *testing.T, text []byte) bool {
	dir := t.TempDir()
	path := filepath.Join(dir, "stack.yml")
	if err := os.WriteFile(path, text, 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := load.Files(load.Options{Files: []string{path}, Env: map[string]string{}, Cwd: dir}, nil)
	if err != nil {
		return true
	}
	_, err = validation.Check(files, validation.Options{Env: map[string]string{}})
	return err != nil
}

// diff lists where got and want differ, for a readable failure.
func diff(got, want reflect.Value, at string, out []string) []string {
	if len(out) > 20 {
		return out
	}
	if got.IsValid() != want.IsValid() || (got.IsValid() && got.Type() != want.Type()) {
		return append(out, fmt.Sprintf("%s: got %#v, want %#v", at, got, want))
	}
	if !got.IsValid() {
		return out
	}
	switch got.Kind() {
	case reflect.Pointer, reflect.Interface:
		if got.IsNil() != want.IsNil() {
			return append(out, fmt.Sprintf("%s: got %#v, want %#v", at, got.Interface(), want.Interface()))
		}
		if !got.IsNil() {
			return diff(got.Elem(), want.Elem(), at, out)
		}
	case reflect.Struct:
		for i := 0; i < got.NumField(); i++ {
			out = diff(got.Field(i), want.Field(i), at+"."+got.Type().Field(i).Name, out)
		}
	case reflect.Map:
		if got.IsNil() != want.IsNil() {
			return append(out, fmt.Sprintf("%s: got nil=%v, want nil=%v", at, got.IsNil(), want.IsNil()))
		}
		keys := map[string]reflect.Value{}
		for _, k := range append(got.MapKeys(), want.MapKeys()...) {
			keys[fmt.Sprint(k.Interface())] = k
		}
		for s, k := range keys {
			out = diff(got.MapIndex(k), want.MapIndex(k), at+"["+s+"]", out)
		}
	case reflect.Slice:
		if got.IsNil() != want.IsNil() {
			return append(out, fmt.Sprintf("%s: got nil=%v, want nil=%v", at, got.IsNil(), want.IsNil()))
		}
		if got.Len() != want.Len() {
			return append(out, fmt.Sprintf("%s: got %d items, want %d", at, got.Len(), want.Len()))
		}
		for i := 0; i < got.Len(); i++ {
			out = diff(got.Index(i), want.Index(i), fmt.Sprintf("%s[%d]", at, i), out)
		}
	default:
		if got.CanInterface() && !reflect.DeepEqual(got.Interface(), want.Interface()) {
			return append(out, fmt.Sprintf("%s: got %#v, want %#v", at, got.Interface(), want.Interface()))
		}
	}
	return out
}

// BenchmarkProject3000 builds the typed project of the benchmark's 3000
// services, as a template reading whole services (.Service) needs.
func BenchmarkProject3000(b *testing.B) {
	dir := b.TempDir()
	text := benchgen.Stack(3000)
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		b.Fatal(err)
	}
	// Templates get the merged stack without the extension fields
	// podtemplate consumes.
	for _, svc := range yamlx.Pairs(yamlx.Get(doc.Content[0], "services")) {
		for i := 0; i < len(svc.Value.Content); i += 2 {
			if svc.Value.Content[i].Value == "x-podlike" {
				svc.Value.Content = append(svc.Value.Content[:i], svc.Value.Content[i+2:]...)
			}
		}
	}
	var names []string
	for i := 0; i < 3000; i++ {
		names = append(names, fmt.Sprintf("svc%05d", i))
	}
	for _, bc := range []struct {
		name  string
		build func(context.Context, *yaml.Node, string, string) (*types.Project, error)
	}{{"model", Project}, {"loader", loaderProject}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := bc.build(context.Background(), doc.Content[0], dir, "stack.yml"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("typed", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, _, err := Typed(context.Background(), doc.Content[0], names, Need{WholeService: true}, dir, "stack.yml"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestProjectNonStringKey checks the error for a mapping key that is no
// string, which names where it is as the loader does.
func TestProjectNonStringKey(t *testing.T) {
	for _, src := range []string{
		"services:\n  a:\n    image: a\n    labels:\n      1: x\n",
		"services:\n  a:\n    image: a\n    ports:\n      - {1: x}\n",
		"services:\n  a:\n    image: a\n    command: [[{b: {2: x}}]]\n",
		"x-a:\n  1: x\n",
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
			t.Fatal(err)
		}
		_, want := loaderProject(context.Background(), doc.Content[0], "/w", "stack.yml")
		_, got := Project(context.Background(), doc.Content[0], "/w", "stack.yml")
		if want == nil || got == nil || got.Error() != want.Error() {
			t.Errorf("%q: error %v, want %v", src, got, want)
		}
	}
}
