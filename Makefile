# semrouter — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
ROOT := $(CURDIR)
CACHE := $(ROOT)/.cache
export PATH := $(CACHE)/bin:$(PATH)
export GOFLAGS := -buildvcs=false
export LANG := en_US.UTF-8
export LC_ALL := en_US.UTF-8

# Every Go module of the workspace (go.work).
MODULES := gen pkg services/gateway-extproc services/classifier services/embedder-gpu \
	services/cache services/config-hub services/operator cmd/semrouter tests/integration
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/semrouter/semrouter/cmd/semrouter/internal/cli.version=$(VERSION)
CONFIG ?= config/quickstart.yaml
GOTEST_FLAGS ?= -count=1 -timeout 20m

.PHONY: all setup build run test test-unit test-integration check check-generate generate lint lint-proto bench compose-check eval train-domain clean help

all: build

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

setup: ## install everything (Debian packages, ONNX Runtime, models, tools) under .cache/, idempotently
	@./scripts/setup.sh

build: setup ## build every binary into bin/
	@mkdir -p bin
	go build -ldflags "$(LDFLAGS)" -o bin/semrouter ./cmd/semrouter
	@for d in services/*/cmd/*/; do \
		name=$$(basename $$d); echo "go build -o bin/$$name ./$$d"; \
		go build -o bin/$$name ./$$d || exit 1; \
	done

run: build ## run the router with its default config
	./scripts/run.sh $(CONFIG)

test: setup ## everything CI runs: generated-code gate, lint, unit and integration tests
	@$(MAKE) --no-print-directory check
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory test-integration

test-unit: ## unit tests of every module
	@set -o pipefail; for m in $(filter-out tests/integration,$(MODULES)); do \
		echo "==> go test $$m"; \
		(cd $$m && go test $(GOTEST_FLAGS) ./...) || exit 1; \
	done

test-integration: ## black-box tests that start the real binaries
	@echo "==> go test tests/integration"
	@cd tests/integration && go test $(GOTEST_FLAGS) ./...

check: check-generate lint-proto lint ## the gates: generated code in sync, buf lint, vet, gofmt

generate: setup ## regenerate gen/ from proto/
	./scripts/generate.sh

check-generate:
	@./scripts/check-generate.sh

lint-proto: ## buf lint (STANDARD) and buf format on proto/
	@./scripts/lint-proto.sh

lint: ## go vet and gofmt on every module
	@bad=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/') 2>/dev/null); \
	if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	@for m in $(MODULES); do echo "==> go vet $$m"; (cd $$m && go vet ./...) || exit 1; done

bench: build ## run the Go benchmarks of every module, then the end-to-end load run into docs/benchmarks.md
	@for m in $(MODULES); do (cd $$m && go test -run '^$$' -bench . -benchmem ./...) || exit 1; done
	./bin/semrouter bench e2e --requests 2000 --concurrency 16 --out docs/benchmarks.md

compose-check: ## validate deploy/compose (docker-compose config -q) and its generated Envoy bootstrap
	@cd tests/integration && go test -count=1 -run 'TestCompose' ./...

EVAL_SPLIT ?= test
EVAL_OUT ?= $(CACHE)/eval/reports
EVAL_DATA ?= $(or $(SEMROUTER_DATASETS),$(abspath $(ROOT)/../shared/datasets))

eval: setup ## measure routing quality on the public datasets (docs/quality.md); reports in .cache/eval/reports
	@mkdir -p bin $(EVAL_OUT)
	go build -ldflags "$(LDFLAGS)" -o bin/semrouter ./cmd/semrouter
	@set -e; for m in use-lite glove-sif-100d; do \
		echo "==> eval domain, cache: $$m"; \
		./bin/semrouter eval dataset --task domain --split $(EVAL_SPLIT) --model $$m --json --report $(EVAL_OUT)/domain-$$m > $(EVAL_OUT)/domain-$$m.json; \
		./bin/semrouter eval dataset --task cache --model $$m --json --report $(EVAL_OUT)/cache-$$m > $(EVAL_OUT)/cache-$$m.json; \
	done
	./bin/semrouter eval dataset --task routing --split $(EVAL_SPLIT) --config config/quickstart.yaml --json --report $(EVAL_OUT)/routing-mmlu-pro > $(EVAL_OUT)/routing-mmlu-pro.json
	@set -e; for f in mmlu gsm8k; do \
		echo "==> eval routing: routellm/$$f"; \
		./bin/semrouter eval dataset --task routing --split $(EVAL_SPLIT) --data $(EVAL_DATA)/routellm/$$f.jsonl --json --report $(EVAL_OUT)/routing-routellm-$$f > $(EVAL_OUT)/routing-routellm-$$f.json; \
	done
	./bin/semrouter eval dataset --task jailbreak --split test --json --report $(EVAL_OUT)/jailbreak > $(EVAL_OUT)/jailbreak.json
	@echo "reports: $(EVAL_OUT)/<task>/report.md (summaries: $(EVAL_OUT)/*.json)"

train-domain: setup ## retrain the committed domain heads (MMLU-Pro train split, selected on dev)
	go run ./cmd/semrouter train domain --model use-lite
	go run ./cmd/semrouter train domain --model glove-sif-100d

clean: ## remove build outputs (keeps the setup cache)
	rm -rf bin
