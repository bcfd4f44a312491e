package templates

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
)

// nonHermetic are the sprig functions the compiler leaves out (environment,
// network, clock, randomness); no built-in template may use them.
var nonHermetic = []string{
	"env", "expandenv", "getHostByName", "now", "date", "dateInZone", "date_in_zone",
	"ago", "dateModify", "date_modify", "mustDateModify", "must_date_modify", "htmlDate", "htmlDateInZone",
	"unixEpoch", "randAlpha", "randAlphaNum", "randAscii", "randNumeric", "randBytes", "randInt",
	"uuidv4", "shuffle", "genPrivateKey", "genCA", "genCAWithKey", "genSelfSignedCert",
	"genSelfSignedCertWithKey", "genSignedCert", "genSignedCertWithKey", "encryptAES", "bcrypt", "htpasswd",
}

// funcs is the template language of SPEC.md section 2, close enough for
// these tests: hermetic sprig plus podlike's and Helm's extras. The real one
// lives in the compiler.
func funcs(t *template.Template) template.FuncMap {
	fm := sprig.TxtFuncMap()
	for _, name := range nonHermetic {
		delete(fm, name)
	}
	fm["yaml"] = func(v any) (string, error) {
		b, err := yaml.Marshal(v)
		return strings.TrimSuffix(string(b), "\n"), err
	}
	fm["required"] = func(msg string, v any) (any, error) {
		if v == nil {
			return nil, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	}
	fm["notEmpty"] = func(v any) bool { return !fm["empty"].(func(any) bool)(v) }
	fm["startsWith"] = strings.HasPrefix
	fm["include"] = func(name string, data any) (string, error) {
		var b bytes.Buffer
		err := t.ExecuteTemplate(&b, name, data)
		return b.String(), err
	}
	fm["tpl"] = func(text string, data any) (string, error) {
		tt, err := t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var b bytes.Buffer
		err = tt.Execute(&b, data)
		return b.String(), err
	}
	return fm
}

// parse parses a template the way --strict renders: a missing map key is an
// error, so built-in templates must read optional args with index.
func parse(name string, text []byte) (*template.Template, error) {
	t := template.New(name).Option("missingkey=error")
	return t.Funcs(funcs(t)).Parse(string(text))
}

type job struct {
	Name        string
	Mode        string
	Completions int
	Attempts    int
	Timeout     string
	Schedule    string
}

func service(ports ...uint32) types.ServiceConfig {
	s := types.ServiceConfig{Name: "web"}
	s.Image = "example/web:1.2"
	for _, p := range ports {
		s.Ports = append(s.Ports, types.ServicePortConfig{Target: p, Published: "80", Protocol: "tcp", Mode: "ingress"})
	}
	return s
}

func render(t *testing.T, name string, svc types.ServiceConfig, args map[string]any) (map[string]any, string, error) {
	t.Helper()
	text, ok := Get(name)
	if !ok {
		t.Fatalf("Get(%q) failed", name)
	}
	tt, err := parse(name, text)
	if err != nil {
		t.Fatalf("%s: parse: %v", name, err)
	}
	if args == nil {
		args = map[string]any{}
	}
	data := map[string]any{
		"Service": svc,
		"Args":    args,
		"Project": &types.Project{Name: "shop", Services: types.Services{svc.Name: svc}},
		"Job":     &job{Name: svc.Name, Mode: "restart-none", Completions: 1, Attempts: 1, Timeout: "10m"},
	}
	var out bytes.Buffer
	if err := tt.Execute(&out, data); err != nil {
		return nil, "", err
	}
	if strings.Contains(out.String(), "<no value>") {
		t.Errorf("%s printed a missing value:\n%s", name, out.String())
	}
	var m map[string]any
	if err := yaml.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("%s: output is not YAML: %v\n%s", name, err, out.String())
	}
	if len(m) == 0 {
		t.Fatalf("%s: output is not a non-empty mapping:\n%s", name, out.String())
	}
	return m, out.String(), nil
}

