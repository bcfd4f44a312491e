#!/bin/sh
# Builds the tutorial's image, tutorial-app:TAG (default 1): FROM scratch
# and one static binary built with the local Go toolchain, so nothing is
# pulled. Falls back to `docker import` where the builder is unavailable.
set -eu
tag=${1:-1}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
(cd "$here/app" && CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags='-s -w' -o "$tmp/app" .)
printf 'FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n' > "$tmp/Dockerfile"
if ! DOCKER_BUILDKIT=0 docker build -q -t "tutorial-app:$tag" "$tmp" >/dev/null 2>"$tmp/err"; then
	cat "$tmp/err" >&2
	tar -C "$tmp" -cf "$tmp/rootfs.tar" app
	docker import --change 'ENTRYPOINT ["/app"]' "$tmp/rootfs.tar" "tutorial-app:$tag" >/dev/null
fi
echo "built tutorial-app:$tag"
