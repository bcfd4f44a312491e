// Package swarm deploys rendered stacks with the docker CLI and follows the
// one-shot job services they contain through the Docker Engine API.
//
// A job is a service of a deployed stack (label com.docker.stack.namespace)
// whose service labels carry joblabel.Job = "true". The other joblabel
// labels give its name, mode, completions, attempts, timeout and hash.
//
// The entry points are Connect, then the Client methods Deploy, Follow,
// Wait, Run, List, Logs and Prune. Every error they return is one readable
// message meant to be printed as is.
package swarm