// component returns the single root value of a rendered template.
func component(t *testing.T, m map[string]any, root string) map[string]any {
	t.Helper()
	if len(m) != 1 {
		t.Fatalf("want one root key %q, got %v", root, m)
	}
	c, ok := m[root].(map[string]any)
	if !ok {
		t.Fatalf("root key %q missing or not a mapping: %v", root, m)
	}
	return c
}

func str(v any) string { return fmt.Sprint(v) }

func TestListAndGet(t *testing.T) {
	if _, err := load(); err != nil {
		t.Fatal(err)
	}
	l := List()
	want := []string{"caching-proxy", "controller", "db-backup", "db-migrate", "discovery-agent", "healthcheck", "log-shipper"}
	var names []string
	for _, info := range l {
		names = append(names, info.Name)
	}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("List() names = %v, want %v", names, want)
	}
	for _, info := range l {
		if info.Kind == "" || info.Summary == "" || info.Example == "" {
			t.Errorf("%s: incomplete metadata %+v", info.Name, info)
		}
		for _, a := range info.Args {
			if a.Description == "" {
				t.Errorf("%s: arg %s has no description", info.Name, a.Name)
			}
			if !a.Required && a.Default == "" {
				t.Errorf("%s: optional arg %s has no documented default", info.Name, a.Name)
			}
		}
		var ex map[string]any
		if err := yaml.Unmarshal([]byte(info.Example), &ex); err != nil || !strings.Contains(info.Example, "builtin:"+info.Name) {
			t.Errorf("%s: metadata example should be YAML naming builtin:%s (%v)", info.Name, info.Name, err)
		} else {
			svc, args := fromExample(t, ex)
			if _, _, err := render(t, info.Name, svc, args); err != nil {
				t.Errorf("%s: metadata example does not render: %v", info.Name, err)
			}
		}
		text, ok := Get(info.Name)
		if !ok || len(text) == 0 {
			t.Errorf("Get(%q) failed", info.Name)
		}
		if b, ok := Get("builtin:" + info.Name); !ok || !bytes.Equal(b, text) {
			t.Errorf("Get(builtin:%s) differs", info.Name)
		}
		if got, ok := Lookup("builtin:" + info.Name); !ok || got.Name != info.Name {
			t.Errorf("Lookup(builtin:%s) = %+v, %v", info.Name, got, ok)
		}
	}
	for _, bad := range []string{"", "nope", "../templates/controller", "controller.yml", ".hidden", "builtin:"} {
		if _, ok := Get(bad); ok {
			t.Errorf("Get(%q) should fail", bad)
		}
	}
	// List returns copies.
	l[0].Args = nil
	if List()[0].Args == nil {
		t.Error("List() shares its slices with the caller")
	}
}

func TestMetadataIsWhatTheTemplateReads(t *testing.T) {
	// Templates read args with index (strict-safe, see TestStrictMode).
	argRef := regexp.MustCompile(`index \$?\.Args "([A-Za-z0-9_]+)"`)
	for _, info := range List() {
		text, _ := Get(info.Name)
		body := string(text)
		if i := strings.Index(body, "*/"); i >= 0 {
			body = body[i:]
		}
		used := map[string]bool{}
		for _, m := range argRef.FindAllStringSubmatch(body, -1) {
			used[m[1]] = true
		}
		documented := map[string]bool{}
		for _, a := range info.Args {
			documented[a.Name] = true
			if !used[a.Name] {
				t.Errorf("%s: documents arg %s but never reads it", info.Name, a.Name)
			}
		}
		for a := range used {
			if !documented[a] {
				t.Errorf("%s: reads arg %s but does not document it", info.Name, a)
			}
		}
		if strings.Contains(body, ".Args.") {
			t.Errorf("%s: reads .Args.NAME, which fails under --strict when NAME is unset; use index .Args \"NAME\"", info.Name)
		}
	}
}

