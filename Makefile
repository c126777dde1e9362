# fieldops — developer tasks. `make` alone lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

FIELDOPS_CACHE ?= $(HOME)/.cache/fieldops
export FIELDOPS_CACHE

GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(FIELDOPS_CACHE)/bin/golangci-lint

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS := -s -w \
	-X github.com/fieldops/fieldops/internal/buildinfo.Version=$(VERSION) \
	-X github.com/fieldops/fieldops/internal/buildinfo.Commit=$(COMMIT)

# `make run` uses DATABASE_URL when it is set (only checking that server); otherwise
# the local server on 127.0.0.1:5432, started if need be, with database fieldops.
ifeq ($(origin DATABASE_URL),undefined)
DATABASE_URL := postgres://postgres@127.0.0.1:5432/fieldops?sslmode=disable
ENSURE_POSTGRES := env -u DATABASE_URL scripts/ensure-postgres.sh fieldops
else
ENSURE_POSTGRES := scripts/ensure-postgres.sh
endif
export DATABASE_URL

.PHONY: help run test bench lint build tidy clean

help: ## list the targets
	@echo "Targets:"
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

run: ## start PostgreSQL if needed, migrate, seed a demo project (empty database only), serve
	scripts/ensure-vips.sh
	$(ENSURE_POSTGRES)
	go run ./cmd/fieldops migrate up
	go run ./cmd/fieldops seed --demo --if-empty
	go run ./cmd/fieldops serve

test: ## start PostgreSQL and MinIO if needed, run every test (ARGS="-run X" for more flags)
	scripts/test.sh $(ARGS)

bench: ## run the benchmarks against the same services as test
	FIELDOPS_TEST_BENCH=1 scripts/test.sh $(ARGS)

lint: ## gofmt, go vet and golangci-lint (pinned; installed into the cache when missing)
	@unformatted=$$(gofmt -l .); \
	if [[ -n "$$unformatted" ]]; then \
		echo "gofmt: these files need formatting (run gofmt -w):"; echo "$$unformatted"; exit 1; \
	fi
	go vet ./...
	@if ! "$(GOLANGCI_LINT)" version 2>/dev/null | grep -qF "version $(GOLANGCI_LINT_VERSION:v%=%) "; then \
		echo "installing golangci-lint $(GOLANGCI_LINT_VERSION) into $(FIELDOPS_CACHE)/bin (a few minutes, once)"; \
		cd / && GOBIN="$(FIELDOPS_CACHE)/bin" go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION); \
	fi
	"$(GOLANGCI_LINT)" run ./...

build: ## build bin/fieldops stamped with the version (cgo: links libvips)
	scripts/ensure-vips.sh
	CGO_ENABLED=1 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/fieldops ./cmd/fieldops

tidy: ## go mod tidy
	go mod tidy

clean: ## remove build and coverage output
	rm -rf bin/ coverage.out coverage.html *.coverprofile
