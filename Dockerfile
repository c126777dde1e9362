# syntax=docker/dockerfile:1
#
# docker build --build-arg VERSION=$(git describe --tags --always --dirty) \
#   --build-arg COMMIT=$(git rev-parse --short HEAD) -t fieldops .
#
# The binary uses cgo: photos are resized with libjpeg-turbo and libvips (storage/imaging).
# The build stage compiles against libjpeg-dev and libvips-dev; the final stage is
# debian:bookworm-slim with only the run-time libraries (libjpeg62-turbo, libvips42, and
# libheif1 + libde265-0 for iPhone HEIC photos),
# installed without recommended packages, and runs as an unprivileged user (uid 65532,
# as the distroless image used before).

FROM golang:1.26-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libjpeg-dev libvips-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, in their own layer: rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=1 go build -trimpath \
    -ldflags "-s -w -X github.com/fieldops/fieldops/internal/buildinfo.Version=${VERSION} -X github.com/fieldops/fieldops/internal/buildinfo.Commit=${COMMIT}" \
    -o /out/fieldops ./cmd/fieldops

FROM debian:bookworm-slim
# ca-certificates and tzdata: what the distroless base carried (TLS to S3 and FCM, time zones).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libjpeg62-turbo libvips42 libheif1 libde265-0 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 65532 nonroot \
    && useradd --system --uid 65532 --gid nonroot --home-dir /home/nonroot --create-home --shell /usr/sbin/nologin nonroot
COPY --from=build /out/fieldops /fieldops
# A writable working folder for the local photo store (./data/blobs) when MinIO is not used.
WORKDIR /home/nonroot
USER nonroot:nonroot
EXPOSE 8080
ENV FIELDOPS_ADDR=:8080
ENTRYPOINT ["/fieldops"]
CMD ["serve"]
