package fastschema

import (
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/docker/cli/cli/compose/schema"
	"github.com/xeipuuv/gojsonschema"
	"gopkg.in/yaml.v3"
)

// TestPatternsMatchTheirExpressions checks each hand matcher against the
// regular expression the generator maps to it.
func TestPatternsMatchTheirExpressions(t *testing.T) {
	exprs := map[pattern]string{
		patName:      `^[a-zA-Z0-9._-]+$`,
		patExtension: `^x-`,
		patLine:      `^.+$`,
		patSome:      `.+`,
		patLower:     `^[a-z]+$`,
	}
	inputs := []string{"", "a", "x-", "x-a", "X-a", "xa", "\n", "\n\n", "a\n", "\na", "a\nb", "web_1.x-y", "Web", "a b",
		"é", "a/b", "ab", "AB", "09", "-", ".", "_", "x", "\r", "日本", "a\x00", "\t", "$x", "x-\n"}
	r := rand.New(rand.NewSource(1))
	alphabet := []rune("aZ09._-x\n\r é/ \t")
	for i := 0; i < 2000; i++ {
		n := r.Intn(6)
		var b strings.Builder
		for j := 0; j < n; j++ {
			b.WriteRune(alphabet[r.Intn(len(alphabet))])
		}
		inputs = append(inputs, b.String())
	}
	for p, expr := range exprs {
		re := regexp.MustCompile(expr)
		for _, in := range inputs {
			if got, want := p.match(in), re.MatchString(in); got != want {
				t.Errorf("pattern %s on %q: %v; the regexp says %v", expr, in, got, want)
			}
		}
	}
}

// dockerSchemas compiles each schema file once, as schema.Validate does
// on every call (the same file, gojsonschema and format checkers).
var dockerSchemas = sync.OnceValues(func() (map[string]*gojsonschema.Schema, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/docker/cli").Output()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "cli/compose/schema/data")
	m := map[string]*gojsonschema.Schema{}
	for _, v := range versions {
		data, err := os.ReadFile(filepath.Join(dir, "config_schema_v"+v.name+".json"))
		if err != nil {
			return nil, err
		}
		s, err := gojsonschema.NewSchema(gojsonschema.NewStringLoader(string(data)))
		if err != nil {
			return nil, err
		}
		m[v.name] = s
	}
	return m, nil
})

// docker reports whether docker's schema for version accepts doc.
func docker(t testing.TB, doc map[string]any, version string) bool {
	t.Helper()
	schemas, err := dockerSchemas()
	if err != nil {
		t.Fatal(err)
	}
	res, err := schemas[version].Validate(gojsonschema.NewGoLoader(doc))
	return err == nil && res.Valid()
}

// agree fails when Check's verdict contradicts docker's.
func agree(t testing.TB, doc map[string]any, version string) Result {
	t.Helper()
	got := Check(doc, version)
	if got == Unsure {
		return got
	}
	if want := docker(t, doc, version); (got == Valid) != want {
		t.Fatalf("version %s: fastschema says %v, docker's schema valid=%v:\n%s", version, got, want, dump(doc))
	}
	return got
}

func dump(v any) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

// TestUnregisteredFormatsPass: the tables drop the formats nobody
// registers with gojsonschema ("expose"), which pass everything; a
// checker registered for one would make that wrong.
func TestUnregisteredFormatsPass(t *testing.T) {
	for _, f := range []string{"ports", "duration"} {
		if !gojsonschema.FormatCheckers.Has(f) {
			t.Errorf("docker no longer registers format %q", f)
		}
	}
	if gojsonschema.FormatCheckers.Has("expose") {
		t.Fatal(`a checker for format "expose" is registered: fastschema must implement it`)
	}
	doc := map[string]any{"version": "3.8", "services": map[string]any{"a": map[string]any{"image": "x", "expose": []any{"not a port", -1.5}}}}
	if err := schema.Validate(doc, "3.8"); err != nil || Check(doc, "3.8") != Valid {
		t.Fatalf("docker: %v; fastschema: %v", err, Check(doc, "3.8"))
	}
}

