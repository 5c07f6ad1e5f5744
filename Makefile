# Quick start (root, fresh Debian 12): `make run`, `make test`.
# Every target first runs scripts/deps.sh, which installs missing packages.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build
MAKEFLAGS += --no-print-directory

BUILD_DIR ?= build
ASAN_DIR ?= build-asan
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
CLANG_FORMAT ?= clang-format-14
RUN_ARGS ?=

# Directories whose *.c / *.h files clang-format owns.
FORMAT_DIRS := $(wildcard include src tests bench)
FIND_SOURCES = find $(FORMAT_DIRS) -type f \( -name '*.c' -o -name '*.h' \) -print0

ASAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: deps build run test format format-check test-build test-asan clean

deps:
	@bash scripts/deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)
	cmake --build $(BUILD_DIR) -j$(JOBS)

run: build
	@if [ -x $(BUILD_DIR)/hcs-bench ]; then \
		echo "+ $(BUILD_DIR)/hcs-bench $(RUN_ARGS)"; \
		$(BUILD_DIR)/hcs-bench $(RUN_ARGS); \
	else \
		echo "+ $(BUILD_DIR)/hcs demo $(RUN_ARGS)"; \
		$(BUILD_DIR)/hcs demo $(RUN_ARGS); \
	fi

# The CI check set, in order: format, -Werror build + tests, ASan/UBSan
# build + tests. The first failure stops make with a non-zero status.
test: deps
	$(MAKE) format-check
	$(MAKE) test-build
	$(MAKE) test-asan

format-check: deps
	@if [ -z "$(FORMAT_DIRS)" ]; then echo "format-check: no sources"; exit 0; fi; \
	$(FIND_SOURCES) | xargs -0 -r $(CLANG_FORMAT) --style=file --dry-run --Werror; \
	echo "format-check: clean"

test-build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
		-DHCS_WERROR=ON -DHCS_SANITIZE=OFF
	cmake --build $(BUILD_DIR) -j$(JOBS)
	ctest --test-dir $(BUILD_DIR) --output-on-failure

# Debug keeps assert() on; mimalloc is off in this build (HCS_NO_MIMALLOC).
test-asan: deps
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug \
		-DHCS_WERROR=ON -DHCS_SANITIZE=ON
	cmake --build $(ASAN_DIR) -j$(JOBS)
	$(ASAN_ENV) ctest --test-dir $(ASAN_DIR) --output-on-failure

format: deps
	@if [ -z "$(FORMAT_DIRS)" ]; then exit 0; fi; \
	$(FIND_SOURCES) | xargs -0 -r $(CLANG_FORMAT) --style=file -i

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
