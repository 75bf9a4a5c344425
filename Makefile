# Phalanx: a gang-scheduling batch and CI scheduler. `make help` lists targets.
SHELL := /bin/bash
GO ?= go
BIN := bin/phalanx
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
FUZZTIME ?= 30s
DEV_FLAGS ?= --gpus mock:dgxa100

.PHONY: help build test dev bench fuzz lint image clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-7s %s\n", $$1, $$2}'

build: ## build bin/phalanx
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/phalanx

image: ## build the offline example image phalanx/busybox:latest (needs Docker and busybox-static)
	bash images/busybox/build.sh

dev: build ## start a one-process dev cluster (server + executor) on 127.0.0.1:7400
	@if docker info >/dev/null 2>&1; then bash images/busybox/build.sh >/dev/null; fi
	./$(BIN) dev $(DEV_FLAGS)

test: ## run every test (Docker tests fail instead of skipping when PHALANX_REQUIRE_DOCKER=1)
	$(GO) test -race -count=1 ./...

bench: ## run the benchmarks: placement, latency, dev memory, failover, 100k-job state, sim, throughput (~25 min)
	$(GO) test -run '^$$' -bench . -benchmem ./scheduler/
	$(GO) test -run '^$$' -bench . -benchtime 20x ./test/e2e/
	$(GO) test -run '^$$' -bench State100k -benchtime 1x -timeout 30m ./scheduler/fsm/
	$(GO) test -run '^$$' -bench 'DevMemory|Failover' -benchtime 1x -timeout 30m ./cmd/phalanx/
	$(GO) test -run '^$$' -bench 'Sim100k/interval=(10s|30s)' -benchtime 1x -timeout 30m ./scheduler/sim/
	@echo "control-plane throughput: 3 servers and 5,000 simulated nodes on this machine (PHALANX_BENCH_NODES=N for fewer)"
	$(GO) test -run '^$$' -bench 'SimThroughput' -benchtime 1x -timeout 30m ./cmd/phalanx/

fuzz: ## run every fuzz target for FUZZTIME each (default 30s)
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./api/jobspec/
	$(GO) test -run '^$$' -fuzz '^FuzzConfig$$' -fuzztime $(FUZZTIME) ./cmd/phalanx/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./pipeline/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./api/queuespec/
	$(GO) test -run '^$$' -fuzz '^FuzzParseCluster$$' -fuzztime $(FUZZTIME) ./scheduler/sim/
	$(GO) test -run '^$$' -fuzz '^FuzzParseWorkload$$' -fuzztime $(FUZZTIME) ./scheduler/sim/
	$(GO) test -run '^$$' -fuzz '^FuzzMask$$' -fuzztime $(FUZZTIME) ./executor/logs/
	$(GO) test -run '^$$' -fuzz '^FuzzWorkspaceID$$' -fuzztime $(FUZZTIME) ./executor/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./pipeline/webhook/
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./pipeline/webhook/
	$(GO) test -run '^$$' -fuzz '^FuzzNewRemote$$' -fuzztime $(FUZZTIME) ./pipeline/gitsource/
	$(GO) test -run '^$$' -fuzz '^FuzzBinaryPayloads$$' -fuzztime $(FUZZTIME) ./scheduler/fsm/
	$(GO) test -run '^$$' -fuzz '^FuzzReadNodeAllocations$$' -fuzztime $(FUZZTIME) ./api/

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...

clean: ## remove build output and the dev cluster's state
	rm -rf bin phalanx-data
