package convert_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	upstream "github.com/docker/cli/cli/compose/convert"
	"github.com/docker/cli/cli/compose/loader"
	composetypes "github.com/docker/cli/cli/compose/types"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/podtemplate/podtemplate/internal/dockercli/convert"
	"github.com/sirupsen/logrus"
)

// fakeAPI answers the secret and config look-ups of the converters: every
// name asked for exists, with the ID "id-" + name.
type fakeAPI struct {
	client.APIClient
	version string
}

func (f fakeAPI) ClientVersion() string { return f.version }

func (f fakeAPI) SecretList(_ context.Context, opts swarm.SecretListOptions) ([]swarm.Secret, error) {
	var out []swarm.Secret
	for _, name := range opts.Filters.Get("name") {
		out = append(out, swarm.Secret{ID: "id-" + name, Spec: swarm.SecretSpec{Annotations: swarm.Annotations{Name: name}}})
	}
	return out, nil
}

func (f fakeAPI) ConfigList(_ context.Context, opts swarm.ConfigListOptions) ([]swarm.Config, error) {
	var out []swarm.Config
	for _, name := range opts.Filters.Get("name") {
		out = append(out, swarm.Config{ID: "id-" + name, Spec: swarm.ConfigSpec{Annotations: swarm.Annotations{Name: name}}})
	}
	return out, nil
}

// richStack uses what the project's corpus rarely does: secrets, configs,
// a credential spec from a config, every kind of mount, and the deploy
// options.
const richStack = `version: "3.13"
services:
  app:
    image: nginx:1.25
    command: ["nginx", "-g", "daemon off;"]
    entrypoint: /docker-entrypoint.sh
    environment: {A: "1", B: ""}
    env_file: [files/common.env]
    labels: {tier: front}
    hostname: app
    user: "1000:1000"
    working_dir: /srv
    read_only: true
    tty: true
    stdin_open: true
    init: true
    stop_signal: SIGTERM
    stop_grace_period: 20s
    cap_add: [NET_ADMIN, ALL]
    cap_drop: [MKNOD]
    dns: [1.1.1.1, 8.8.8.8]
    dns_search: [example.org]
    extra_hosts: ["db:10.0.0.2", "cache=10.0.0.3"]
    sysctls: {net.core.somaxconn: 1024}
    ulimits: {nproc: 65535, nofile: {soft: 20000, hard: 40000}}
    isolation: default
    logging: {driver: json-file, options: {max-size: 10m}}
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost"]
      interval: 30s
      timeout: 5s
      retries: 3
      start_period: 10s
      start_interval: 2s
    ports:
      - "8080:80"
      - target: 443
        published: 8443
        protocol: tcp
        mode: host
      - "53:53/udp"
    networks:
      front:
        aliases: [web, www]
      back:
    volumes:
      - data:/data
      - ./site:/usr/share/nginx/html:ro
      - type: tmpfs
        target: /tmp
        tmpfs: {size: 1000000, mode: 1777}
      - type: volume
        source: cache
        target: /cache
        volume: {nocopy: true, subpath: sub}
      - type: bind
        source: /var/run
        target: /run/host
        bind: {propagation: rshared, create_host_path: true}
    secrets:
      - token
      - source: cert
        target: /etc/ssl/cert.pem
        uid: "101"
        gid: "102"
        mode: 0400
    configs:
      - app_config
      - source: named
        target: /etc/named.conf
    credential_spec:
      config: cred
    deploy:
      mode: replicated
      replicas: 3
      endpoint_mode: dnsrr
      labels: {owner: team}
      resources:
        limits: {cpus: "0.5", memory: 64M}
        reservations:
          cpus: "0.25"
          memory: 32M
          generic_resources:
            - discrete_resource_spec: {kind: gpu, value: 2}
      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3, window: 1m}
      update_config: {parallelism: 2, delay: 10s, failure_action: rollback, monitor: 30s, max_failure_ratio: 0.2, order: start-first}
      rollback_config: {parallelism: 1, order: stop-first}
      placement:
        constraints: [node.role == worker]
        preferences: [{spread: node.labels.zone}]
        max_replicas_per_node: 2
  worker:
    image: busybox
    restart: always
    deploy:
      mode: global
    networks: [back, outside]
    healthcheck:
      disable: true
  job:
    image: busybox
    deploy:
      mode: replicated-job
      replicas: 2
  global-job:
    image: busybox
    deploy:
      mode: global-job
  plain:
    image: busybox
    restart: on-failure:4
    healthcheck:
      test: "exit 0"
networks:
  front:
    driver: overlay
  back:
    name: custom-back
  outside:
    external: true
volumes:
  data:
  cache:
    name: shared-cache
secrets:
  token:
    file: files/secret.txt
  cert:
    external: true
    name: prod-cert
configs:
  app_config:
    file: files/config.txt
  named:
    file: files/config.txt
    name: named-config
  cred:
    external: true
`