// TestUnwritableValuesAreNotValid: a value JSON cannot write (NaN, an
// infinity) fails schema.Validate wherever it is, even where the schema
// accepts anything (extension fields).
func TestUnwritableValuesAreNotValid(t *testing.T) {
	for _, bad := range []any{math.NaN(), math.Inf(1), []any{math.Inf(-1)}, map[string]any{"a": math.NaN()}} {
		for _, doc := range []map[string]any{
			{"version": "3.8", "services": map[string]any{"a": map[string]any{"image": "x", "x-foo": bad}}},
			{"version": "3.8", "x-top": bad, "services": map[string]any{}},
			{"version": "3.8", "services": map[string]any{"a": map[string]any{"build": map[string]any{"context": ".", "extra": bad}}}},
			{"version": "3.8", "services": map[string]any{"a": map[string]any{"expose": []any{bad}}}},
		} {
			if err := schema.Validate(doc, "3.8"); err == nil {
				t.Fatalf("docker accepts %v", doc)
			}
			if got := Check(doc, "3.8"); got == Valid {
				t.Errorf("fastschema says valid: %v", doc)
			}
		}
	}
}

// TestServiceKeyKnown compares ServiceKeyKnown with what docker's schema
// says of a service holding only that key.
func TestServiceKeyKnown(t *testing.T) {
	for _, v := range versions {
		for _, key := range []string{"image", "mem_limit", "cpu_shares", "x-foo", "deploy", "credential_spec", "isolation",
			"cgroupns_mode", "init", "build", "bogus", "", "X-foo"} {
			known, ok := ServiceKeyKnown(v.name, key)
			if !ok {
				t.Fatalf("%s %q: not decided", v.name, key)
			}
			err := schema.Validate(map[string]any{"services": map[string]any{"s": map[string]any{key: nil}}}, v.name)
			want := err == nil || !strings.Contains(err.Error(), "Additional property "+key+" is not allowed")
			if known != want {
				t.Errorf("%s %q: known=%v; docker's schema says %v (%v)", v.name, key, known, want, err)
			}
		}
	}
	if _, ok := ServiceKeyKnown("2.4", "image"); ok {
		t.Error("a version without a schema decided")
	}
}

// seedServices are valid services using most keys of the 3.x schemas.
const seedServices = `
full:
  image: nginx:1.25
  build:
    context: .
    dockerfile: Dockerfile
    args: {A: "1", B: 2}
    labels: [a=b]
    cache_from: [x, y]
  cap_add: [NET_ADMIN]
  cap_drop: [ALL]
  cgroup_parent: p
  command: ["sh", "-c", "echo"]
  configs: [cfg, {source: cfg2, target: /c, uid: "1", gid: "1", mode: 0440}]
  container_name: c
  credential_spec: {file: f}
  depends_on: [db]
  deploy:
    mode: replicated
    replicas: 2
    endpoint_mode: vip
    labels: {a: b, n: 1, z: null}
    placement:
      constraints: [node.role == manager]
      preferences: [{spread: node.labels.zone}]
    resources:
      limits: {cpus: "0.5", memory: 50M}
      reservations: {cpus: "0.25", memory: 20M, generic_resources: [{discrete_resource_spec: {kind: gpu, value: 2}}]}
    restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3, window: 120s}
    update_config: {parallelism: 2, delay: 10s, failure_action: pause, monitor: 1m, max_failure_ratio: 0.5, order: start-first}
    rollback_config: {parallelism: 1, order: stop-first}
  devices: [/dev/fuse]
  dns: 8.8.8.8
  dns_search: [a.example]
  domainname: example.com
  entrypoint: /bin/sh
  env_file: .env
  environment: [A=1, B=2]
  expose: ["80", 81, "8000-8010"]
  external_links: [x:y]
  extra_hosts: ["h:1.2.3.4"]
  healthcheck: {test: ["CMD", "true"], interval: 30s, timeout: 10s, retries: 3, start_period: 5s}
  hostname: h
  init: true
  ipc: host
  isolation: default
  labels: {a: b}
  links: [db]
  logging: {driver: json-file, options: {max-size: 10m, max-file: 3}}
  mac_address: 02:42:ac:11:65:43
  network_mode: bridge
  networks:
    front: {aliases: [a], ipv4_address: 10.0.0.2}
    back: null
  pid: host
  ports:
    - "80:80"
    - 8080
    - "127.0.0.1:5000-5010:5000-5010/udp"
    - {target: 80, published: 8081, protocol: tcp, mode: ingress}
  privileged: false
  read_only: true
  restart: always
  secrets: [s, {source: s2, target: t, mode: 0400}]
  security_opt: [label:disable]
  shm_size: 64M
  stdin_open: true
  stop_grace_period: 1m30s
  stop_signal: SIGTERM
  sysctls: {net.core.somaxconn: 1024}
  tmpfs: [/run, /tmp]
  tty: true
  ulimits: {nproc: 65535, nofile: {soft: 20000, hard: 40000}}
  user: "1000"
  userns_mode: host
  volumes:
    - /data:/data:ro
    - {type: volume, source: v, target: /v, read_only: true, volume: {nocopy: true}}
    - {type: bind, source: ., target: /b, bind: {propagation: rshared}}
    - {type: tmpfs, target: /t, tmpfs: {size: 1000}}
  working_dir: /app
  x-extra: {anything: [1, 2]}
small:
  image: redis
  networks: [front, back]
  command: redis-server --appendonly yes
  environment: {A: "1", B: 2.5, C: null}
  deploy: {replicas: 1}
  ports: ["6379"]
`

