package swarm

import (
	"context"
	"errors"
	"fmt"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// serviceIDLabel is the label Swarm puts on every task container.
const serviceIDLabel = "com.docker.swarm.service.id"

// removeJobContainers removes the finished task containers of the
// job-mode services (replicated-job, global-job) among svcs. Docker 20.10
// leaves them behind, even after the service is removed
// (moby/moby#42789). Only containers on the daemon the client talks to
// are reached; running containers are left alone.
func (c *Client) removeJobContainers(ctx context.Context, svcs []swarm.Service) error {
	var errs []error
	for _, s := range svcs {
		if s.Spec.Mode.ReplicatedJob == nil && s.Spec.Mode.GlobalJob == nil {
			continue
		}
		list, err := c.api.ContainerList(ctx, container.ListOptions{
			All:     true,
			Filters: filters.NewArgs(filters.Arg("label", serviceIDLabel+"="+s.ID)),
		})
		if err != nil {
			errs = append(errs, c.apiErr("listing the containers of "+s.Spec.Name, err))
			continue
		}
		for _, ct := range list {
			switch ct.State {
			case "exited", "created", "dead":
			default:
				continue
			}
			if err := c.api.ContainerRemove(ctx, ct.ID, container.RemoveOptions{}); err != nil && !isNotFound(err) {
				errs = append(errs, fmt.Errorf("removing container %.12s of %s: %w", ct.ID, s.Spec.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}
