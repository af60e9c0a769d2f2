# Tandem — the two commands that do everything: `make demo` and `make test`.
# Every target installs missing Debian packages first (quiet and idempotent).

BUILD_DIR ?= build
# One clang tree for the fuzz targets and the sanitizer run (ASan+UBSan, coverage-instrumented
# for libFuzzer): CI builds the libraries once for both.
FUZZ_DIR ?= build-san
JOBS ?= $(shell nproc)
# Warnings are errors in CI (CI=true) and wherever TANDEM_WERROR=ON is given.
TANDEM_WERROR ?= $(if $(CI),ON,OFF)
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 30
MAKEFLAGS += --no-print-directory

.PHONY: all deps build test demo deb image image-drill bench bench-count bench-failover bench-drills fuzz fuzz-smoke sanitize asan soak soak-smoke clean format reference

all: build

deps:
	@bash cmake/install-deps.sh

$(BUILD_DIR)/CMakeCache.txt: | deps
	@cmake -S . -B $(BUILD_DIR) -DTANDEM_WERROR=$(TANDEM_WERROR) $(CMAKE_FLAGS) >/dev/null

build: deps $(BUILD_DIR)/CMakeCache.txt
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@cd $(BUILD_DIR) && ctest -j $(JOBS) --output-on-failure

# docs/configuration.md, generated from the reference entries beside the schema readers (a test
# fails when the checked-in copy is stale).
reference: build
	@$(BUILD_DIR)/tandem check --reference > docs/configuration.md

# The main job on built-in defaults: validate the example configuration, show a rejected one,
# bring up the two-node lab, send traffic through the VIP, run a failover drill and print its
# report (examples/demo.sh). The lab stays up; `build/tandem lab down` removes it.
demo: build
	@TANDEM=$(BUILD_DIR)/tandem bash examples/demo.sh

# The Debian package: build/tandem_<version>_<arch>.deb (images/deb/build-deb.sh).
deb: build
	@bash images/deb/build-deb.sh $(BUILD_DIR) $(BUILD_DIR)

# The appliance disk image: build/image/tandem.raw and tandem.qcow2 (images/appliance/).
image: deb
	@bash images/appliance/build-image.sh $(BUILD_DIR)

# Two appliance VMs as a pair; the master is powered off under a 10 ms VIP probe.
image-drill: image
	@python3 bench/image_drill.py --image $(BUILD_DIR)/image/tandem.qcow2

# Tandem vs HAProxy side by side (CPU per request, req/s, p50/p99, memory); see bench/README.md.
BENCH_ROUNDS ?= 5
BENCH_SECONDS ?= 5
DRILL_ROUNDS ?= 3
bench: build
	@python3 bench/run.py --tandem $(BUILD_DIR)/tandem --rounds $(BENCH_ROUNDS) \
	  --seconds $(BENCH_SECONDS) --out $(BUILD_DIR)/bench-results.md
	@TANDEM_BINARY=$(BUILD_DIR)/tandem FAILOVER_OUT=$(BUILD_DIR)/bench-failover.md \
	  python3 bench/failover.py
	@DRILL_ROUNDS=$(DRILL_ROUNDS) python3 bench/drills.py --tandem $(BUILD_DIR)/tandem \
	  --out $(BUILD_DIR)/bench-drills.md

# One node under mixed traffic with a reload every 10 s and a worker kill every 60 s: failed
# requests outside the kill windows, RSS/fd slopes, zombies (bench/soak.py; bench/README.md).
# CI runs the 60 s form (soak-smoke).
SOAK_SECONDS ?= 600
soak: build
	@TANDEM_BINARY=$(BUILD_DIR)/tandem python3 bench/soak.py --seconds $(SOAK_SECONDS) \
	  --out $(BUILD_DIR)/soak.md

soak-smoke: build
	@TANDEM_BINARY=$(BUILD_DIR)/tandem python3 bench/soak.py --seconds 60 --kill-every 30 \
	  --sample-every 5 --out $(BUILD_DIR)/soak-smoke.md

