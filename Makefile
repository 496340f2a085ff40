# Entry points. `make demo` and `make test` install what they need (cached
# outside the repo, see scripts/tools.sh) and are safe to run again.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
TOOLS := scripts/tools.sh
ENV := eval "$$($(TOOLS) env)"
# Only what a deploy needs (Rust target, cargo-lambda, zig, SAM CLI).
DEPLOY_ENV := eval "$$($(TOOLS) deploy)"
FUNCTIONS := decide-mode start-export check-status advance-state notify audit

.PHONY: help tools rust-tools test unit lint check-asl check-template check-deps infra-test rehearsal check-build audit e2e emulator-test demo chaos bench-reader local-build build lambda deploy clean

help:
	@echo "make demo    run the whole workflow locally on a simulated day"
	@echo "make test    every test: unit, property, adapters, definitions, end to end"
	@echo "make build   sam build (cargo-lambda, arm64, provided.al2023); installs only the deploy tools"
	@echo "make deploy  sam deploy: unattended with infra/samconfig.toml, guided without it"
	@echo "make lambda  release arm64 binaries and their sizes"
	@echo "make chaos   the long chaos run (core simulation and end to end)"
	@echo "make bench-reader  the chain reader against DuckDB on a generated chain (BENCH_ITEMS, BENCH_WINDOWS, BENCH_CHANGES)"
	@echo "make audit   known-vulnerability check of the dependencies (needs network)"

tools:
	@$(TOOLS) all >/dev/null

rust-tools:
	@$(TOOLS) rust

# Three lanes at once (scripts/lanes.sh), each installing only what it needs
# (scripts/tools.sh serialises the installs into the shared venv): the
# release build of the functions (its own build folders; the deploy tools),
# the Python and template checks, then the unit tests, and the Rust checks
# and the end-to-end scenarios (which start compiling as soon as Rust is
# ready). The unit tests, the local build and the e2e functions reuse lint's
# build (see ONE_BUILD).
test:
	@INCX_ONE_BUILD=1 scripts/lanes.sh \
	  "build: check-build" \
	  "checks: check-asl check-template check-deps infra-test rehearsal emulator-test unit" \
	  "tests: lint e2e"
	@echo "make test: all checks passed"

# clippy with -D warnings on every target, as `cargo clippy --all-targets --
# -D warnings` runs it (clippy's driver as the compiler of the workspace's own
# crates; CLIPPY_ARGS is how cargo clippy hands it the arguments), but in the
# build the tests use, not a check-only one: the dependencies are compiled once
# for both instead of twice.
CLIPPY := RUSTC_WORKSPACE_WRAPPER="$$(rustc --print sysroot)/bin/clippy-driver" CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__

# In `make test` (INCX_ONE_BUILD, set by its recipe) the unit tests, the local
# build and the functions under `cargo lambda watch` compile with lint's
# compiler too (clippy's driver is rustc with lints; the same arguments), so
# that the workspace's crates are compiled and linked once for all of them
# instead of twice; run alone, those targets use plain rustc and warn.
ONE_BUILD = $(if $(INCX_ONE_BUILD),$(CLIPPY))

lint: rust-tools
	@$(ENV); cargo fmt --all --check
	@$(ENV); $(CLIPPY) cargo test --workspace --all-targets --no-run --locked --features incx-aws/local-clock
	@$(ENV); scripts/check-architecture.sh

# With the local clock (see aws/Cargo.toml): the same features as the local
# build, so one compilation serves both.
unit: rust-tools
	@$(ENV); $(ONE_BUILD) cargo test --workspace --locked --features incx-aws/local-clock

# The functions and the verify command, as `cargo lambda watch` serves them.
local-build: tools
	@$(ENV); $(ONE_BUILD) cargo build --workspace --locked --bins --features incx-aws/local-clock

LOCAL := $(ENV); export NODE_PATH="$$INCX_CACHE/node/node_modules";

demo: local-build
	@$(LOCAL) python3 tests/e2e/demo.py

# Two scenarios at a time (pytest-xdist): each has its own moto (forked from
# a process that imported moto once), emulator and `cargo lambda watch` on
# free ports and its own folder. One line per test, so that a lane of `make
# test` shows progress.
e2e: local-build
	@$(LOCAL) $(ONE_BUILD) python3 -m pytest -v -n 2 tests/e2e

# The long chaos run: 20,000 simulated days of the core (about 11 minutes),
# then two days of random faults on the real engine and functions.
chaos: local-build
	@$(ENV); INCX_CHAOS_DAYS=$${INCX_CHAOS_DAYS:-20000} cargo test --locked -p incx-sim --test it chaos_keeps -- --nocapture
	@$(LOCAL) python3 -m pytest -q -s tests/e2e/test_chaos_e2e.py

# The chain reader timed against a DuckDB baseline on a generated chain of
# 1,000,000 items and 24 windows (sizes: BENCH_ITEMS, BENCH_WINDOWS,
# BENCH_CHANGES); DuckDB goes into the tools cache for this only.
bench-reader:
	@scripts/bench-reader.sh

emulator-test: tools
	@$(LOCAL) python3 -m pytest -q tests/emulator

# Licenses, bans and sources of every dependency (offline).
check-deps: tools
	@scripts/check-deps.sh

# Known vulnerabilities: needs network to fetch the RustSec advisory database,
# which these build machines cannot reach; not part of `make test`.
audit: tools
	@scripts/audit.sh

# The template's least privilege, security settings, parameter constraints,
# and its stack made locally (tests/e2e/stack.py) with its wiring checked.
infra-test: tools
	@$(ENV); python3 -m pytest -q tests/infra --ignore=tests/infra/test_deploy_rehearsal.py

# A deploy rehearsal: the stack created in moto's CloudFormation over the
# original sample's leftovers; says what moto cannot check.
rehearsal: tools
	@$(ENV); python3 -m pytest -q -s tests/infra/test_deploy_rehearsal.py

# sam build of the real template, and its six artifacts (the five and the audit's) checked.
check-build:
	@scripts/check-build.sh

check-asl: tools
	@scripts/check-asl.sh

check-template: tools
	@scripts/check-template.sh

# Release binaries for Lambda (arm64), with their sizes.
lambda: tools
	@$(ENV); cargo lambda build --release --arm64 --locked $(addprefix -p ,$(FUNCTIONS))
	@$(ENV); dir=$${CARGO_TARGET_DIR:-target}/lambda; \
	for f in $(FUNCTIONS); do \
	  printf '%-14s %8s bytes  %8s bytes zipped\n' $$f $$(stat -c %s $$dir/$$f/bootstrap) \
	    $$(cd $$dir/$$f && rm -f /tmp/incx-size.zip && python3 -m zipfile -c /tmp/incx-size.zip bootstrap && stat -c %s /tmp/incx-size.zip); \
	done

# sam build with only the deploy tools, unattended, the cargo cache outside the repo.
build:
	@scripts/build.sh

deploy: build
	@$(DEPLOY_ENV); scripts/deploy.sh

clean:
	rm -rf .aws-sam infra/.aws-sam target/demo
