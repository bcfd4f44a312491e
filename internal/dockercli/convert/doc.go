// Package convert is docker/cli's cli/compose/convert (see package
// dockercli): it converts a loaded stack file into Swarm service,
// network, secret and config specs as `docker stack deploy` does.
package convert