// TestConvertAsDockerCLI converts the project's stack corpus (the docker
// parity inputs, the golden outputs and a stack using every option the
// converter handles) with the copy and with docker/cli's own package, and
// requires the same specs or the same error.
func TestConvertAsDockerCLI(t *testing.T) {
	// The loader warns about deprecated keys through logrus.
	logrus.SetOutput(io.Discard)
	defer logrus.SetOutput(os.Stderr)
	root := filepath.Join("..", "..", "..", "testdata")
	files, err := filepath.Glob(filepath.Join(root, "docker", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	golden, err := filepath.Glob(filepath.Join(root, "golden", "*", "expected.yml"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, golden...)
	if len(files) < 100 {
		t.Fatalf("only %d stack files found under %s", len(files), root)
	}
	type input struct {
		name string
		data []byte
	}
	inputs := []input{{"rich stack", []byte(richStack)}}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, input{f, data})
	}
	converted := 0
	for _, in := range inputs {
		cfg, err := load(in.data, filepath.Join(root, "docker"))
		if err != nil && in.name == "rich stack" {
			t.Fatalf("rich stack: %v", err)
		}
		if err != nil {
			continue // docker stack deploy stops before converting
		}
		for _, version := range []string{"1.28", "1.47"} {
			api := fakeAPI{version: version}
			want, wantErr := upstream.Services(context.Background(), upstream.NewNamespace("st"), cfg, api)
			got, gotErr := convert.Services(context.Background(), convert.NewNamespace("st"), cfg, api)
			if fmt.Sprint(wantErr) != fmt.Sprint(gotErr) {
				t.Errorf("%s (API %s): error %v, docker/cli's %v", in.name, version, gotErr, wantErr)
				continue
			}
			if in.name == "rich stack" && (wantErr != nil || len(want) != 5) {
				t.Fatalf("rich stack: %d services, error %v", len(want), wantErr)
			}
			sortRefs(want)
			sortRefs(got)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s (API %s): specs differ from docker/cli's:\n%+v\n%+v", in.name, version, got, want)
			}
			if wantErr == nil {
				converted++
			}
		}
		nets, _ := serviceNetworks(cfg)
		wantNets, wantExt := upstream.Networks(upstream.NewNamespace("st"), cfg.Networks, nets)
		gotNets, gotExt := convert.Networks(convert.NewNamespace("st"), cfg.Networks, nets)
		if !reflect.DeepEqual(gotNets, wantNets) || !reflect.DeepEqual(gotExt, wantExt) {
			t.Errorf("%s: networks differ from docker/cli's", in.name)
		}
		// Secrets and Configs list the file's mapping in map order.
		wantSecrets, wantErr := upstream.Secrets(upstream.NewNamespace("st"), cfg.Secrets)
		gotSecrets, gotErr := convert.Secrets(convert.NewNamespace("st"), cfg.Secrets)
		bySecretName := func(s []swarm.SecretSpec) func(i, j int) bool {
			return func(i, j int) bool { return s[i].Name < s[j].Name }
		}
		sort.Slice(wantSecrets, bySecretName(wantSecrets))
		sort.Slice(gotSecrets, bySecretName(gotSecrets))
		if fmt.Sprint(wantErr) != fmt.Sprint(gotErr) || !reflect.DeepEqual(gotSecrets, wantSecrets) {
			t.Errorf("%s: secrets differ from docker/cli's", in.name)
		}
		wantConfigs, wantErr := upstream.Configs(upstream.NewNamespace("st"), cfg.Configs)
		gotConfigs, gotErr := convert.Configs(convert.NewNamespace("st"), cfg.Configs)
		byConfigName := func(s []swarm.ConfigSpec) func(i, j int) bool {
			return func(i, j int) bool { return s[i].Name < s[j].Name }
		}
		sort.Slice(wantConfigs, byConfigName(wantConfigs))
		sort.Slice(gotConfigs, byConfigName(gotConfigs))
		if fmt.Sprint(wantErr) != fmt.Sprint(gotErr) || !reflect.DeepEqual(gotConfigs, wantConfigs) {
			t.Errorf("%s: configs differ from docker/cli's", in.name)
		}
	}
	if converted < 100 {
		t.Errorf("only %d conversions compared", converted)
	}
	if upstream.LabelNamespace != convert.LabelNamespace || upstream.LabelImage != convert.LabelImage {
		t.Error("labels differ from docker/cli's")
	}
}

// load reads a stack file as docker stack deploy does, with the
// environment its "# env: K=V ..." first line gives.
func load(data []byte, wd string) (*composetypes.Config, error) {
	env := map[string]string{}
	if first, _, _ := strings.Cut(string(data), "\n"); strings.HasPrefix(first, "# env:") {
		for _, kv := range strings.Fields(strings.TrimPrefix(first, "# env:")) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
	}
	dict, err := loader.ParseYAML(data)
	if err != nil {
		return nil, err
	}
	return loader.Load(composetypes.ConfigDetails{
		WorkingDir:  wd,
		ConfigFiles: []composetypes.ConfigFile{{Filename: "stack.yml", Config: dict}},
		Environment: env,
	})
}

// serviceNetworks is the set of networks the services use, as docker
// stack deploy passes it to Networks.
func serviceNetworks(cfg *composetypes.Config) (map[string]struct{}, error) {
	nets := map[string]struct{}{}
	for _, s := range cfg.Services {
		if len(s.Networks) == 0 {
			nets["default"] = struct{}{}
		}
		for n := range s.Networks {
			nets[n] = struct{}{}
		}
	}
	return nets, nil
}

// sortRefs orders secret and config references completely: the
// converters sort them by name only, and two references to one secret
// come out of a map in any order.
func sortRefs(specs map[string]swarm.ServiceSpec) {
	for _, s := range specs {
		cs := s.TaskTemplate.ContainerSpec
		if cs == nil {
			continue
		}
		sort.SliceStable(cs.Secrets, func(i, j int) bool {
			a, b := cs.Secrets[i], cs.Secrets[j]
			return a.SecretName < b.SecretName || a.SecretName == b.SecretName && a.File.Name < b.File.Name
		})
		sort.SliceStable(cs.Configs, func(i, j int) bool {
			a, b := cs.Configs[i], cs.Configs[j]
			if a.ConfigName != b.ConfigName {
				return a.ConfigName < b.ConfigName
			}
			return a.File != nil && (b.File == nil || a.File.Name < b.File.Name)
		})
	}
}