# Every failover drill on the Tandem lab and on a keepalived + HAProxy pair, side by side.
# Instructions and read/write system calls per request, both proxies under callgrind: figures
# that repeat on a busy machine, for A/B runs (BENCH_BASELINE=path/to/other/tandem) and
# profiles (bench/README.md, "Counting instead of timing").
BENCH_BASELINE ?=
bench-count: build
	@python3 bench/run.py --count --tandem $(BUILD_DIR)/tandem --rounds 3 --seconds 3 \
	  $(if $(BENCH_BASELINE),--baseline $(BENCH_BASELINE)) --out $(BUILD_DIR)/bench-count.md

bench-drills: build
	@DRILL_ROUNDS=$(DRILL_ROUNDS) python3 bench/drills.py --tandem $(BUILD_DIR)/tandem \
	  --out $(BUILD_DIR)/bench-drills.md

# Only the VRRP failover comparison with keepalived (network namespaces; root).
bench-failover: build
	@TANDEM_BINARY=$(BUILD_DIR)/tandem FAILOVER_OUT=$(BUILD_DIR)/bench-failover.md \
	  python3 bench/failover.py

# libFuzzer targets (clang, ASan+UBSan), built in the sanitizer tree. -O1 -g1 (line tables:
# enough for the reports' stack traces) builds fast on CI's 2 cores; assertions stay on.
FUZZ_TARGETS = config_loader_fuzz http_parser_fuzz vrrp_packet_fuzz condition_parser_fuzz \
  control_commands_fuzz proxy_header_fuzz
$(FUZZ_DIR)/CMakeCache.txt: | deps
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -DTANDEM_FUZZ=ON \
	  -DTANDEM_WERROR=$(TANDEM_WERROR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" >/dev/null

fuzz: deps $(FUZZ_DIR)/CMakeCache.txt
	@# A failed build stops here: fuzzing stale binaries would pass for the wrong code.
	@cmake --build $(FUZZ_DIR) -j $(JOBS) --target $(FUZZ_TARGETS) >$(FUZZ_DIR)/build.log 2>&1 \
	  || { tail -60 $(FUZZ_DIR)/build.log; exit 1; }

# A short fuzzing run of each target, seeded with a small corpus, as CI does.
fuzz-smoke: fuzz
	@rm -rf $(FUZZ_DIR)/corpus && for t in $(FUZZ_TARGETS); do mkdir -p $(FUZZ_DIR)/corpus/$$t; done
	@cp examples/*.yaml $(FUZZ_DIR)/corpus/config_loader_fuzz/
	@cp tests/fuzz/http_corpus/* $(FUZZ_DIR)/corpus/http_parser_fuzz/
	@cp tests/fuzz/vrrp_corpus/* $(FUZZ_DIR)/corpus/vrrp_packet_fuzz/
	@cp tests/fuzz/condition_corpus/* $(FUZZ_DIR)/corpus/condition_parser_fuzz/
	@cp tests/fuzz/control_corpus/* $(FUZZ_DIR)/corpus/control_commands_fuzz/
	@cp tests/fuzz/proxy_header_corpus/* $(FUZZ_DIR)/corpus/proxy_header_fuzz/
	@for t in $(FUZZ_TARGETS); do \
	  $(FUZZ_DIR)/tests/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -timeout=10 \
	    -rss_limit_mb=2048 $(FUZZ_DIR)/corpus/$$t 2>$(FUZZ_DIR)/$$t.log \
	    || { tail -60 $(FUZZ_DIR)/$$t.log; exit 1; }; \
	  grep -E '^#[0-9]+.*DONE' $(FUZZ_DIR)/$$t.log | tail -1 | sed "s/^/$$t: /"; \
	done

# The unit tests and the proxy, health, supervisor and VRRP integration suites against the
# ASan+UBSan build (the fuzz tree: clang); a sanitizer report (leak, overflow, undefined
# behaviour) fails the run even when its test passed (tests/tools/run-sanitized.sh). CI runs it.
sanitize: deps $(FUZZ_DIR)/CMakeCache.txt
	@cmake --build $(FUZZ_DIR) -j $(JOBS) >$(FUZZ_DIR)/build.log 2>&1 || { tail -60 $(FUZZ_DIR)/build.log; exit 1; }
	@JOBS=$(JOBS) bash tests/tools/run-sanitized.sh $(FUZZ_DIR)

asan: sanitize

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_DIR)
