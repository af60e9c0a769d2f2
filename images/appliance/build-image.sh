#!/usr/bin/env bash
# `make image`: the Tandem appliance disk image, built as root without KVM, loop mounts or a
# vfat-capable kernel:
#   1. a Debian 12 root (mmdebstrap minbase + systemd + the cloud kernel), the .deb installed
#      with apt in a hook, the appliance overlay (DHCP with systemd-networkd, the seed unit);
#   2. an ext4 filesystem made from that folder with `mke2fs -d`;
#   3. a BIOS-bootable raw disk: MBR (syslinux's mbr.bin), a FAT boot partition written with
#      mtools (kernel, initrd, syslinux), the ext4 root; and a compressed qcow2 of it.
# Usage: build-image.sh BUILD_DIR   (needs BUILD_DIR/tandem_*.deb; writes BUILD_DIR/image/)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
here="$src/images/appliance"
out="$build/image"
deb=$(ls -t "$build"/tandem_*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || { echo "build-image: no $build/tandem_*.deb (make deb first)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/tandem-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$out"
t0=$(date +%s)

# 1. The root filesystem, from this machine's configured Debian sources.
mmdebstrap --mode=root --variant=minbase --quiet \
  --include=systemd,systemd-sysv,udev,dbus,kmod,e2fsprogs,iproute2,linux-image-cloud-amd64,initramfs-tools \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-include=/usr/share/doc/tandem/*' \
  --customize-hook="copy-in $deb /tmp" \
  --customize-hook="chroot \"\$1\" apt-get install -y -q /tmp/$(basename "$deb")" \
  --customize-hook="sync-in $here/overlay /" \
  --customize-hook='chroot "$1" systemctl enable --quiet systemd-networkd.service tandem-seed.service' \
  --customize-hook='echo tandem > "$1/etc/hostname"' \
  --customize-hook='printf "127.0.0.1 localhost\n127.0.1.1 tandem\n" > "$1/etc/hosts"' \
  --customize-hook='echo "LABEL=tandem-root / ext4 defaults,errors=remount-ro 0 1" > "$1/etc/fstab"' \
  --customize-hook='rm -f "$1"/tmp/*.deb; chroot "$1" apt-get clean; rm -rf "$1"/var/lib/apt/lists/*' \
  bookworm "$root" /etc/apt/sources.list.d/debian.sources
t1=$(date +%s)

# The kernel and initrd go on the boot partition.
kernel=$(ls "$root"/boot/vmlinuz-* | head -n1)
initrd=$(ls "$root"/boot/initrd.img-* | head -n1)

# 2. ext4 from the folder, sized to the content plus room to breathe.
used_mb=$(du -s -m "$root" | cut -f1)
root_mb=$(( used_mb + used_mb / 3 + 128 ))
mke2fs -q -t ext4 -L tandem-root -d "$root" "$work/root.img" "${root_mb}M"

# 3. The FAT boot partition (hidden sectors = its offset, as BIOS loaders expect) with syslinux.
boot_mb=64
mkfs.vfat -F 16 -h 2048 -n TANDEMBOOT -C "$work/boot.img" $(( boot_mb * 1024 )) >/dev/null
cat > "$work/syslinux.cfg" <<'EOF'
SERIAL 0 115200
DEFAULT tandem
PROMPT 0
TIMEOUT 10
LABEL tandem
  LINUX /vmlinuz
  INITRD /initrd.img
  APPEND root=LABEL=tandem-root ro net.ifnames=0 console=tty0 console=ttyS0,115200n8
EOF
mcopy -i "$work/boot.img" "$kernel" ::/vmlinuz
mcopy -i "$work/boot.img" "$initrd" ::/initrd.img
mcopy -i "$work/boot.img" "$work/syslinux.cfg" ::/syslinux.cfg
syslinux --install "$work/boot.img"

# The raw disk: MBR + boot (active) + root.
raw="$out/tandem.raw"
rm -f "$raw"
truncate -s $(( 1 + boot_mb + root_mb ))M "$raw"
sfdisk --quiet "$raw" <<EOF
label: dos
start=2048, size=$(( boot_mb * 2048 )), type=6, bootable
start=$(( 2048 + boot_mb * 2048 )), type=83
EOF
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$raw" bs=440 count=1 conv=notrunc status=none
dd if="$work/boot.img" of="$raw" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$work/root.img" of="$raw" bs=1M seek=$(( 1 + boot_mb )) conv=notrunc,sparse status=none
qemu-img convert -c -O qcow2 "$raw" "$out/tandem.qcow2"
t2=$(date +%s)

echo "image: $out/tandem.raw ($(du -h --apparent-size "$raw" | cut -f1) raw," \
  "$(du -h "$out/tandem.qcow2" | cut -f1) qcow2; root filesystem ${used_mb} MB used)"
echo "build time: rootfs $(( t1 - t0 )) s, filesystem + disk + qcow2 $(( t2 - t1 )) s"
