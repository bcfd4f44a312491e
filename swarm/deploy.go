package swarm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/podtemplate/podtemplate/joblabel"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// DeployOptions configures Deploy.
type DeployOptions struct {
	// Stack is the stack name.
	Stack string
	// Prune removes services no longer in the stack file (--prune).
	Prune bool
	// WithRegistryAuth sends registry credentials to the agents
	// (--with-registry-auth).
	WithRegistryAuth bool
	// ResolveImage is --resolve-image: always, changed or never ("":
	// docker's default).
	ResolveImage string
	// Stdin is the rendered stack file, piped to docker stack deploy -c -.
	Stdin []byte
	// Stdout receives docker's output (nil: discarded).
	Stdout io.Writer
	// Stderr receives docker's warnings (nil: discarded). On failure they
	// are part of the returned error instead.
	Stderr io.Writer
	// DockerArgs are global docker flags placed before "stack"
	// (--context X, -H Y). Nil: the flags that select the client's own
	// daemon (see Client.DockerArgs).
	DockerArgs []string
	// SkipUnchangedJobs leaves replicated-job and global-job services
	// whose hash label did not change out of the deploy, because Swarm
	// runs such a service again on every update, even an identical one.
	// Ignored with Prune (the left-out services would be removed).
	SkipUnchangedJobs bool
}

// DeployArgs are the arguments Deploy passes to the docker CLI.
func DeployArgs(opts DeployOptions) []string {
	args := append([]string{}, opts.DockerArgs...)
	args = append(args, "stack", "deploy", "-c", "-")
	if opts.Prune {
		args = append(args, "--prune")
	}
	if opts.WithRegistryAuth {
		args = append(args, "--with-registry-auth")
	}
	if opts.ResolveImage != "" {
		args = append(args, "--resolve-image", opts.ResolveImage)
	}
	return append(args, "--detach=true", opts.Stack)
}

// CheckStackName refuses a stack name Swarm cannot use: it names the
// stack's services and networks <stack>_<name> and wants a DNS name
// component, so the name is a letter or digit, then letters, digits, -
// and _.
func CheckStackName(name string) error {
	if name == "" {
		return errors.New("no stack name given")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '-' && c != '_') {
			return fmt.Errorf("stack name %q: Swarm names the stack's services and networks <stack>_<name> and wants a DNS name component: start with a letter or digit, then only letters, digits, - and _", name)
		}
	}
	return nil
}

// Deploy snapshots the stack's job services, then runs
// docker [global flags] stack deploy -c - ... STACK with the rendered stack
// on stdin. The snapshot is for Follow's Before.
func (c *Client) Deploy(ctx context.Context, opts DeployOptions) (Snapshot, error) {
	if err := CheckStackName(opts.Stack); err != nil {
		return Snapshot{}, err
	}
	switch opts.ResolveImage {
	case "", "always", "changed", "never":
	default:
		return Snapshot{}, fmt.Errorf("invalid --resolve-image %q: want always, changed or never", opts.ResolveImage)
	}
	snap, err := c.Snapshot(ctx, opts.Stack)
	if err != nil {
		return snap, err
	}
	if opts.DockerArgs == nil {
		opts.DockerArgs = c.DockerArgs()
	}
	if opts.SkipUnchangedJobs && !opts.Prune {
		file, skipped, err := withoutUnchangedJobs(opts.Stdin, snap)
		if err != nil {
			return snap, err
		}
		opts.Stdin = file
		snap.Skipped = skipped
	}
	if opts.Stdin == nil && len(snap.Skipped) > 0 {
		return snap, nil // every service was an unchanged job
	}
	return snap, c.runDocker(ctx, DeployArgs(opts), opts.Stdin, opts.Stdout, opts.Stderr, "docker stack deploy "+opts.Stack)
}

// runDocker runs the docker CLI; stderr is forwarded on success and
// becomes the error message on failure.
func (c *Client) runDocker(ctx context.Context, args []string, stdin []byte, stdout, stderr io.Writer, what string) error {
	bin, err := exec.LookPath(c.docker)
	if err != nil {
		return fmt.Errorf("%s: the docker CLI was not found in PATH (podtemplate deploys with docker stack deploy)", what)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	if stdout == nil {
		stdout = io.Discard
	}
	cmd.Stdout = stdout
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	runErr := cmd.Run()
	if runErr != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		msg := strings.TrimSpace(errBuf.String())
		if msg == "" {
			msg = runErr.Error()
		}
		return fmt.Errorf("%s failed: %s", what, msg)
	}
	if stderr != nil && errBuf.Len() > 0 {
		stderr.Write(errBuf.Bytes())
	}
	return nil
}

// withoutUnchangedJobs removes from a stack file the job-mode services
// whose hash label equals the deployed one.
func withoutUnchangedJobs(file []byte, snap Snapshot) ([]byte, []string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(file, &doc); err != nil {
		return nil, nil, fmt.Errorf("reading the rendered stack: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return file, nil, nil
	}
	root := yamlx.Copy(doc.Content[0])
	services := yamlx.Get(root, "services")
	if services == nil || services.Kind != yaml.MappingNode {
		return file, nil, nil
	}
	var skipped []string
	kept := services.Content[:0:0]
	for i := 0; i+1 < len(services.Content); i += 2 {
		name, svc := services.Content[i].Value, services.Content[i+1]
		deploy := yamlx.Get(svc, "deploy")
		mode := yamlx.Get(deploy, "mode")
		labels := yamlx.Get(deploy, "labels")
		hash := labelValue(labels, joblabel.Hash)
		before, ok := snap.Services[snap.Stack+"_"+name]
		if mode != nil && (mode.Value == joblabel.ModeReplicatedJob || mode.Value == joblabel.ModeGlobalJob) &&
			labelValue(labels, joblabel.Job) == "true" && ok && hash != "" && before.Hash == hash {
			skipped = append(skipped, name)
			continue
		}
		kept = append(kept, services.Content[i], svc)
	}
	if len(skipped) == 0 {
		return file, nil, nil
	}
	if len(kept) == 0 {
		// docker stack deploy needs at least one service; nothing changes.
		return nil, skipped, nil
	}
	services.Content = kept
	out, err := yaml.Marshal(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}})
	return out, skipped, err
}
