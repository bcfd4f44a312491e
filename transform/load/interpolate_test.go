package load

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/docker/cli/cli/compose/loader"
	composetypes "github.com/docker/cli/cli/compose/types"
	"github.com/podtemplate/podtemplate/transform/yamlx"
)

var interpolationEnv = map[string]string{
	"SET": "value", "EMPTY": "", "N": "3", "B": "yes", "F": "0.25", "HOME": "/home/u",
	"DOLLAR": "a$b", "PORT": "8080", "NUM": "010", "BRACE": "}",
}

// dockerConfig loads data with docker/cli's own loader, interpolating with
// env unless skip, without schema validation (the schema is checked
// elsewhere): the meaning docker stack deploy gives the file.
func dockerConfig(t *testing.T, data []byte, skip bool) (string, error) {
	t.Helper()
	dict, err := loader.ParseYAML(data)
	if err != nil {
		return "", err
	}
	return dockerDict(dict, skip)
}

func dockerDict(dict map[string]any, skip bool) (string, error) {
	cfg, err := loader.Load(composetypes.ConfigDetails{
		WorkingDir:  "/work",
		ConfigFiles: []composetypes.ConfigFile{{Filename: "stack.yml", Config: dict}},
		Environment: interpolationEnv,
	}, func(o *loader.Options) { o.SkipValidation = true; o.SkipInterpolation = skip })
	if err != nil {
		return "", err
	}
	out, err := json.Marshal(cfg)
	return string(out), err
}

// TestInterpolateAsDocker checks that our in-place interpolation gives the
// values docker/cli's interpolation gives, types and all, or fails where
// it fails, with its message.
func TestInterpolateAsDocker(t *testing.T) {
	cases := map[string]string{
		"empty default":        "A: ${UNSET:-}\n      B: ${EMPTY}\n      C: $EMPTY\n      D: ${EMPTY-x}\n      E: ${EMPTY:-x}",
		"literal default":      "A: ${UNSET:-$2y$05$abc}\n      B: ${UNSET:-${SET:-x}}\n      C: ${UNSET:-a$$b}\n      D: ${UNSET-$$}",
		"dollar":               "A: $$SET\n      B: $${SET}\n      C: a$$\n      D: ${DOLLAR}",
		"named quirk":          "A: $SET-foo bar\n      B: $SET:-x\n      C: ${SET}}\n      D: x${BRACE}",
		"numbers stay strings": "A: ${N}\n      B: ${F}\n      C: ${B}\n      D: '${N}'\n      E: ${NUM}",
		"required set":         "A: ${SET?e}\n      B: ${SET:?e}\n      C: ${EMPTY?e}",
	}
	for name, env := range cases {
		t.Run(name, func(t *testing.T) {
			compareInterpolation(t, "version: '3.8'\nservices:\n  web:\n    image: nginx\n    environment:\n      "+env+"\n")
		})
	}
	typed := map[string]string{
		"casts": `version: "3.8"
services:
  web:
    image: nginx:${SET}
    privileged: ${B}
    read_only: "${B}"
    tty: $B
    stdin_open: ${UNSET:-off}
    oom_score_adj: ${N}
    ports:
      - target: ${PORT}
        published: "${N}"
      - "${PORT}:80"
    ulimits:
      nproc: ${N}
      nofile: {soft: "${N}", hard: $N}
    healthcheck:
      retries: ${N}
      disable: ${UNSET:-false}
    secrets:
      - source: s
        mode: ${NUM}
    volumes:
      - type: volume
        source: v
        target: /v
        read_only: ${B}
        volume: {nocopy: "${UNSET-true}"}
    deploy:
      replicas: ${N}
      update_config: {parallelism: "${N}", max_failure_ratio: "${F}"}
      rollback_config: {max_failure_ratio: "${N}"}
      restart_policy: {max_attempts: $N}
      placement: {max_replicas_per_node: "${N}"}
      labels: ["a=${N}"]
  web.v2:
    image: nginx
    labels: {x: "${N}"}
networks:
  n: {external: "${B}", labels: {a: "${EMPTY}"}}
volumes:
  v: {external: "${UNSET:-no}"}
secrets:
  s: {external: "${B}"}
configs:
  c: {file: "./${SET}.txt"}
x-ext:
  a: ${SET}
  b: ${N}
`,
		"anchors": `version: "3.8"
x-n: &n "${N}"
x-base: &base
  image: nginx:${SET}
  environment: {A: "${EMPTY}"}
x-deploy: &deploy
  replicas: ${N}
  restart_policy: {max_attempts: "${N}"}
x-more: &more
  privileged: ${B}
services:
  a:
    <<: *base
    deploy: {replicas: *n}
  b:
    <<: *base
    labels: {n: *n}
  c:
    <<: [*base, *more]
    deploy:
      <<: *deploy
`,
		"bad cast":       "version: '3.8'\nservices:\n  web:\n    image: nginx\n    deploy:\n      replicas: ${SET}\n",
		"bad bool":       "version: '3.8'\nservices:\n  web:\n    image: nginx\n    privileged: ${N}\n",
		"invalid":        "version: '3.8'\nservices:\n  web:\n    image: nginx\n    environment:\n      - A=${SET\n",
		"required":       "version: '3.8'\nservices:\n  web:\n    image: nginx\n    command: [\"x\", \"${UNSET:?give it}\"]\n",
		"required empty": "version: '3.8'\nservices:\n  web:\n    image: ${EMPTY:?no image}\n",
	}
	for name, text := range typed {
		t.Run(name, func(t *testing.T) { compareInterpolation(t, text) })
	}
}

func compareInterpolation(t *testing.T, text string) {
	t.Helper()
	want, wantErr := dockerConfig(t, []byte(text), false)
	f, err := Parse("stack.yml", "/work", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	ierr := Interpolate(f, interpolationEnv, nil)
	if wantErr != nil {
		if ierr == nil {
			t.Fatalf("docker fails (%v), we do not", wantErr)
		}
		if !strings.Contains(ierr.Error(), wantErr.Error()) {
			t.Fatalf("message differs:\n got: %v\nwant: %v", ierr, wantErr)
		}
		return
	}
	if ierr != nil {
		t.Fatalf("docker accepts, we fail: %v", ierr)
	}
	v, err := yamlx.Value(f.Root)
	if err != nil {
		t.Fatal(err)
	}
	got, err := dockerDict(v.(map[string]any), true)
	if err != nil {
		t.Fatalf("docker cannot load our interpolated tree: %v", err)
	}
	if got != want {
		t.Errorf("meaning differs:\n got: %s\nwant: %s", got, want)
	}
}
