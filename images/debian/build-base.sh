#!/usr/bin/env bash
# The site box's base system: Debian 12 from debootstrap plus every Debian
# package the box needs (packages.txt), nothing of ours yet. The image build
# caches the result, keyed by this script and packages.txt, because it is the
# slow step (downloads ~400 MB, several minutes) and changes rarely.
#
#   images/debian/build-base.sh OUT_DIR
#
# DEBIAN_MIRROR overrides the mirror (a province's own mirror or proxy).
set -euo pipefail
out=${1:?output directory}
here=$(cd "$(dirname "$0")" && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

step() { echo "[base] $*"; }

# Filesystems the packages' scripts expect, unmounted whatever happens.
mounted=()
cleanup() {
  local m
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
}
trap cleanup EXIT

step "debootstrap bookworm (minbase) from $mirror"
debootstrap --variant=minbase --include=systemd-sysv,dbus,ca-certificates bookworm "$out" "$mirror"

for fs in proc sys dev dev/pts; do
  mount --bind "/$fs" "$out/$fs"
  mounted+=("$out/$fs")
done
# No service starts inside the build chroot.
printf '#!/bin/sh\nexit 101\n' >"$out/usr/sbin/policy-rc.d"
chmod 0755 "$out/usr/sbin/policy-rc.d"

cat >"$out/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://security.debian.org/debian-security bookworm-security main
EOF

step "packages ($(grep -cv '^\s*\(#\|$\)' "$here/packages.txt") from packages.txt)"
chroot "$out" apt-get update -q
chroot "$out" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  -o Dpkg::Progress-Fancy=0 $(grep -v '^\s*#' "$here/packages.txt" | xargs)
chroot "$out" apt-get clean

rm -f "$out/usr/sbin/policy-rc.d"
step "done: $(du -sh "$out" | cut -f1)"
