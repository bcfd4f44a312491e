#!/bin/sh
# Builds the podtemplate image (scripts/image/Dockerfile) without pulling anything:
# FROM scratch, a static binary and the host's CA bundle for https templates.
#
# Usage: scripts/image.sh [TAG]
#
# Always tags podtemplate:latest; TAG adds podtemplate:TAG, or TAG itself when
# it names a repository (contains ':' or '/'), e.g. registry.example/podtemplate:1.2.
# The version stamped into the binary is `git describe --tags --always --dirty`
# ("dev" outside a git checkout), the commit `git rev-parse --short HEAD`; the
# VERSION and COMMIT environment variables override them.
#
# Idempotent: when podtemplate:latest already holds the same binary, CA
# bundle and Dockerfile, it only adds the tag. Uses the classic builder
# (DOCKER_BUILDKIT=0) and falls back to `docker import` when building fails.
set -eu

image=podtemplate:latest
tag=${1:-}
case $tag in
'') extra= ;;
*[:/]*) extra=$tag ;;
*) extra=podtemplate:$tag ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
certs=/etc/ssl/certs/ca-certificates.crt
version=${VERSION:-$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)}
commit=${COMMIT:-$(git -C "$root" rev-parse --short HEAD 2>/dev/null || true)}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
ctx=$tmp/context
mkdir "$ctx"

(cd "$root" && CGO_ENABLED=0 GOOS=linux go build -trimpath \
	-ldflags "-s -w -X main.version=$version -X main.commit=$commit" \
	-o "$ctx/podtemplate" ./cmd/podtemplate)
if [ -r "$certs" ]; then
	cp "$certs" "$ctx/ca-certificates.crt"
else
	echo "warning: no $certs on this host: the image cannot verify https templates" >&2
	: > "$ctx/ca-certificates.crt"
fi
cp "$root/scripts/image/Dockerfile" "$root/scripts/image/.dockerignore" "$ctx/"

sum=$(cd "$ctx" && sha256sum podtemplate ca-certificates.crt Dockerfile | sha256sum | cut -c1-64)
have=$(docker image inspect --format '{{index .Config.Labels "io.podtemplate.image.sha256"}}' "$image" 2>/dev/null || true)
if [ "$have" = "$sum" ]; then
	echo "$image is up to date ($version)"
else
	old_id=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
	if ! DOCKER_BUILDKIT=0 docker build -q -t "$image" \
		--label "io.podtemplate.image.sha256=$sum" \
		--label "org.opencontainers.image.title=podtemplate" \
		--label "org.opencontainers.image.version=$version" \
		--label "org.opencontainers.image.revision=$commit" \
		--label "org.opencontainers.image.source=https://github.com/podtemplate/podtemplate" \
		"$ctx" >/dev/null 2>"$tmp/build.err"; then
		# No builder: make the same image from a root file system tarball.
		cat "$tmp/build.err" >&2
		echo "docker build failed; importing the image instead" >&2
		rootfs=$tmp/rootfs
		mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc/ssl/certs" "$rootfs/work"
		cp "$ctx/podtemplate" "$rootfs/usr/local/bin/podtemplate"
		cp "$ctx/ca-certificates.crt" "$rootfs/etc/ssl/certs/ca-certificates.crt"
		tar -C "$rootfs" --owner=0 --group=0 -cf "$tmp/rootfs.tar" .
		docker import \
			--change 'WORKDIR /work' \
			--change 'USER 65532:65532' \
			--change 'ENTRYPOINT ["/usr/local/bin/podtemplate"]' \
			--change "LABEL io.podtemplate.image.sha256=$sum" \
			--change "LABEL org.opencontainers.image.title=podtemplate" \
			--change "LABEL org.opencontainers.image.version=$version" \
			--change "LABEL org.opencontainers.image.revision=$commit" \
			--change "LABEL org.opencontainers.image.source=https://github.com/podtemplate/podtemplate" \
			"$tmp/rootfs.tar" "$image" >/dev/null
	fi
	# Drop the image this one replaces, unless it keeps another tag (an
	# earlier podtemplate:TAG) or a container still uses it.
	if [ -n "$old_id" ] &&
		[ "$(docker image inspect --format '{{len .RepoTags}}' "$old_id" 2>/dev/null || true)" = 0 ]; then
		docker rmi "$old_id" >/dev/null 2>&1 || true
	fi
	echo "built $image ($version)"
fi
if [ -n "$extra" ]; then
	docker tag "$image" "$extra"
	echo "tagged $extra"
fi
