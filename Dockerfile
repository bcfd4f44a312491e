# podtemplate as an image: one static binary and a CA bundle, FROM scratch,
# so building it pulls nothing. Build it with scripts/image.sh, which puts
# the binary (CGO_ENABLED=0) and the host's CA bundle in a build context:
#
#   scripts/image.sh [TAG]
#
# or by hand from the repository root (.dockerignore keeps the context to
# these two files):
#
#   CGO_ENABLED=0 go build -trimpath -o podtemplate ./cmd/podtemplate
#   cp /etc/ssl/certs/ca-certificates.crt .
#   DOCKER_BUILDKIT=0 docker build -t podtemplate .
#
# Use it with the stack's folder mounted at /work:
#
#   docker run --rm -v "$PWD:/work" -w /work podtemplate render stack.yml
#   docker run --rm -i podtemplate render - < stack.yml
#
# It runs as the unprivileged uid:gid 65532:65532. Reading a mounted folder
# works as long as its files are world-readable (the usual 644/755). To write
# into it (render -o FILE) run as yourself, which scripts/podtemplate.sh does:
#
#   docker run --rm -u "$(id -u):$(id -g)" -v "$PWD:/work" -w /work \
#       podtemplate render stack.yml -o rendered.yml
#
# The image has no docker CLI: it renders, validates and lists templates;
# deploy and run need podtemplate installed on the host (scripts/install.sh).
FROM scratch
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY podtemplate /usr/local/bin/podtemplate
WORKDIR /work
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/podtemplate"]
