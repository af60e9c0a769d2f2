#!/usr/bin/env bash
# `make deb`: builds tandem_<version>_<arch>.deb from a build tree with dpkg-deb (no debhelper
# needed): the binary in /usr/sbin, the systemd unit, /etc/tandem/tandem.yaml as a conffile, a
# man page made from `tandem --help`, sysusers/tmpfiles entries, Depends computed by
# dpkg-shlibdeps. Usage: build-deb.sh BUILD_DIR OUT_DIR
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
out=$(mkdir -p "${2:-$build}" && cd "${2:-$build}" && pwd)
here="$src/images/deb"

version=$(sed -n 's/^project(tandem VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
arch=$(dpkg --print-architecture)
work="$build/deb"
root="$work/root"
rm -rf "$work"
mkdir -p "$root/DEBIAN"

install -D -m 0755 "$build/tandem" "$root/usr/sbin/tandem"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/sbin/tandem"
install -D -m 0644 "$src/systemd/tandem.service" "$root/lib/systemd/system/tandem.service"
install -D -m 0644 "$here/tandem.yaml" "$root/etc/tandem/tandem.yaml"
install -D -m 0644 "$here/sysusers.conf" "$root/usr/lib/sysusers.d/tandem.conf"
install -D -m 0644 "$here/tmpfiles.conf" "$root/usr/lib/tmpfiles.d/tandem.conf"
doc="$root/usr/share/doc/tandem"
install -D -m 0644 "$here/copyright" "$doc/copyright"
install -D -m 0644 "$src/examples/tandem.yaml" "$doc/examples/tandem.yaml"
install -D -m 0644 "$src/examples/minimal.yaml" "$doc/examples/minimal.yaml"
cat > "$work/changelog" <<EOF
tandem ($version) stable; urgency=medium

  * Release $version.

 -- Tandem maintainers <maintainers@tandem.example>  $(date -R -d @"${SOURCE_DATE_EPOCH:-$(git -C "$src" log -1 --format=%ct 2>/dev/null || date +%s)}")
EOF
gzip -9n -c "$work/changelog" > "$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

# The man page, from the program's own help (every subcommand listed there).
mkdir -p "$root/usr/share/man/man8"
help2man -N -s 8 -n "high-availability load balancer (proxy + VRRP) for an active/passive pair" \
  --version-string="$version" "$build/tandem" > "$work/tandem.8"
gzip -9n -c "$work/tandem.8" > "$root/usr/share/man/man8/tandem.8.gz"
chmod 0644 "$root/usr/share/man/man8/tandem.8.gz"

# Depends from the shared libraries the binary really links (dpkg-shlibdeps wants a
# debian/control in the current folder; an empty one does).
mkdir -p "$work/debian"
: > "$work/debian/control"
depends=$(cd "$work" && dpkg-shlibdeps -O --warnings=0 -e root/usr/sbin/tandem 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
size=$(du -k -s --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<EOF
Package: tandem
Version: $version
Architecture: $arch
Maintainer: Tandem maintainers <maintainers@tandem.example>
Installed-Size: $size
Depends: $depends, iproute2
Section: net
Priority: optional
Homepage: https://tandem.example/
Description: high-availability load balancer appliance (proxy + VRRP)
 Two Tandem nodes form an active/passive pair that presents one virtual IP.
 Each node runs one supervisor that starts an HTTP/TCP reverse proxy
 (load balancing, health checks, ACL routing, stats, rate limiting) and a
 VRRP agent that interoperates with keepalived, moves the virtual IP and
 follows the proxy's health. One YAML file configures a node.
EOF
echo "/etc/tandem/tandem.yaml" > "$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do install -m 0755 "$here/$s" "$root/DEBIAN/$s"; done

deb="$out/tandem_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
