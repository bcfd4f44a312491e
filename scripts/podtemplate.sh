#!/bin/sh
# Runs podtemplate from its image (scripts/image.sh builds it) on the files
# of the current directory, as yourself, so nothing needs installing:
#
# Usage: scripts/podtemplate.sh COMMAND [OPTIONS]
#   scripts/podtemplate.sh render stack.yml
#   scripts/podtemplate.sh render -c stack.yml -o rendered/stack.yml
#   scripts/podtemplate.sh render - < stack.yml
#   PODTEMPLATE_IMAGE=registry.example/podtemplate:1.2 scripts/podtemplate.sh validate -c stack.yml
#
# The current directory is mounted at /work (the working directory inside),
# so paths must stay below it: ../other.yml or absolute host paths are not
# visible in the container. Standard input is passed through. The image has
# no docker CLI: use it for render, validate and templates; deploy and run
# need podtemplate installed on the host (scripts/install.sh).
set -eu

exec docker run --rm -i \
	-v "$PWD:/work" -w /work \
	-u "$(id -u):$(id -g)" \
	"${PODTEMPLATE_IMAGE:-podtemplate}" "$@"
