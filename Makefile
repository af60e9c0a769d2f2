# Tandem — the two commands that do everything: `make demo` and `make test`.
# Every target installs missing Debian packages first (quiet and idempotent).

BUILD_DIR ?= build
FUZZ_DIR ?= build-fuzz
JOBS ?= $(shell nproc)
# Warnings are errors in CI (CI=true) and wherever TANDEM_WERROR=ON is given.
TANDEM_WERROR ?= $(if $(CI),ON,OFF)
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 30
MAKEFLAGS += --no-print-directory

.PHONY: all deps build test demo fuzz fuzz-smoke asan clean format

all: build

deps:
	@bash cmake/install-deps.sh

$(BUILD_DIR)/CMakeCache.txt: | deps
	@cmake -S . -B $(BUILD_DIR) -DTANDEM_WERROR=$(TANDEM_WERROR) $(CMAKE_FLAGS) >/dev/null

build: deps $(BUILD_DIR)/CMakeCache.txt
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@cd $(BUILD_DIR) && ctest -j $(JOBS) --output-on-failure

# Until the supervisor lands, the demo validates the shipped example and prints its outline.
demo: build
	@echo "== tandem check -c examples/tandem.yaml --dump"
	@$(BUILD_DIR)/tandem check -c examples/tandem.yaml --dump
	@echo
	@echo "== a broken file is rejected with file:line:column and the key path:"
	@printf 'backends:\n  app:\n    servers:\n      - { name: s1, address: "127.0.0.1:80", wieght: 3 }\n' > $(BUILD_DIR)/broken-demo.yaml
	@$(BUILD_DIR)/tandem check -c $(BUILD_DIR)/broken-demo.yaml || true

# libFuzzer targets (clang, ASan+UBSan), built in their own tree.
fuzz: deps
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -DTANDEM_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build $(FUZZ_DIR) -j $(JOBS) --target config_loader_fuzz

# A short fuzzing run seeded with the shipped examples, as CI does.
fuzz-smoke: fuzz
	@rm -rf $(FUZZ_DIR)/corpus && mkdir -p $(FUZZ_DIR)/corpus && cp examples/*.yaml $(FUZZ_DIR)/corpus/
	@$(FUZZ_DIR)/tests/config_loader_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
	  -timeout=10 -rss_limit_mb=2048 $(FUZZ_DIR)/corpus 2>$(FUZZ_DIR)/fuzz.log \
	  || { tail -60 $(FUZZ_DIR)/fuzz.log; exit 1; }
	@grep -E '^#[0-9]+.*DONE' $(FUZZ_DIR)/fuzz.log | tail -1 | sed 's/^/fuzz: /'

# The whole test suite under AddressSanitizer and UndefinedBehaviorSanitizer.
asan: deps
	@cmake -S . -B build-asan -DTANDEM_SANITIZE=ON -DTANDEM_WERROR=$(TANDEM_WERROR) >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ctest -j $(JOBS) --output-on-failure

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_DIR) build-asan
