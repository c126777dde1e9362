# syntax=docker/dockerfile:1
#
# docker build --build-arg VERSION=$(git describe --tags --always --dirty) \
#   --build-arg COMMIT=$(git rev-parse --short HEAD) -t fieldops .
#
# The binary is static (CGO_ENABLED=0). Image processing added later may need cgo
# (libvips); then the final stage needs libvips and a libc — not yet.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Dependencies first, in their own layer: rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/fieldops/fieldops/internal/buildinfo.Version=${VERSION} -X github.com/fieldops/fieldops/internal/buildinfo.Commit=${COMMIT}" \
    -o /out/fieldops ./cmd/fieldops

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/fieldops /fieldops
# A writable working folder for the local photo store (./data/blobs) when MinIO is not used.
WORKDIR /home/nonroot
USER nonroot:nonroot
EXPOSE 8080
ENV FIELDOPS_ADDR=:8080
ENTRYPOINT ["/fieldops"]
CMD ["serve"]
