// Package service is the part of docker/cli's cli/command/service that
// cli/compose/convert uses (see package dockercli): it resolves secret
// and config names to their IDs through the Engine API.
package service
