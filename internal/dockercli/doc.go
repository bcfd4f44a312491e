// Package dockercli holds copies of the docker/cli packages that
// `podtemplate diff` and `deploy --dry-run` need to convert a stack file
// into service specs exactly as `docker stack deploy` does, without
// linking the rest of the docker CLI.
//
// docker/cli's cli/compose/convert imports cli/command/service for two
// functions (ParseSecrets and ParseConfigs, which look secret and config
// IDs up through the Engine API). That package imports cli/command and
// with it the whole CLI: gRPC, the OpenTelemetry exporters, swarmkit's
// API, protobuf, Prometheus, etcd's raft, notary. Their package
// initialisers ran at every start of podtemplate, `version` included:
// linking them made the binary 15 MB larger and every start about 7 ms
// slower and 7 MiB heavier. No docker/cli release (up to v29.7) nor a
// narrower docker/cli package offers the conversion without that import,
// and Go runs the initialisers of every linked package whichever
// functions are called.
//
// So convert (cli/compose/convert) and service (the one file of
// cli/command/service those functions live in) are copied here from the
// docker/cli version go.mod requires, unchanged except for convert's
// import of service, which points at the copy. The upstream LICENSE and
// NOTICE apply to them. TestCopiesMatchUpstream fails when go.mod moves
// to a docker/cli whose files differ (copy them again), and
// TestConvertAsDockerCLI runs both converters on the project's stack
// corpus and requires identical specs.
package dockercli
