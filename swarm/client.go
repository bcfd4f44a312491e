package swarm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/tlsconfig"
)

// API is the part of the Docker Engine API the package uses. The official
// client (*client.Client) implements it; tests substitute fakes.
type API interface {
	Ping(ctx context.Context) (types.Ping, error)
	Info(ctx context.Context) (system.Info, error)
	NodeList(ctx context.Context, options swarm.NodeListOptions) ([]swarm.Node, error)
	ServiceList(ctx context.Context, options swarm.ServiceListOptions) ([]swarm.Service, error)
	ServiceRemove(ctx context.Context, serviceID string) error
	ServiceUpdate(ctx context.Context, serviceID string, version swarm.Version, service swarm.ServiceSpec, options swarm.ServiceUpdateOptions) (swarm.ServiceUpdateResponse, error)
	TaskList(ctx context.Context, options swarm.TaskListOptions) ([]swarm.Task, error)
	TaskLogs(ctx context.Context, taskID string, options container.LogsOptions) (io.ReadCloser, error)
	NetworkList(ctx context.Context, options network.ListOptions) ([]network.Summary, error)
	NetworkRemove(ctx context.Context, networkID string) error
	ConfigList(ctx context.Context, options swarm.ConfigListOptions) ([]swarm.Config, error)
	ConfigRemove(ctx context.Context, id string) error
	SecretList(ctx context.Context, options swarm.SecretListOptions) ([]swarm.Secret, error)
	SecretRemove(ctx context.Context, id string) error
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	ContainerRemove(ctx context.Context, containerID string, options container.RemoveOptions) error
	Close() error
}

// ConnectOptions selects the Docker daemon, with the same precedence as the
// docker CLI: Host, then Context, then $DOCKER_HOST, then $DOCKER_CONTEXT,
// then currentContext in $DOCKER_CONFIG/config.json, then the default
// socket.
type ConnectOptions struct {
	// Host is the daemon address, as given to docker -H
	// (unix:///var/run/docker.sock, tcp://host:2376, ssh://user@host).
	Host string
	// Context is a docker context name, as given to docker --context.
	// "default" means the environment and the default socket.
	Context string
}

// Client talks to the manager node of a Swarm. Create it with Connect or
// NewClient; Close it when done.
type Client struct {
	api    API
	host   string
	conn   ConnectOptions
	docker string // the docker CLI binary, "docker" by default
	poll   time.Duration
	now    func() time.Time
}

// Endpoint is where a docker context, an option or the environment points.
type Endpoint struct {
	// Host is the daemon address (unix://, tcp://, ssh://, npipe://).
	Host string
	// Context is the docker context the endpoint came from, if any.
	Context string
	// TLSDir is the folder holding ca.pem, cert.pem and key.pem, if TLS
	// material applies ("" for none).
	TLSDir string
	// TLSVerify is false when the server certificate is not verified.
	TLSVerify bool
	// FromEnv is true when TLS settings come from the environment
	// (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), as with client.FromEnv: for
	// an explicit Host, $DOCKER_HOST, the default context and the default
	// socket.
	FromEnv bool
}

// ResolveEndpoint finds the daemon endpoint the docker CLI would use for
// opts, reading the environment and the docker context store. It does not
// connect.
func ResolveEndpoint(opts ConnectOptions) (Endpoint, error) {
	if opts.Host != "" {
		// Like docker -H: the host is explicit, TLS still follows
		// DOCKER_TLS_VERIFY and DOCKER_CERT_PATH.
		return Endpoint{Host: opts.Host, FromEnv: true}, nil
	}
	if opts.Context != "" {
		return resolveContext(opts.Context)
	}
	if os.Getenv(client.EnvOverrideHost) != "" {
		return envEndpoint(), nil
	}
	if name := os.Getenv("DOCKER_CONTEXT"); name != "" {
		return resolveContext(name)
	}
	name, err := currentContext()
	if err != nil {
		return Endpoint{}, err
	}
	if name != "" {
		return resolveContext(name)
	}
	return envEndpoint(), nil
}

func envEndpoint() Endpoint {
	host := os.Getenv(client.EnvOverrideHost)
	if host == "" {
		host = client.DefaultDockerHost
	}
	return Endpoint{Host: host, FromEnv: true}
}

// configDir is $DOCKER_CONFIG, else ~/.docker.
func configDir() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".docker"
	}
	return filepath.Join(home, ".docker")
}

