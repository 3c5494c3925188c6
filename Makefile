# Thin wrapper over Bazel. Every target that builds or runs calls `setup` first.
#   make setup   install Debian packages, npm tools, build wolfSSL + ngtcp2 (idempotent)
#   make build   programs into bin/
#   make test    every test; ends with "N passed, N failed"  (SANITIZE=1: ASan+UBSan build)
#   make demo    rendezvous + two agents on loopback, registered; Ctrl-C stops it
#   make fuzz    each libFuzzer target for FUZZ_SECONDS (clang)
#   make bench   benchmarks (ratios against reference tools)
#   make format  clang-format all C
SHELL := /bin/bash
BAZEL ?= bazel
CONFIG := $(if $(filter 1,$(SANITIZE)),--config=asan,)
FUZZ_SECONDS ?= 30
PROGRAMS := control/rendezvous:peerlink-rendezvous agent:peerlink-agent clients/cli:peerlinkctl

.PHONY: setup build test demo fuzz bench format lint clean

setup:
	@bash bazel/setup.sh

build: setup
	$(BAZEL) build $(CONFIG) $(addprefix //,$(PROGRAMS))
	@mkdir -p bin
	@for t in $(PROGRAMS); do f=bazel-bin/$${t%%:*}/$${t##*:}; install -m 0755 $$f bin/; done
	@echo "build: programs in bin/: $$(ls bin | tr '\n' ' ')"

test: setup
	@bash tests/run.sh $(CONFIG)

demo: build
	@bash clients/examples/demo.sh

fuzz: setup
	@bash tests/fuzz/run.sh $(FUZZ_SECONDS)

bench: build
	@bash tests/bench/run.sh

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

lint:
	@git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror
	@$(HOME)/.cache/peerlink/npm/node_modules/.bin/buf lint proto

clean:
	$(BAZEL) clean
	rm -rf bin