func TestReadmeDocumentsEveryTemplateAndArg(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(readme)
	for _, info := range List() {
		sec := section(doc, "## `"+info.Name+"`")
		if sec == "" {
			t.Errorf("README.md has no section for %s", info.Name)
			continue
		}
		if !strings.Contains(sec, "Kind: `"+info.Kind+"`") {
			t.Errorf("README.md: %s should say Kind: `%s`", info.Name, info.Kind)
		}
		if !strings.Contains(sec, "builtin:"+info.Name) {
			t.Errorf("README.md: %s has no example naming builtin:%s", info.Name, info.Name)
		}
		for _, a := range info.Args {
			if !strings.Contains(sec, "`"+a.Name+"`") {
				t.Errorf("README.md: %s does not document arg %s", info.Name, a.Name)
			}
		}
	}
}

// TestReadmeExamplesRenderAsShown renders each README example that shows its
// output ("Renders:") and compares the two as YAML.
func TestReadmeExamplesRenderAsShown(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	shown := 0
	for _, info := range List() {
		sec := section(string(readme), "## `"+info.Name+"`")
		blocks := yamlBlocks(sec)
		if len(blocks) == 0 {
			t.Errorf("%s: no example", info.Name)
			continue
		}
		var example map[string]any
		if err := yaml.Unmarshal([]byte(blocks[0]), &example); err != nil {
			t.Errorf("%s: example is not YAML: %v", info.Name, err)
			continue
		}
		if !strings.Contains(sec, "Renders:") || len(blocks) < 2 {
			continue
		}
		shown++
		svc, args := fromExample(t, example)
		got, _, err := render(t, info.Name, svc, args)
		if err != nil {
			t.Errorf("%s: README example: %v", info.Name, err)
			continue
		}
		var want map[string]any
		if err := yaml.Unmarshal([]byte(blocks[1]), &want); err != nil {
			t.Errorf("%s: rendered example is not YAML: %v", info.Name, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			g, _ := yaml.Marshal(got)
			t.Errorf("%s: README shows\n%s\nbut the template renders\n%s", info.Name, blocks[1], g)
		}
	}
	if shown < 5 {
		t.Errorf("only %d README examples show their output", shown)
	}
}

// yamlBlocks returns the ```yaml fenced blocks of a README section.
func yamlBlocks(sec string) []string {
	var out []string
	for _, part := range strings.Split(sec, "```yaml\n")[1:] {
		if i := strings.Index(part, "```"); i >= 0 {
			out = append(out, part[:i])
		}
	}
	return out
}

// fromExample finds the service and the args an example stack snippet gives
// its template.
func fromExample(t *testing.T, ex map[string]any) (types.ServiceConfig, map[string]any) {
	t.Helper()
	sub := func(m any, key string) map[string]any { v, _ := m.(map[string]any)[key].(map[string]any); return v }
	args := map[string]any{}
	svc := types.ServiceConfig{}
	for name, def := range sub(ex, "services") {
		svc.Name = name
		d := def.(map[string]any)
		if img, ok := d["image"].(string); ok {
			svc.Image = img
		}
		ports, _ := d["ports"].([]any)
		for _, p := range ports {
			parts := strings.Split(str(p), ":")
			var target uint32
			fmt.Sscan(parts[len(parts)-1], &target)
			svc.Ports = append(svc.Ports, types.ServicePortConfig{Target: target})
		}
		if x := sub(d, "x-podlike"); x != nil {
			for k, v := range sub(x, "args") {
				args[k] = v
			}
		}
	}
	for _, top := range []string{"x-podlike", "x-jobs"} {
		for name, def := range sub(ex, top) {
			if name == "args" {
				continue
			}
			if svc.Name == "" {
				svc.Name = name
			}
			for k, v := range sub(def, "args") {
				args[k] = v
			}
		}
	}
	return svc, args
}

// section returns the README text from heading to the next "## ".
func section(doc, heading string) string {
	i := strings.Index(doc, heading+"\n")
	if i < 0 {
		return ""
	}
	rest := doc[i+len(heading):]
	if j := strings.Index(rest, "\n## "); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

func TestEveryTemplateParsesWithStubFuncs(t *testing.T) {
	stub := func(...any) any { return nil }
	fm := template.FuncMap{}
	for name, fn := range sprig.TxtFuncMap() {
		fm[name] = fn
	}
	for _, name := range nonHermetic {
		delete(fm, name)
	}
	for _, name := range []string{"yaml", "include", "tpl", "required", "notEmpty", "startsWith"} {
		fm[name] = stub
	}
	for _, info := range List() {
		text, _ := Get(info.Name)
		if _, err := template.New(info.Name).Funcs(fm).Parse(string(text)); err != nil {
			t.Errorf("%s: %v", info.Name, err)
		}
	}
}

func TestEveryTemplateRendersAMapping(t *testing.T) {
	required := map[string]map[string]any{
		"discovery-agent": {"ConsulJoin": "consul-server"},
		"db-migrate":      {"DatabaseURL": "postgres://app@db/orders"},
		"db-backup":       {"Database": "orders"},
	}
	for _, info := range List() {
		for _, svc := range []types.ServiceConfig{service(), service(3000), {Name: "job-only"}} {
			args := map[string]any{}
			for k, v := range required[info.Name] {
				args[k] = v
			}
			if info.Name == "db-migrate" && svc.Image == "" {
				args["MigrateImage"] = "example/api:1.4"
			}
			m, out, err := render(t, info.Name, svc, args)
			if err != nil {
				t.Errorf("%s with service %q: %v", info.Name, svc.Name, err)
				continue
			}
			switch info.Kind {
			case KindPod, KindTransformer, KindJob:
				if len(m) != 1 {
					t.Errorf("%s (kind %s) must render one root key:\n%s", info.Name, info.Kind, out)
				}
			}
			for k, v := range m {
				if _, ok := v.(map[string]any); !ok {
					t.Errorf("%s: root key %s is not a mapping:\n%s", info.Name, k, out)
				}
			}
			if strings.HasPrefix(out, "\n") {
				t.Errorf("%s: output starts with a blank line", info.Name)
			}
			if strings.Contains(out, "$") {
				// Stack files are interpolated at deploy: a lone $ would be a variable.
				t.Errorf("%s: output contains $:\n%s", info.Name, out)
			}
		}
		// Required args fail with a message naming the template.
		for k := range required[info.Name] {
			args := map[string]any{}
			for k2, v := range required[info.Name] {
				if k2 != k {
					args[k2] = v
				}
			}
			if _, _, err := render(t, info.Name, service(8080), args); err == nil || !strings.Contains(err.Error(), info.Name) {
				t.Errorf("%s without %s: err = %v", info.Name, k, err)
			}
		}
	}
}

func TestController(t *testing.T) {
	m, _, _ := render(t, "controller", service(8080), nil)
	c := component(t, m, "pod")
	if c["image"] != "rycus86/podlike:0.5.1" || c["command"] != "-logs -ipc=false" {
		t.Errorf("defaults: %v", c)
	}
	if vols := c["volumes"].([]any); len(vols) != 1 || vols[0] != "/var/run/docker.sock:/var/run/docker.sock:ro" {
		t.Errorf("volumes: %v", c["volumes"])
	}
	m, _, _ = render(t, "controller", service(), map[string]any{
		"ControllerImage": "mirror/podlike:0.5.1", "ControllerPull": true, "ControllerLogs": "false",
		"ControllerPids": false, "ControllerVolumes": "false", "DockerSocket": "/run/docker.sock",
	})
	c = component(t, m, "pod")
	if c["image"] != "mirror/podlike:0.5.1" || c["command"] != "-pull -pids=false -ipc=false -volumes=false" {
		t.Errorf("custom: %v", c)
	}
	if c["volumes"].([]any)[0] != "/run/docker.sock:/var/run/docker.sock:ro" {
		t.Errorf("socket: %v", c["volumes"])
	}
	m, _, _ = render(t, "controller", service(), map[string]any{"ControllerLogs": false, "ControllerIPC": true})
	if cmd, ok := component(t, m, "pod")["command"].([]any); !ok || len(cmd) != 0 {
		t.Errorf("no flags should mean an empty command (podlike's own defaults): %v", m)
	}
}

func TestCachingProxy(t *testing.T) {
	m, _, _ := render(t, "caching-proxy", service(3000), nil)
	c := component(t, m, "proxy")
	cmd := strings.Join(toStrings(c["command"]), " ")
	if c["image"] != "varnish:7.6" || cmd != "varnishd -F -a :8000 -b 127.0.0.1:3000 -s malloc,256m -t 120" {
		t.Errorf("from the service's port: %v / %s", c["image"], cmd)
	}
	m, _, _ = render(t, "caching-proxy", service(), map[string]any{"CacheSize": "1g", "ProxyPort": 80, "CacheTTL": 60, "ProxyImage": "varnish:7.5"})
	c = component(t, m, "proxy")
	if cmd := strings.Join(toStrings(c["command"]), " "); cmd != "varnishd -F -a :80 -b 127.0.0.1:8080 -s malloc,1g -t 60" || c["image"] != "varnish:7.5" {
		t.Errorf("no ports, args: %v / %s", c["image"], cmd)
	}
	if _, _, err := render(t, "caching-proxy", service(8000), nil); err == nil || !strings.Contains(err.Error(), "ProxyPort") {
		t.Errorf("same ports: err = %v", err)
	}
}

func TestLogShipper(t *testing.T) {
	m, _, _ := render(t, "log-shipper", service(8080), nil)
	c := component(t, m, "log-shipper")
	cmd := strings.Join(toStrings(c["command"]), " ")
	want := "-i tail -p path=/var/log/app/*.log -p refresh_interval=5 -t web -o forward -p host=fluentd -p port=24224 -m *"
	if cmd != want {
		t.Errorf("command:\n got %s\nwant %s", cmd, want)
	}
	if v := toStrings(c["volumes"]); len(v) != 1 || v[0] != "logs:/var/log/app:ro" {
		t.Errorf("volumes: %v", v)
	}
	m, _, _ = render(t, "log-shipper", service(), map[string]any{"LogOutput": "es", "LogHost": "elastic", "LogPath": "/logs/", "LogVolume": "app_logs", "LogFiles": "app-*.txt", "LogTag": "shop.web"})
	c = component(t, m, "log-shipper")
	cmd = strings.Join(toStrings(c["command"]), " ")
	if want := "-i tail -p path=/logs/app-*.txt -p refresh_interval=5 -t shop.web -o es -p host=elastic -p port=9200 -m *"; cmd != want {
		t.Errorf("es:\n got %s\nwant %s", cmd, want)
	}
	m, _, _ = render(t, "log-shipper", service(), map[string]any{"LogOutput": "stdout"})
	if cmd := strings.Join(toStrings(component(t, m, "log-shipper")["command"]), " "); strings.Contains(cmd, "host=") {
		t.Errorf("stdout needs no host: %s", cmd)
	}
	if _, _, err := render(t, "log-shipper", service(), map[string]any{"LogOutput": "loki"}); err == nil || !strings.Contains(err.Error(), "LogHost") {
		t.Errorf("loki without host: err = %v", err)
	}
}

func TestDiscoveryAgent(t *testing.T) {
	m, _, _ := render(t, "discovery-agent", service(8080), map[string]any{
		"ConsulJoin": []any{"consul-1", "consul-2"}, "ConsulDatacenter": "eu", "ConsulTags": "a, b",
		"ConsulCheckPath": "health",
	})
	c := component(t, m, "discovery")
	if cmd := strings.Join(toStrings(c["command"]), " "); cmd != "agent -retry-join=consul-1 -retry-join=consul-2 -datacenter=eu" {
		t.Errorf("command: %s", cmd)
	}
	env := c["environment"].(map[string]any)
	want := `{"leave_on_terminate":true,"service":{"check":{"http":"http://127.0.0.1:8080/health","interval":"10s","timeout":"5s"},"name":"web","port":8080,"tags":["a","b"]}}`
	if env["CONSUL_LOCAL_CONFIG"] != want || env["CONSUL_BIND_INTERFACE"] != "eth0" {
		t.Errorf("environment:\n got %v\nwant %s", env, want)
	}
	m, _, _ = render(t, "discovery-agent", service(), map[string]any{"ConsulJoin": "a,b", "ConsulRegister": false})
	env = component(t, m, "discovery")["environment"].(map[string]any)
	if env["CONSUL_LOCAL_CONFIG"] != `{"leave_on_terminate":true}` {
		t.Errorf("no registration: %v", env)
	}
}

func TestHealthcheck(t *testing.T) {
	m, _, _ := render(t, "healthcheck", service(3000), nil)
	hc := component(t, m, "healthcheck")["healthcheck"].(map[string]any)
	if test := strings.Join(toStrings(hc["test"]), " "); test != "CMD curl -fsS -o /dev/null http://127.0.0.1:3000/health" {
		t.Errorf("test: %s", test)
	}
	if hc["interval"] != "10s" || hc["timeout"] != "5s" || hc["retries"] != 3 || hc["start_period"] != "30s" {
		t.Errorf("healthcheck: %v", hc)
	}
	m, _, _ = render(t, "healthcheck", service(), map[string]any{"HealthPath": "ready", "HealthRetries": "5"})
	hc = component(t, m, "healthcheck")["healthcheck"].(map[string]any)
	if test := toStrings(hc["test"]); test[len(test)-1] != "http://127.0.0.1:8080/ready" || hc["retries"] != 5 {
		t.Errorf("custom: %v", hc)
	}
	m, _, _ = render(t, "healthcheck", service(), map[string]any{"HealthURL": "https://127.0.0.1:8443/ping"})
	hc = component(t, m, "healthcheck")["healthcheck"].(map[string]any)
	if test := toStrings(hc["test"]); test[len(test)-1] != "https://127.0.0.1:8443/ping" {
		t.Errorf("url: %v", hc)
	}
}

func TestDBMigrate(t *testing.T) {
	m, _, _ := render(t, "db-migrate", service(), map[string]any{"DatabaseURL": "postgres://app@db/orders"})
	c := component(t, m, "migrate")
	if c["image"] != "example/web:1.2" || c["environment"].(map[string]any)["DATABASE_URL"] != "postgres://app@db/orders" {
		t.Errorf("defaults: %v", c)
	}
	if _, ok := c["command"]; ok {
		t.Errorf("no command arg should leave the command alone: %v", c)
	}
	m, _, _ = render(t, "db-migrate", types.ServiceConfig{Name: "migrate"}, map[string]any{
		"DatabaseURLSecret": "db-url", "MigrateImage": "example/api:1.4",
		"MigrateCommand": []any{"./manage", "migrate"}, "MigrateEnv": map[string]any{"LOG_LEVEL": "debug", "RETRIES": 3},
		"Networks": []any{"backend"},
	})
	c = component(t, m, "migrate")
	env := c["environment"].(map[string]any)
	if c["image"] != "example/api:1.4" || env["DATABASE_URL_FILE"] != "/run/secrets/db-url" || env["RETRIES"] != "3" || env["LOG_LEVEL"] != "debug" {
		t.Errorf("secret: %v", c)
	}
	if _, ok := env["DATABASE_URL"]; ok {
		t.Errorf("DATABASE_URL with a secret: %v", env)
	}
	if strings.Join(toStrings(c["command"]), " ") != "./manage migrate" || toStrings(c["secrets"])[0] != "db-url" || toStrings(c["networks"])[0] != "backend" {
		t.Errorf("secret: %v", c)
	}
	m, _, _ = render(t, "db-migrate", service(), map[string]any{"DatabaseURL": "x", "MigrateCommand": "flask db upgrade"})
	if component(t, m, "migrate")["command"] != "flask db upgrade" {
		t.Errorf("string command: %v", m)
	}
	if _, _, err := render(t, "db-migrate", types.ServiceConfig{Name: "migrate"}, map[string]any{"DatabaseURL": "x"}); err == nil || !strings.Contains(err.Error(), "MigrateImage") {
		t.Errorf("no image: err = %v", err)
	}
}

func TestDBBackup(t *testing.T) {
	m, out, _ := render(t, "db-backup", types.ServiceConfig{Name: "backup"}, map[string]any{"Database": "orders"})
	c := component(t, m, "backup")
	script := toStrings(c["command"])[2]
	for _, s := range []string{
		"set -e\n",
		"pg_dump --no-password --format=custom --file=/backups/.orders.partial\n",
		"mv /backups/.orders.partial /backups/orders-`date -u +%Y%m%dT%H%M%SZ`.dump\n",
	} {
		if !strings.Contains(script, s) {
			t.Errorf("script lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(script, "PGPASSWORD") || strings.Contains(script, "find") {
		t.Errorf("defaults: %s", script)
	}
	env := c["environment"].(map[string]any)
	if env["PGHOST"] != "postgres" || env["PGPORT"] != "5432" || env["PGUSER"] != "postgres" || env["PGDATABASE"] != "orders" {
		t.Errorf("environment: %v", env)
	}
	if toStrings(c["volumes"])[0] != "backups:/backups" || c["image"] != "postgres:16-alpine" {
		t.Errorf("volume/image: %v", c)
	}

	m, out, _ = render(t, "db-backup", types.ServiceConfig{Name: "backup"}, map[string]any{
		"Database": "orders", "Host": "db", "Port": 5433, "User": "backup", "PasswordSecret": "pg-pass",
		"Volume": "nfs-backups", "BackupPath": "/srv/dumps/", "RetentionDays": 7, "PgDumpArgs": "--no-owner",
		"Constraints": []any{"node.labels.backups == true"}, "Networks": []any{"db"}, "BackupImage": "postgres:17-alpine",
	})
	c = component(t, m, "backup")
	script = toStrings(c["command"])[2]
	for _, s := range []string{
		"PGPASSWORD=\"`cat /run/secrets/pg-pass`\"\nexport PGPASSWORD\n",
		"pg_dump --no-password --format=custom --no-owner --file=/srv/dumps/.orders.partial\n",
		"find /srv/dumps -maxdepth 1 -name 'orders-*.dump' -mtime +7 -delete\n",
	} {
		if !strings.Contains(script, s) {
			t.Errorf("script lacks %q:\n%s", s, out)
		}
	}
	if toStrings(c["secrets"])[0] != "pg-pass" || toStrings(c["volumes"])[0] != "nfs-backups:/srv/dumps" {
		t.Errorf("custom: %v", c)
	}
	if got := c["deploy"].(map[string]any)["placement"].(map[string]any)["constraints"]; toStrings(got)[0] != "node.labels.backups == true" {
		t.Errorf("constraints: %v", got)
	}
	for _, bad := range []map[string]any{
		{"Database": "orders; rm -rf /"},
		{"Database": "orders", "BackupPath": "relative"},
		{"Database": "orders", "PasswordSecret": "a b"},
	} {
		if _, _, err := render(t, "db-backup", service(), bad); err == nil || !strings.Contains(err.Error(), "db-backup") {
			t.Errorf("%v: err = %v", bad, err)
		}
	}
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, len(l))
	for i, x := range l {
		out[i] = str(x)
	}
	return out
}
