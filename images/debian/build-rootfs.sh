#!/usr/bin/env bash
# Builds the site box's root filesystem: Debian 12 + Node 20 + the agent, its
# systemd units and the TV kiosk. Run on the build server (root, debootstrap,
# network access to a Debian mirror); write the result to an image with your
# usual tool (e.g. genimage or a dd of a prepared partition).
#
#   images/debian/build-rootfs.sh OUT_DIR RELEASE_TARBALL NODE20_TARBALL TRUSTED_KEYS_JSON NATIVE_MODULES_DIR
#
# NATIVE_MODULES_DIR is a node_modules folder with the native modules the
# release's manifest lists (mediasoup with its built worker, onoff with
# epoll), built for the box's Node on the build server (`npm ci` and
# `node scripts/setup.mjs` in a checkout do exactly that). Every version under
# /opt/diemcau/versions finds them in /opt/diemcau/node_modules.
# TRUSTED_KEYS_JSON is what `npm run release:keygen` writes: the only keys
# whose releases the box will install.
# RELEASE_TARBALL is what `npm run release:build` produces; NODE20_TARBALL is
# the official linux-x64 Node 20 tarball (Debian 12 ships Node 18, which the
# agent does not support).
set -euo pipefail
out=${1:?output directory}; release=${2:?release tarball}; node_tgz=${3:?node 20 tarball}
trusted=${4:?trusted-keys.json}; native=${5:?node_modules with the native modules}
here=$(cd "$(dirname "$0")" && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

step() { echo "[rootfs] $*"; }

step "debootstrap bookworm into $out"
debootstrap --variant=minbase --include=systemd-sysv,dbus,polkitd bookworm "$out" "$mirror"

step "packages"
chroot "$out" apt-get update
chroot "$out" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
  $(grep -v '^#' "$here/packages.txt" | xargs)

step "node 20"
tar -xzf "$node_tgz" -C "$out/usr/local" --strip-components=1

step "users and folders"
chroot "$out" useradd --system --home /var/lib/diemcau --groups video,audio diemcau
chroot "$out" useradd --system --create-home --home /var/lib/kiosk --groups video,audio kiosk
getent group gpio >/dev/null || chroot "$out" groupadd --system gpio
install -d -o 0 -g 0 "$out/etc/diemcau" "$out/opt/diemcau/versions"

step "agent release"
version=$(tar -xzOf "$release" manifest.json | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p')
install -d "$out/opt/diemcau/versions/$version"
tar -xzf "$release" -C "$out/opt/diemcau/versions/$version"
ln -sfn "versions/$version" "$out/opt/diemcau/current"
cp -a "$native" "$out/opt/diemcau/node_modules"
install -m 0644 "$trusted" "$out/etc/diemcau/trusted-keys.json"
chroot "$out" chown -R diemcau:diemcau /opt/diemcau

step "systemd units and polkit rule"
install -m 0644 "$here"/systemd/diemcau-agent.service "$here"/systemd/diemcau-edge.service "$here"/systemd/diemcau-kiosk.service "$out/etc/systemd/system/"
install -m 0644 "$here/polkit-diemcau.rules" "$out/etc/polkit-1/rules.d/50-diemcau.rules"
chroot "$out" systemctl enable diemcau-agent.service diemcau-edge.service diemcau-kiosk.service

step "done: the box enrols itself at first boot from a USB stick, /boot or /etc/diemcau"
