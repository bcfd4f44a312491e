#!/bin/sh
# Builds podtemplate from this checkout and installs it, with the docker CLI
# plugin link, so both `podtemplate ...` and `docker podtemplate ...` work.
#
# Usage: scripts/install.sh [PREFIX]      (default PREFIX: ~/.local)
#
# Installs:
#   PREFIX/bin/podtemplate
#   ${DOCKER_CONFIG:-~/.docker}/cli-plugins/docker-podtemplate -> PREFIX/bin/podtemplate
#
# The version stamped into the binary is `git describe --tags --always --dirty`
# ("dev" outside a git checkout) and the commit `git rev-parse --short HEAD`;
# the VERSION and COMMIT environment variables override them. Nothing is
# downloaded beyond what `go build` needs from the module cache. Running it
# again replaces the binary and the link (idempotent).
set -eu

prefix=${1:-${HOME}/.local}
root=$(cd "$(dirname "$0")/.." && pwd)

version=${VERSION:-$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)}
commit=${COMMIT:-$(git -C "$root" rev-parse --short HEAD 2>/dev/null || true)}

mkdir -p "$prefix/bin"
prefix=$(cd "$prefix" && pwd) # absolute, so the plugin link works from anywhere
bin=$prefix/bin/podtemplate

# Build beside the destination and rename over it: an interrupted build never
# leaves a broken binary, and a running podtemplate is not disturbed.
tmp=$prefix/bin/.podtemplate.tmp.$$
trap 'rm -f "$tmp"' EXIT
trap 'exit 1' INT TERM
# Static (no cgo), as the Dockerfile builds it: a smaller process that
# starts faster, and no libc dependency.
(cd "$root" && CGO_ENABLED=0 go build -trimpath \
	-ldflags "-X main.version=$version -X main.commit=$commit" \
	-o "$tmp" ./cmd/podtemplate)
mv -f "$tmp" "$bin"
echo "installed $bin: $("$bin" version)"

plugins=${DOCKER_CONFIG:-${HOME}/.docker}/cli-plugins
link=$plugins/docker-podtemplate
mkdir -p "$plugins"
if [ -d "$link" ] && [ ! -L "$link" ]; then
	echo "error: $link is a directory; remove it and run this again" >&2
	exit 1
fi
ln -sfn "$bin" "$link"
echo "installed docker CLI plugin $link -> $bin"

case ":${PATH}:" in
*":$prefix/bin:"*) ;;
*) echo "note: $prefix/bin is not in PATH; add it, or run 'docker podtemplate ...'" ;;
esac
