#!/usr/bin/env bash
# The unit tests and the integration suites for the proxy, health checks, the supervisor and the
# VRRP agent against an ASan+UBSan build of `tandem` (make sanitize; CI runs it). Every tandem
# process (the supervisor's children too, after they give up root) writes any sanitizer report
# to one folder; a report fails the run even when the test that caused it passed.
set -euo pipefail
build=${1:?usage: run-sanitized.sh BUILD_DIR}
reports="$(cd "$build" && pwd)/sanitizer-reports"
rm -rf "$reports"
mkdir -p "$reports"
chmod 1777 "$reports"  # workers that dropped to global.user write here too

export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
# Tests that cannot run under a sanitizer say so when they see this (a chrooted worker cannot
# reach the report folder or /proc, and ASan spins when it cannot write its report).
export TANDEM_SANITIZER_RUN=1
export LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/lsan.supp"

# Not here: the appliance image and .deb (they install the release build), the two-node lab
# (the release suite covers it) and the dependency script.
status=0
(cd "$build" && ctest -j "${JOBS:-2}" --output-on-failure --timeout 600 \
  -E '^(images|systemd|cmake|appliance\.lab_test)\.') || status=$?

if compgen -G "$reports/*" >/dev/null; then
  echo "sanitizer reports:" >&2
  for f in "$reports"/*; do
    echo "=== $f" >&2
    head -80 "$f" >&2
  done
  exit 1
fi
exit $status
