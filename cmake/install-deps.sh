#!/usr/bin/env bash
# Installs every Debian package Tandem needs to build, test and benchmark.
# Idempotent and quiet: when everything is present it prints nothing and touches nothing.
# Works on a machine where `apt-get update` never ran (it runs it once, only when needed).
set -euo pipefail

# Build toolchain and libraries (see README "Dependencies").
BUILD_PKGS=(
  build-essential cmake pkg-config clang libclang-rt-14-dev clang-format
  libevent-dev libssl-dev libpcre2-dev libnl-3-dev libnl-route-3-dev
  libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev libsystemd-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev node-llhttp libnghttp2-dev
)
# Real peers and clients the tests and benchmarks drive (never mocks where users meet them).
TEST_PKGS=(
  curl openssl iproute2 iputils-ping procps psmisc socat python3 tcpdump tshark
  haproxy keepalived nginx-light wrk redis-server mariadb-server mariadb-client
  systemd prometheus chromium chromium-driver python3-selenium
  nghttp2-client python3-grpcio python3-h2 testssl.sh valgrind
)
# Packaging and the appliance image: `make deb` (help2man, lintian) and its install test in a
# fresh Debian root booted with systemd-nspawn; `make image` (mke2fs -d, mtools, syslinux,
# sfdisk, qemu-img) and its boot test under qemu (TCG).
PACKAGE_PKGS=(
  help2man lintian mmdebstrap systemd-container debian-archive-keyring
  e2fsprogs dosfstools mtools syslinux syslinux-common fdisk qemu-utils qemu-system-x86
)

missing=()
for p in "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}" "${PACKAGE_PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or install them with apt-get) and try again" >&2
  exit 1
fi

echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages such as nginx, redis and mariadb start their service on install; the tests
# start their own instances on private ports, so keep the package scripts from starting any.
# (TANDEM_POLICY_RC_D names another path for the install test, tests/cmake/install_deps_test.py.)
policy=${TANDEM_POLICY_RC_D:-/usr/sbin/policy-rc.d}
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  own_policy=1
fi
# An EXIT trap's last status becomes the script's: an `[ … ] && rm` that is false when a
# policy-rc.d was there already made a successful install exit 1 (make stopped on first run).
cleanup() {
  if [ "$own_policy" = 1 ]; then rm -f "$policy"; fi
  return 0
}
trap cleanup EXIT

apt_install() {
  apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >/tmp/tandem-apt.$$.log 2>&1
}
# Package lists may be absent or stale on a fresh machine: update once and retry.
if ! apt_install; then
  apt-get update -q >/dev/null 2>&1 || { echo "install-deps: apt-get update failed" >&2; exit 1; }
  if ! apt_install; then
    tail -30 /tmp/tandem-apt.$$.log >&2
    rm -f /tmp/tandem-apt.$$.log
    echo "install-deps: apt-get install failed" >&2
    exit 1
  fi
fi
rm -f /tmp/tandem-apt.$$.log
echo "install-deps: done"
