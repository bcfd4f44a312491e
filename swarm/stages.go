package swarm

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/podtemplate/podtemplate/joblabel"
	"github.com/podtemplate/podtemplate/transform/yamlx"
)

// StagedStack is a rendered stack file read for an ordered deploy: which
// services are pre-deploy jobs, post-deploy jobs, other jobs, and services
// that are not jobs.
type StagedStack struct {
	root *yaml.Node
	// Pre and Post are the pre-deploy and post-deploy jobs (service names
	// in the file), in file order.
	Pre, Post []string
	// Jobs are the other job services, scheduled ones excepted.
	Jobs []string
	// Scheduled are the scheduled job services.
	Scheduled []string
	// Services are the services that are not jobs.
	Services []string
	// Hash holds each job's hash label, by service name.
	Hash map[string]string
}

// ReadStages reads a rendered stack file (YAML or JSON).
func ReadStages(file []byte) (*StagedStack, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(file, &doc); err != nil {
		return nil, fmt.Errorf("reading the rendered stack: %v", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("reading the rendered stack: not a YAML mapping")
	}
	s := &StagedStack{root: yamlx.Copy(doc.Content[0]), Hash: map[string]string{}}
	services := yamlx.Get(s.root, "services")
	if services == nil || services.Kind != yaml.MappingNode {
		return s, nil
	}
	for i := 0; i+1 < len(services.Content); i += 2 {
		name, svc := services.Content[i].Value, services.Content[i+1]
		labels := yamlx.Get(yamlx.Get(svc, "deploy"), "labels")
		if labelValue(labels, joblabel.Job) != "true" {
			s.Services = append(s.Services, name)
			continue
		}
		s.Hash[name] = labelValue(labels, joblabel.Hash)
		switch {
		case labelValue(labels, joblabel.Stage) == joblabel.StagePreDeploy:
			s.Pre = append(s.Pre, name)
		case labelValue(labels, joblabel.Stage) == joblabel.StagePostDeploy:
			s.Post = append(s.Post, name)
		case labelValue(labels, joblabel.Schedule) != "" || labelValue(labels, joblabel.CronEnable) == "true":
			s.Scheduled = append(s.Scheduled, name)
		default:
			s.Jobs = append(s.Jobs, name)
		}
	}
	return s, nil
}

// Staged reports whether the stack has pre-deploy or post-deploy jobs.
func (s *StagedStack) Staged() bool { return len(s.Pre)+len(s.Post) > 0 }

// Rest is every service that is not a staged job, in file order.
func (s *StagedStack) Rest() []string {
	staged := map[string]bool{}
	for _, n := range append(append([]string(nil), s.Pre...), s.Post...) {
		staged[n] = true
	}
	var out []string
	for _, n := range s.all() {
		if !staged[n] {
			out = append(out, n)
		}
	}
	return out
}

func (s *StagedStack) all() []string {
	services := yamlx.Get(s.root, "services")
	if services == nil || services.Kind != yaml.MappingNode {
		return nil
	}
	var out []string
	for i := 0; i+1 < len(services.Content); i += 2 {
		out = append(out, services.Content[i].Value)
	}
	return out
}

// File is a stack file holding only the named services and the top-level
// networks, volumes, secrets and configs they use; the other top-level
// keys (version, x-*) are kept. It is nil when names is empty.
func (s *StagedStack) File(names []string) ([]byte, error) {
	if len(names) == 0 {
		return nil, nil
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	services := yamlx.Get(s.root, "services")
	picked := &yaml.Node{Kind: yaml.MappingNode}
	refs := map[string]map[string]bool{"networks": {}, "volumes": {}, "secrets": {}, "configs": {}}
	for i := 0; i+1 < len(services.Content); i += 2 {
		if !want[services.Content[i].Value] {
			continue
		}
		svc := services.Content[i+1]
		picked.Content = append(picked.Content, services.Content[i], svc)
		for kind, m := range serviceRefs(svc) {
			for k := range m {
				refs[kind][k] = true
			}
		}
	}
	out := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(s.root.Content); i += 2 {
		key, val := s.root.Content[i], s.root.Content[i+1]
		switch key.Value {
		case "services":
			out.Content = append(out.Content, key, picked)
		case "networks", "volumes", "secrets", "configs":
			if val.Kind != yaml.MappingNode {
				continue
			}
			used := &yaml.Node{Kind: yaml.MappingNode}
			for j := 0; j+1 < len(val.Content); j += 2 {
				if refs[key.Value][val.Content[j].Value] {
					used.Content = append(used.Content, val.Content[j], val.Content[j+1])
				}
			}
			if len(used.Content) > 0 {
				out.Content = append(out.Content, key, used)
			}
		default:
			out.Content = append(out.Content, key, val)
		}
	}
	return yaml.Marshal(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{out}})
}

// Phases describes the ordered deploy of the stack, one line per phase,
// for deploy --dry-run. snap is the deployed stack's snapshot (its jobs'
// hashes), which tells the staged jobs that would run from the unchanged
// ones that would not (all run with rerun).
func (s *StagedStack) Phases(snap Snapshot, rerun bool) []string {
	jobs := func(names []string) string {
		if len(names) == 0 {
			return "none"
		}
		parts := make([]string, len(names))
		for i, n := range names {
			b, ok := snap.Services[snap.Stack+"_"+n]
			switch {
			case !ok:
				parts[i] = n + " (new: runs)"
			case b.Hash != "" && b.Hash == s.Hash[n] && !rerun:
				parts[i] = n + " (unchanged: not run again)"
			case b.Hash != "" && b.Hash == s.Hash[n]:
				parts[i] = n + " (unchanged, runs again: --rerun-unchanged)"
			default:
				parts[i] = n + " (changed: runs)"
			}
		}
		return strings.Join(parts, ", ")
	}
	rest := "none"
	if r := s.Rest(); len(r) > 0 {
		rest = strings.Join(r, ", ")
	}
	return []string{
		"1. pre-deploy jobs, deployed and followed; a failure stops the deploy with nothing else changed: " + jobs(s.Pre),
		"2. the rest of the stack, deployed; created and updated services wait to converge: " + rest,
		"3. post-deploy jobs, deployed and followed; a failure fails the deploy (--rollback-on-failure rolls phase 2 back): " + jobs(s.Post),
	}
}