func currentContext() (string, error) {
	path := filepath.Join(configDir(), "config.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading docker config: %w", err)
	}
	var cfg struct {
		CurrentContext string `json:"currentContext"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return "", fmt.Errorf("reading docker config %s: %w", path, err)
	}
	return cfg.CurrentContext, nil
}

func resolveContext(name string) (Endpoint, error) {
	if name == "default" {
		ep := envEndpoint()
		ep.Context = name
		return ep, nil
	}
	sum := sha256.Sum256([]byte(name))
	id := hex.EncodeToString(sum[:])
	dir := filepath.Join(configDir(), "contexts")
	metaPath := filepath.Join(dir, "meta", id, "meta.json")
	data, err := os.ReadFile(metaPath)
	if errors.Is(err, os.ErrNotExist) {
		return Endpoint{}, fmt.Errorf("docker context %q not found (no %s); see docker context ls", name, metaPath)
	}
	if err != nil {
		return Endpoint{}, fmt.Errorf("reading docker context %q: %w", name, err)
	}
	var meta struct {
		Endpoints map[string]struct {
			Host          string `json:"Host"`
			SkipTLSVerify bool   `json:"SkipTLSVerify"`
		} `json:"Endpoints"`
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		return Endpoint{}, fmt.Errorf("reading docker context %q from %s: %w", name, metaPath, err)
	}
	docker, ok := meta.Endpoints["docker"]
	if !ok || docker.Host == "" {
		return Endpoint{}, fmt.Errorf("docker context %q has no docker endpoint host", name)
	}
	ep := Endpoint{Host: docker.Host, Context: name, TLSVerify: !docker.SkipTLSVerify}
	tlsDir := filepath.Join(dir, "tls", id, "docker")
	if st, err := os.Stat(tlsDir); err == nil && st.IsDir() {
		ep.TLSDir = tlsDir
	}
	// SkipTLSVerify without TLS material still means TLS for tcp hosts
	// (see clientOpts).
	return ep, nil
}

// clientOpts turns an endpoint into options of the official client.
func (ep Endpoint) clientOpts() ([]client.Opt, error) {
	opts := []client.Opt{client.WithAPIVersionNegotiation()}
	if strings.HasPrefix(ep.Host, "ssh://") {
		dial, err := sshDialer(ep.Host)
		if err != nil {
			return nil, err
		}
		// The http client talks plain HTTP over the ssh pipe.
		opts = append(opts,
			client.WithHTTPClient(&http.Client{Transport: &http.Transport{DialContext: dial}}),
			client.WithHost("http://docker.example.invalid"),
			client.WithDialContext(dial),
		)
		return opts, nil
	}
	if ep.FromEnv {
		// TLS from DOCKER_TLS_VERIFY/DOCKER_CERT_PATH, as client.FromEnv.
		return append(opts, client.FromEnv, client.WithHost(ep.Host)), nil
	}
	tr := &http.Transport{}
	if ep.TLSDir != "" || (!ep.TLSVerify && ep.Context != "") {
		tlsOpts := tlsconfig.Options{InsecureSkipVerify: !ep.TLSVerify, ExclusiveRootPools: true}
		if ep.TLSDir != "" {
			for name, dst := range map[string]*string{"ca.pem": &tlsOpts.CAFile, "cert.pem": &tlsOpts.CertFile, "key.pem": &tlsOpts.KeyFile} {
				if p := filepath.Join(ep.TLSDir, name); fileExists(p) {
					*dst = p
				}
			}
		}
		if ep.TLSDir != "" || strings.HasPrefix(ep.Host, "tcp://") || strings.HasPrefix(ep.Host, "https://") {
			cfg, err := tlsconfig.Client(tlsOpts)
			if err != nil {
				return nil, fmt.Errorf("TLS configuration for %s: %w", ep.Host, err)
			}
			tr.TLSClientConfig = cfg
		}
	}
	opts = append(opts, client.WithHTTPClient(&http.Client{Transport: tr}), client.WithHost(ep.Host))
	if tr.TLSClientConfig != nil {
		opts = append(opts, client.WithScheme("https"))
	}
	return opts, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// sshDialer connects to ssh://[user@]host[:port] the way the docker CLI
// does: ssh runs "docker system dial-stdio" on the remote host and the API
// is spoken over its stdin and stdout.
func sshDialer(host string) (func(ctx context.Context, network, addr string) (net.Conn, error), error) {
	u, err := url.Parse(host)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("invalid ssh host %q", host)
	}
	args := []string{}
	if u.User != nil {
		args = append(args, "-l", u.User.Username())
	}
	if p := u.Port(); p != "" {
		args = append(args, "-p", p)
	}
	args = append(args, "-o", "ConnectTimeout=30", "-T", "--", u.Hostname(), "docker", "system", "dial-stdio")
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		cmd := exec.Command("ssh", args...)
		return newCmdConn(cmd)
	}, nil
}

// cmdConn is a net.Conn over the stdin and stdout of a command.
type cmdConn struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser
	stderr *strings.Builder
}

func newCmdConn(cmd *exec.Cmd) (net.Conn, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &limitedBuilder{b: &stderr, max: 4096}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	return &cmdConn{cmd: cmd, stdin: stdin, stdout: stdout, stderr: &stderr}, nil
}

type limitedBuilder struct {
	b   *strings.Builder
	max int
}

func (l *limitedBuilder) Write(p []byte) (int, error) {
	if room := l.max - l.b.Len(); room > 0 {
		if len(p) > room {
			l.b.Write(p[:room])
		} else {
			l.b.Write(p)
		}
	}
	return len(p), nil
}

func (c *cmdConn) Read(p []byte) (int, error) {
	n, err := c.stdout.Read(p)
	if err == io.EOF && n == 0 {
		if msg := strings.TrimSpace(c.stderr.String()); msg != "" {
			return 0, fmt.Errorf("ssh: %s", msg)
		}
	}
	return n, err
}
func (c *cmdConn) Write(p []byte) (int, error) { return c.stdin.Write(p) }
func (c *cmdConn) Close() error {
	c.stdin.Close()
	if c.cmd.Process != nil {
		_ = c.cmd.Process.Kill()
	}
	_ = c.cmd.Wait()
	return nil
}
func (c *cmdConn) LocalAddr() net.Addr                { return dummyAddr{} }
func (c *cmdConn) RemoteAddr() net.Addr               { return dummyAddr{} }
func (c *cmdConn) SetDeadline(t time.Time) error      { return nil }
func (c *cmdConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *cmdConn) SetWriteDeadline(t time.Time) error { return nil }

type dummyAddr struct{}

func (dummyAddr) Network() string { return "cmd" }
func (dummyAddr) String() string  { return "cmd" }

// Connect reaches the daemon selected by opts, checks that it answers and
// that it is a Swarm manager.
func Connect(ctx context.Context, opts ConnectOptions) (*Client, error) {
	ep, err := ResolveEndpoint(opts)
	if err != nil {
		return nil, err
	}
	copts, err := ep.clientOpts()
	if err != nil {
		return nil, err
	}
	cli, err := client.NewClientWithOpts(copts...)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the Docker daemon at %s: %w", ep.Host, err)
	}
	host := ep.Host
	if ep.FromEnv {
		host = cli.DaemonHost()
	}
	c := NewClient(cli, host)
	c.conn = opts
	if err := c.check(ctx); err != nil {
		cli.Close()
		return nil, err
	}
	return c, nil
}

// NewClient wraps an API connection to the daemon at host (host is only
// used in messages). It does not check the connection; Connect does.
func NewClient(api API, host string) *Client {
	return &Client{api: api, host: host, docker: "docker", poll: 500 * time.Millisecond, now: time.Now}
}

// Host is the daemon address the client talks to.
func (c *Client) Host() string { return c.host }

// API is the underlying Engine API connection.
func (c *Client) API() API { return c.api }

// Close releases the connection.
func (c *Client) Close() error { return c.api.Close() }

// check pings the daemon and makes sure it is a swarm manager.
func (c *Client) check(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := c.api.Ping(pctx); err != nil {
		return c.unreachable(err)
	}
	info, err := c.api.Info(pctx)
	if err != nil {
		return c.unreachable(err)
	}
	if !info.Swarm.ControlAvailable {
		return ErrNotManager
	}
	return nil
}

// ErrNotManager is returned when the daemon is not a Swarm manager.
var ErrNotManager = errors.New("this node is not a swarm manager; run podtemplate against a manager (docker swarm init/join)")

func (c *Client) unreachable(err error) error {
	msg := err.Error()
	if strings.HasPrefix(msg, "Cannot connect to the Docker daemon") {
		// The client's message repeats the host and drops the cause.
		msg = "the daemon does not answer (is it running?)"
		if path, ok := strings.CutPrefix(c.host, "unix://"); ok {
			if _, serr := os.Stat(path); errors.Is(serr, os.ErrNotExist) {
				msg = "no socket at " + path + " (is the daemon running?)"
			}
		}
	}
	msg = strings.TrimPrefix(msg, "error during connect: ")
	return &withCause{msg: fmt.Sprintf("cannot reach the Docker daemon at %s: %s", c.host, oneLine(msg)), cause: err}
}

// apiErr turns an API error into one message, recognising the "not a
// manager" and connection failures.
func (c *Client) apiErr(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := err.Error()
	if strings.Contains(msg, "This node is not a swarm manager") {
		return ErrNotManager
	}
	if client.IsErrConnectionFailed(err) {
		return c.unreachable(err)
	}
	return &withCause{msg: what + ": " + msg, cause: err}
}

// withCause is an error with a message of its own that still unwraps to
// the error it describes (errors.Is and errors.As see through it).
type withCause struct {
	msg   string
	cause error
}

func (e *withCause) Error() string { return e.msg }
func (e *withCause) Unwrap() error { return e.cause }

// DockerArgs are the global docker CLI flags that select the same daemon
// as the client (-H HOST or --context NAME), for commands run through the
// docker CLI.
func (c *Client) DockerArgs() []string {
	switch {
	case c.conn.Host != "":
		return []string{"-H", c.conn.Host}
	case c.conn.Context != "":
		return []string{"--context", c.conn.Context}
	}
	return nil
}

// EngineClient returns the full Engine API client, for what needs more of
// the API than API (stackdiff converts specs with docker/cli's converter);
// false for a client built on a fake.
func (c *Client) EngineClient() (client.APIClient, bool) {
	ac, ok := c.api.(client.APIClient)
	return ac, ok
}
