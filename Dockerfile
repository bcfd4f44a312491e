# podtemplate as an image: one static binary and a CA bundle, FROM scratch.
#
#   docker build -t podtemplate .
#
# builds it from source in a Go image (pulled from Docker Hub; GO_IMAGE
# picks another, e.g. a mirror: --build-arg GO_IMAGE=mirror.example/golang:1.26).
# Where no Go image can be pulled, scripts/image.sh builds the same image
# with the local Go toolchain and pulls nothing:
#
#   scripts/image.sh [TAG]
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
ARG GO_IMAGE=golang:1.26
FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
	-ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
	-o /out/podtemplate ./cmd/podtemplate

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/podtemplate /usr/local/bin/podtemplate
WORKDIR /work
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/podtemplate"]
