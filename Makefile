# Thin wrapper over Bazel. Every target that builds or runs calls `setup` first.
#   make setup   install Debian packages, npm tools, build wolfSSL + ngtcp2 (idempotent)
#   make build   programs into bin/, the browser UI into clients/web/dist/
#   make test    every test, plain and under ASan+UBSan; ends with "N passed, N failed"
#                (SANITIZE=1: only ASan+UBSan, SANITIZE=0: only plain)
#   make demo    rendezvous, two agents (behind lab NATs as root), a bridge each, paired, a
#                short benchmark, the UI addresses; Ctrl-C stops it
#   make fuzz    each libFuzzer target for FUZZ_SECONDS (clang)
#   make bench   benchmarks (ratios against reference tools)
#   make lab     the NAT lab grid (network namespaces, needs root), printed as a table
#   make format  clang-format all C
#   make fresh-check  make test + make build in a brand-new minimal Debian root (root; slow)
SHELL := /bin/bash
BAZEL ?= bazel
CONFIG := $(if $(filter 1,$(SANITIZE)),--config=asan,)
# make test: both the plain and the ASan+UBSan build; SANITIZE=1 or SANITIZE=0 picks one.
TEST_CONFIGS := $(if $(filter 1,$(SANITIZE)),asan,$(if $(filter 0,$(SANITIZE)),plain,plain asan))
FUZZ_SECONDS ?= 30
PROGRAMS := control/rendezvous:peerlink-rendezvous agent:peerlink-agent control/bridge:peerlink-bridge \
            clients/cli:peerlinkctl

.PHONY: setup build test demo fuzz bench lab format lint clean fresh-check

setup:
	@bash bazel/setup.sh

build: setup
	$(BAZEL) build $(CONFIG) $(addprefix //,$(PROGRAMS))
	@mkdir -p bin
	@for t in $(PROGRAMS); do f=bazel-bin/$${t%%:*}/$${t##*:}; install -m 0755 $$f bin/; done
	@echo "build: programs in bin/: $$(ls bin | tr '\n' ' ')"
	@bash clients/web/build.sh

test: setup
	@bash tests/run.sh "$(TEST_CONFIGS)"

demo: build
	@bash clients/examples/demo.sh

fuzz: setup
	@bash tests/fuzz/run.sh $(FUZZ_SECONDS)

bench: build
	@bash tests/bench/run.sh

lab: setup
	@bash tests/lab/run_lab.sh

fresh-check:
	@bash tests/fresh/run.sh

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

lint:
	@git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror
	@$(HOME)/.cache/peerlink/npm/node_modules/.bin/buf lint proto

clean:
	$(BAZEL) clean
	rm -rf bin