// seedTop are top-level sections beside the services.
const seedTop = `
networks:
  front: {driver: overlay, attachable: true, driver_opts: {a: b, n: 1}, ipam: {driver: default, config: [{subnet: 10.0.0.0/24}]}, labels: [a=b], internal: false}
  back: null
  ext: {external: true}
  ext2: {external: {name: other}}
volumes:
  v: {driver: local, driver_opts: {type: nfs}, labels: {a: b}}
  w: null
  e: {external: true, name: e}
secrets:
  s: {file: ./s.txt}
  s2: {external: true}
configs:
  cfg: {file: ./c.txt}
  cfg2: {external: {name: x}}
x-top: [1, 2]
`

// handSeeds is how many documents seeds makes of seedServices.
const handSeeds = 2

// seeds returns valid documents: the seeds above, and the services of the
// differential corpus docker's schema accepts.
func seeds(t testing.TB) []map[string]any {
	var svcs, top map[string]any
	if err := yaml.Unmarshal([]byte(seedServices), &svcs); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(seedTop), &top); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, name := range sortedNames(svcs) {
		doc := map[string]any{"services": map[string]any{name: svcs[name]}}
		for k, v := range top {
			doc[k] = v
		}
		out = append(out, doc)
	}
	paths, _ := filepath.Glob(filepath.Join("..", "..", "..", "..", "testdata", "docker", "*.yml"))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if yaml.Unmarshal(data, &doc) != nil {
			continue
		}
		delete(doc, "version")
		svcs, _ := doc["services"].(map[string]any)
		for _, name := range sortedNames(svcs) {
			one := map[string]any{"services": map[string]any{"s": svcs[name]}}
			if docker(t, one, "3.13") {
				out = append(out, one)
			}
		}
	}
	return out
}

func sortedNames(m map[string]any) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// TestSeedsAreValid: every seed is valid for docker and for Check, in the
// versions that define all its keys.
func TestSeedsAreValid(t *testing.T) {
	for i, doc := range seeds(t) {
		if !docker(t, doc, "3.13") {
			t.Fatalf("seed %d refused by docker:\n%s", i, dump(doc))
		}
		if got := Check(doc, "3.13"); got != Valid {
			t.Fatalf("seed %d: fastschema says %v:\n%s", i, got, dump(doc))
		}
		for _, v := range versions {
			doc["version"] = v.name
			agree(t, doc, v.name)
		}
	}
}

// TestMutantsAgree mutates valid documents at random (wrong types,
// unknown or misplaced keys, bad durations and ports, duplicate list
// items, nulls, floats...) and checks that Check never contradicts
// docker's schema: Valid only where docker accepts, Invalid only where
// it refuses.
func TestMutantsAgree(t *testing.T) {
	docs := seeds(t)
	r := rand.New(rand.NewSource(15))
	keys := propertyNames()
	n := 6000
	if testing.Short() {
		n = 1500
	}
	counts := map[Result]int{}
	dockerValid := 0
	for i := 0; i < n; i++ {
		// Half the mutants start from the seeds written for this test,
		// which use most keys.
		pick := r.Intn(len(docs))
		if r.Intn(2) == 0 {
			pick = r.Intn(handSeeds)
		}
		doc := deepCopy(docs[pick]).(map[string]any)
		v := versions[r.Intn(len(versions))].name
		doc["version"] = v
		for m := 1 + r.Intn(3); m > 0; m-- {
			mutate(r, doc, keys)
		}
		got := agree(t, doc, v)
		counts[got]++
		if got == Valid || (got == Unsure && docker(t, doc, v)) {
			dockerValid++
		}
	}
	t.Logf("%d mutants: %d valid, %d invalid, %d unsure", n, counts[Valid], counts[Invalid], counts[Unsure])
	if counts[Valid] < n/20 || counts[Invalid] < n/4 {
		t.Errorf("the mutants hardly test both sides: %v", counts)
	}
	if counts[Unsure] > n/20 {
		t.Errorf("fastschema is unsure of %d of %d mutants", counts[Unsure], n)
	}
}

