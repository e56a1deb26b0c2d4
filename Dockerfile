# syntax=docker/dockerfile:1
# newsroom: one static binary on a distroless base, running as a non-root user.
#
#   docker build -t newsroom .
#   docker run --rm -p 8080:8080 -v newsroom-data:/data newsroom    # embedded NATS + SQLite
#
# docker-compose.yml runs it against a NATS JetStream cluster and PostgreSQL instead.
# The cache mounts need BuildKit (the default since Docker 23; DOCKER_BUILDKIT=1 before).

# go.mod asks for Go 1.26.8; the 1.26 image carries the newest 1.26 release.
FROM golang:1.26 AS build
WORKDIR /src
# Modules first, in a layer of their own: a change to the code does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# CGO off: the binary needs no C library (SQLite is modernc's pure Go), so it runs on a static
# base. -trimpath keeps the build machine's paths out of it.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/newsroom ./cmd/newsroom \
 && mkdir -p /out/data

# distroless/static: CA certificates, /etc/passwd with the nonroot user (65532), no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/newsroom /usr/local/bin/newsroom
# The data directory belongs to the non-root user; a named volume mounted here starts as a
# copy of it, ownership included. It holds the embedded NATS files and the SQLite database
# when no external ones are given, and the instance's lock and URL files always.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV NEWSROOM_DATA_DIR=/data \
    NEWSROOM_HTTP=0.0.0.0:8080
VOLUME ["/data"]
EXPOSE 8080
# The image has no shell or curl: the binary checks itself (exit 0 when /readyz answers 2xx).
HEALTHCHECK --interval=10s --timeout=6s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/newsroom", "health", "--url", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/usr/local/bin/newsroom"]
CMD ["serve", "--http", "0.0.0.0:8080", "--data-dir", "/data"]
