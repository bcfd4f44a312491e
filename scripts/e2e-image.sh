#!/bin/sh
# Builds the local test image podtemplate-e2e:latest (FROM scratch, one
# static binary: testdata/e2e/jobimage) without pulling anything.
# Idempotent: when the image already holds the same binary, it does nothing.
# Usage: scripts/e2e-image.sh [IMAGE]   (default podtemplate-e2e:latest)
set -eu

image=${1:-podtemplate-e2e:latest}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# jobimage is a module of its own (standard library only), so the image
# builds whatever state the main module's go.mod is in.
cd "$root/testdata/e2e/jobimage"
CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags='-s -w' -o "$tmp/jobimage" .

sum=$(sha256sum "$tmp/jobimage" | cut -c1-64)
have=$(docker image inspect --format '{{index .Config.Labels "io.podtemplate.e2e.sha256"}}' "$image" 2>/dev/null || true)
if [ "$have" = "$sum" ]; then
	echo "$image is up to date ($sum)"
	exit 0
fi

old_id=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)

cat > "$tmp/Dockerfile" <<DOCKERFILE
FROM scratch
COPY jobimage /jobimage
LABEL io.podtemplate.e2e.sha256=$sum
ENTRYPOINT ["/jobimage"]
DOCKERFILE

if ! DOCKER_BUILDKIT=0 docker build -q -t "$image" "$tmp" >/dev/null 2>"$tmp/build.err"; then
	# Fall back to docker import when the builder is unavailable.
	cat "$tmp/build.err" >&2
	tar -C "$tmp" -cf "$tmp/rootfs.tar" jobimage
	docker import \
		--change 'ENTRYPOINT ["/jobimage"]' \
		--change "LABEL io.podtemplate.e2e.sha256=$sum" \
		"$tmp/rootfs.tar" "$image" >/dev/null
fi
# Drop the image this one replaces (kept if something still uses it).
if [ -n "$old_id" ]; then
	docker rmi "$old_id" >/dev/null 2>&1 || true
fi
echo "built $image ($sum)"