// propertyNames are the property names the tables know, for keys in the
// wrong place.
func propertyNames() []string {
	set := map[string]bool{}
	for _, n := range nodes {
		for _, p := range n.props {
			set[p.name] = true
		}
	}
	out := []string{"bogus", "", "x-ext", "X-Y", "a\nb", "UP", "with space", "é", "xa", "x", "-x", "\n", "a.b", "a/b"}
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// negZero is -0, which JSON writes apart from 0.
var negZero = math.Copysign(0, -1)

var tricky = []any{
	"", "x", "10", "10s", "1h2m3s", "-5s", "5", "1.5s", "80", "80:80", "80-81:80-81", "127.0.0.1:80:80", "[::1]:80:80",
	"65536", "0", "80/udp", "80/sctp", "80:80/tcp", "a:b", "8000-7000", "1-65535:1-65535", "start-first", "stop-first",
	"3.8", "${X}", "true", "null", "é", "a=b", "a=b", "0.5", "10M", "volume", "bind",
	0, 1, -1, 80, 65535, 65536, 3, 0.5, 1.0, negZero, 1e21, 1e300, 9007199254740993, math.MaxInt64,
	65535.0, 65536.0, -1.0, 80.0, 2.5, math.NaN(), math.Inf(1), []any{math.NaN()},
	true, false, nil,
	map[string]any{}, []any{}, []any{"a", "a"}, []any{1, 1.0}, []any{"80:80", "80:80"},
	map[string]any{"soft": 1, "hard": 2}, map[string]any{"type": "volume"},
	map[string]any{"target": 80}, []any{map[string]any{"target": 80}, map[string]any{"target": 80.0}},
	[]any{negZero, 0}, []any{negZero, 0.0}, []any{nil, nil}, []any{"x", 1, true, nil},
}

// mutate changes doc in one random place: a map or list anywhere in it,
// picked uniformly.
func mutate(r *rand.Rand, doc map[string]any, keys []string) {
	var all []any
	var collect func(v any)
	collect = func(v any) {
		switch c := v.(type) {
		case map[string]any:
			all = append(all, c)
			for _, k := range sortedNames(c) {
				collect(c[k])
			}
		case []any:
			all = append(all, c)
			for _, x := range c {
				collect(x)
			}
		}
	}
	collect(doc)
	if r.Intn(30) == 0 {
		// A value JSON cannot write, anywhere.
		poison := []any{math.NaN(), math.Inf(-1)}[r.Intn(2)]
		switch c := all[r.Intn(len(all))].(type) {
		case map[string]any:
			c[keys[r.Intn(len(keys))]] = poison
		case []any:
			if len(c) > 0 {
				c[r.Intn(len(c))] = poison
			}
		}
		return
	}
	switch c := all[r.Intn(len(all))].(type) {
	case map[string]any:
		names := sortedNames(c)
		switch op := r.Intn(7); {
		case op == 0 || len(names) == 0:
			c[keys[r.Intn(len(keys))]] = randomValue(r)
		case op == 1:
			delete(c, names[r.Intn(len(names))])
		case op == 2:
			k := names[r.Intn(len(names))]
			c[k] = wrap(r, c[k])
		case op == 3:
			k := names[r.Intn(len(names))]
			c[k] = perturb(r, c[k])
		default:
			c[names[r.Intn(len(names))]] = randomValue(r)
		}
	case []any:
		if len(c) == 0 {
			return
		}
		i := r.Intn(len(c))
		switch r.Intn(4) {
		case 0:
			c[i] = randomValue(r)
		case 1:
			c[i] = deepCopy(c[r.Intn(len(c))]) // a duplicate, usually
		case 2:
			c[i] = perturb(r, c[i])
		default:
			c[i] = wrap(r, c[i])
		}
	}
}

// perturb changes a scalar a little: a number by one or a half, a
// string by an affix.
func perturb(r *rand.Rand, v any) any {
	switch x := v.(type) {
	case int:
		return []any{x + 1, x - 1, -x, float64(x), float64(x) + 0.5, x * 1000}[r.Intn(6)]
	case float64:
		return []any{x + 1, x - 1, -x, math.Trunc(x), x + 0.5, int(x)}[r.Intn(6)]
	case string:
		affixes := []string{"s", "x", ":80", "/udp", "-1", "0", ".5", "m", " ", "=", "\n"}
		a := affixes[r.Intn(len(affixes))]
		switch r.Intn(4) {
		case 0:
			return x + a
		case 1:
			return a + x
		case 2:
			if x != "" {
				return x[:r.Intn(len(x))]
			}
			return a
		default:
			return strings.ToUpper(x)
		}
	case bool:
		return !x
	}
	return randomValue(r)
}

func randomValue(r *rand.Rand) any {
	return deepCopy(tricky[r.Intn(len(tricky))])
}

// wrap changes a value's shape: into a list, out of one, to a string or
// a float.
func wrap(r *rand.Rand, v any) any {
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			return nil
		}
		if r.Intn(2) == 0 {
			return x[0]
		}
		return append(x, deepCopy(x[r.Intn(len(x))]))
	case int:
		if r.Intn(2) == 0 {
			return float64(x) + 0.5
		}
		return fmt.Sprint(x)
	case string:
		return []any{x}
	case map[string]any:
		return []any{x}
	}
	return []any{v}
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = deepCopy(x)
		}
		return s
	}
	return v
}

