package assemble

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/podtemplate/podtemplate/joblabel"
	"github.com/podtemplate/podtemplate/transform/config"
	"github.com/podtemplate/podtemplate/transform/diag"
	"github.com/podtemplate/podtemplate/transform/internal/codec"
	"github.com/podtemplate/podtemplate/transform/merge"
	"github.com/podtemplate/podtemplate/transform/yamlx"
	"gopkg.in/yaml.v3"
)

// JobService merges the job's templates into its service definition (svc,
// nil for a job created from templates alone). The service's own keys come
// first, so they keep their values.
func JobService(svc *yaml.Node, job *config.Job, r *Renderer) (*yaml.Node, error) {
	out := svc
	if out == nil {
		out = yamlx.Map()
	}
	for _, src := range job.Templates {
		_, v, ok, err := r.oneRoot(src, "job")
		if err != nil {
			return nil, err
		}
		if ok {
			out = merge.Into(out, v)
		}
	}
	if img, _ := yamlx.Scalar(yamlx.Get(out, "image")); img == "" {
		if svc != nil {
			return nil, job.Pos.Errorf("job has no image: neither the service nor its templates set one").WithService(job.Name)
		}
		names := make([]string, len(job.Templates))
		for i, src := range job.Templates {
			names[i] = r.Engine.Name(src.Key())
		}
		return nil, job.Pos.Errorf("job has no image: %q is not in services and its templates (%s) set none; expected image in a template", job.Name, strings.Join(names, ", ")).WithService(job.Name)
	}
	return out, nil
}

// ApplyJob makes svc a job: mode, replicas, restart policy, the swarm-cronjob
// labels for a schedule, and the job labels with the definition's hash.
// podMain names the main component of a job that is a pod ("" otherwise):
// its exit status is the job's.
func ApplyJob(svc *yaml.Node, job *config.Job, podMain string) error {
	deploy := yamlx.Resolve(yamlx.Get(svc, "deploy"))
	if deploy == nil || yamlx.IsNull(deploy) {
		deploy = yamlx.Map()
		yamlx.Set(svc, "deploy", deploy)
	}
	if deploy.Kind != yaml.MappingNode {
		// (The input's deploy was validated: this one is a template's, and
		// its line is in the template's text, not the stack's.)
		return job.Pos.Errorf("deploy is %s; expected a mapping", yamlx.KindName(deploy)).WithService(job.Name)
	}
	mode, _ := yamlx.Scalar(yamlx.Get(deploy, "mode"))
	switch job.Mode {
	case joblabel.ModeRestartNone:
		if mode != "" && mode != "replicated" {
			return job.Pos.Errorf("deploy.mode %q does not fit a restart-none job; use x-jobs mode global-job or replicated-job", mode).WithService(job.Name)
		}
		replicas := job.Completions
		if job.Schedule != "" {
			replicas = 0
		}
		yamlx.Set(deploy, "replicas", yamlx.Int(replicas))
	case joblabel.ModeReplicatedJob:
		yamlx.Set(deploy, "mode", yamlx.Str(joblabel.ModeReplicatedJob))
		yamlx.Set(deploy, "replicas", yamlx.Int(job.Completions))
	case joblabel.ModeGlobalJob:
		yamlx.Set(deploy, "mode", yamlx.Str(joblabel.ModeGlobalJob))
		yamlx.Delete(deploy, "replicas")
	}
	policy := yamlx.Resolve(yamlx.Get(deploy, "restart_policy"))
	if policy != nil && !yamlx.IsNull(policy) && policy.Kind != yaml.MappingNode {
		return job.Pos.Errorf("deploy.restart_policy is %s; expected a mapping", yamlx.KindName(policy)).WithService(job.Name)
	}
	if policy == nil || policy.Kind != yaml.MappingNode {
		policy = yamlx.Map()
		yamlx.Set(deploy, "restart_policy", policy)
	}
	if job.Attempts > 1 {
		yamlx.Set(policy, "condition", yamlx.Str("on-failure"))
		yamlx.Set(policy, "max_attempts", yamlx.Int(job.Attempts-1))
	} else {
		yamlx.Set(policy, "condition", yamlx.Str("none"))
		yamlx.Delete(policy, "max_attempts")
	}

	labels, err := labelMap(yamlx.Get(deploy, "labels"), "deploy.labels")
	if err != nil {
		return job.Pos.Errorf("%v", err).WithService(job.Name)
	}
	yamlx.Set(deploy, "labels", labels)
	yamlx.Set(labels, joblabel.Job, yamlx.Str("true"))
	yamlx.Set(labels, joblabel.Name, yamlx.Str(job.Name))
	yamlx.Set(labels, joblabel.Mode, yamlx.Str(job.Mode))
	if job.Mode != joblabel.ModeGlobalJob {
		yamlx.Set(labels, joblabel.Completions, yamlx.Str(strconv.Itoa(job.Completions)))
	}
	yamlx.Set(labels, joblabel.Attempts, yamlx.Str(strconv.Itoa(job.Attempts)))
	if job.Timeout != "" {
		yamlx.Set(labels, joblabel.Timeout, yamlx.Str(job.Timeout))
	}
	if job.Stage != "" {
		yamlx.Set(labels, joblabel.Stage, yamlx.Str(job.Stage))
	}
	if podMain != "" {
		yamlx.Set(labels, joblabel.PodMain, yamlx.Str(podMain))
	}
	if job.Schedule != "" {
		yamlx.Set(labels, joblabel.Schedule, yamlx.Str(job.Schedule))
		yamlx.Set(labels, joblabel.CronEnable, yamlx.Str("true"))
		yamlx.Set(labels, joblabel.CronSchedule, yamlx.Str(job.Schedule))
		yamlx.Set(labels, joblabel.CronSkipRunning, yamlx.Str("true"))
		yamlx.Set(labels, joblabel.CronReplicas, yamlx.Str(strconv.Itoa(job.Completions)))
	}
	yamlx.Delete(labels, joblabel.Hash)
	sum, err := Hash(svc)
	if err != nil {
		return &diag.Error{Service: job.Name, Msg: "hashing the job definition", Err: err}
	}
	yamlx.Set(labels, joblabel.Hash, yamlx.Str(sum))
	return nil
}

// labelMap is the labels node l (a mapping, a KEY=VALUE list or nothing)
// as a mapping the build can add labels to; what names l in messages.
func labelMap(l *yaml.Node, what string) (*yaml.Node, error) {
	l = yamlx.Resolve(l)
	if l != nil && !yamlx.IsNull(l) && l.Kind != yaml.MappingNode && l.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s is %s; expected a mapping or a list of KEY=VALUE strings", what, yamlx.KindName(l))
	}
	return yamlx.KeyValueMap(l), nil
}

// Hash is the hex SHA-256 of a service definition's compact JSON form.
func Hash(svc *yaml.Node) (string, error) {
	b, err := codec.JSON(svc, "")
	if err != nil {
		return "", fmt.Errorf("hash: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