// FuzzCheck reads YAML documents and checks Check against docker's schema
// (run with go test -fuzz FuzzCheck; without, it runs the seeds).
func FuzzCheck(f *testing.F) {
	f.Add([]byte(seedTop))
	f.Add([]byte("services:\n  a:\n    image: x\n    ports: ['80:80', 80, '80:80']\n"))
	f.Add([]byte("services:\n  a:\n    image: x\n    stop_grace_period: 10\n    healthcheck: {interval: 1x}\n"))
	f.Add([]byte("services:\n  a:\n    image: x\n    deploy: {update_config: {order: start-last}}\n"))
	f.Add([]byte("services:\n  a:\n    ulimits: {nofile: {soft: 1}}\n"))
	f.Add([]byte("services:\n  a:\n    volumes: [{type: tmpfs, target: /t, tmpfs: {size: -1}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc map[string]any
		if yaml.Unmarshal(data, &doc) != nil || doc == nil {
			return
		}
		for _, v := range []string{"3.0", "3.8", "3.13"} {
			agree(t, doc, v)
		}
	})
}

// benchDoc is the richer seed document with every top-level section.
func benchDoc(b *testing.B) map[string]any {
	doc := seeds(b)[0]
	doc["version"] = "3.8"
	return doc
}

// BenchmarkCheck decides the richest seed document (about 80 service
// keys and every top-level section).
func BenchmarkCheck(b *testing.B) {
	doc := benchDoc(b)
	b.ReportAllocs()
	for b.Loop() {
		if Check(doc, "3.8") != Valid {
			b.Fatal("not valid")
		}
	}
}

// BenchmarkDockerValidate is what Check spares: docker's schema.Validate
// on the same document (it compiles the schema on every call).
func BenchmarkDockerValidate(b *testing.B) {
	doc := benchDoc(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := schema.Validate(doc, "3.8"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestUniqueItems reads uniqueItems through properties, patterns and
// oneOf branches as the schema nests them.
func TestUniqueItems(t *testing.T) {
	for _, c := range []struct {
		version string
		path    []string
		want    bool
	}{
		{"3.8", []string{"services", "web", "cap_add"}, true},
		{"3.8", []string{"services", "web", "dns"}, true},
		{"3.8", []string{"services", "web", "networks", "n", "aliases"}, true},
		{"3.1", []string{"services", "web", "extra_hosts"}, true},
		{"3.8", []string{"services", "web", "deploy", "placement", "constraints"}, false},
		{"3.8", []string{"services", "web", "command"}, false},
		{"3.8", []string{"services", "web", "healthcheck", "test"}, false},
	} {
		got, ok := UniqueItems(c.version, c.path)
		if !ok || got != c.want {
			t.Errorf("%s %v: unique %v (known %v), want %v", c.version, c.path, got, ok, c.want)
		}
	}
	if _, ok := UniqueItems("9.9", []string{"services"}); ok {
		t.Error("a version the tables do not hold is known")
	}
}
