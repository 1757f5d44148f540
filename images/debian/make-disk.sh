#!/usr/bin/env bash
# Writes a bootable x86-64 disk image (GPT, UEFI) from a root filesystem tree:
#   1. EFI system partition (FAT32, 256 MiB): systemd-boot as the removable-
#      media fallback loader (EFI/BOOT/BOOTX64.EFI, so no NVRAM entry is
#      needed), the kernel and the initramfs; mounted at /boot/firmware.
#   2. root (ext4), the GPT type for x86-64 root partitions.
# No loop devices: the filesystems are made in files (mkfs.fat + mtools,
# mke2fs -d) and copied into the disk file at their offsets.
#
#   images/debian/make-disk.sh ROOTFS_DIR OUT.img
#
# SOURCE_DATE_EPOCH fixes every timestamp and the filesystems' ids and hash
# seeds are fixed too, so the same tree gives the same bytes.
set -euo pipefail
rootfs=${1:?root filesystem tree}; img=${2:?output image}
epoch=${SOURCE_DATE_EPOCH:-$(date +%s)}
# Fixed identities, also named in rootfs/etc/fstab.
disk_id=7b3f0c2e-1d4a-4e8b-9f60-5e1a2d3c4b00
esp_uuid=7b3f0c2e-1d4a-4e8b-9f60-5e1a2d3c4b01
root_uuid=7b3f0c2e-1d4a-4e8b-9f60-5e1a2d3c4b02
fs_uuid=7b3f0c2e-1d4a-4e8b-9f60-5e1a2d3c4b03
esp_mib=256
step() { echo "[disk] $*"; }

work=$(mktemp -d "${img}.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

kernel=$(ls "$rootfs"/boot/vmlinuz-* | sort -V | tail -1)
initrd=$rootfs/boot/initrd.img-${kernel##*/vmlinuz-}
[ -f "$initrd" ] || { echo "no initramfs for $kernel" >&2; exit 1; }
efi=$rootfs/usr/lib/systemd/boot/efi/systemd-bootx64.efi

step "EFI system partition: systemd-boot, ${kernel##*/}"
mkdir -p "$work/esp/EFI/BOOT" "$work/esp/loader/entries"
cp "$efi" "$work/esp/EFI/BOOT/BOOTX64.EFI"
cp "$kernel" "$work/esp/vmlinuz"
cp "$initrd" "$work/esp/initrd.img"
printf 'default diemcau.conf\ntimeout 0\neditor no\n' >"$work/esp/loader/loader.conf"
# console=ttyS0 last: systemd's boot messages go to the serial port, where a
# technician (or the image test) reads them; the TV shows the kiosk.
cat >"$work/esp/loader/entries/diemcau.conf" <<EOT
title   Diemcau site box
linux   /vmlinuz
initrd  /initrd.img
options root=PARTUUID=$root_uuid rw console=tty1 console=ttyS0,115200
EOT
find "$work/esp" -exec touch -h -d "@$epoch" {} +
mkfs.fat -F 32 -n DIEMCAU -i 7b3f0c2e --invariant -C "$work/esp.fat" $((esp_mib * 1024)) >/dev/null
# mtools keeps the (fixed) modification times with -m.
MTOOLS_SKIP_CHECK=1 mcopy -s -p -m -i "$work/esp.fat" "$work/esp/EFI" "$work/esp/loader" "$work/esp/vmlinuz" "$work/esp/initrd.img" ::/

used_mib=$(du -sm --apparent-size "$rootfs" | cut -f1)
# Room for two more releases, downloads, the journal and the queue.
root_mib=$(( (used_mib * 12 / 10 + 1024 + 63) / 64 * 64 ))
step "root filesystem: ext4, ${root_mib} MiB for ${used_mib} MiB of files"
E2FSPROGS_FAKE_TIME=$epoch mke2fs -q -t ext4 -L diemcau-root -U "$fs_uuid" -E "hash_seed=$fs_uuid,root_owner=0:0" \
  -d "$rootfs" "$work/root.ext4" "${root_mib}M"
"$(dirname "$0")/fix-inode-times.sh" "$work/root.ext4" "$rootfs" "$epoch"

total_mib=$((1 + esp_mib + root_mib + 1))
step "disk: GPT, ${total_mib} MiB"
rm -f "$img"
truncate -s "${total_mib}M" "$img"
sfdisk --quiet --no-reread --no-tell-kernel "$img" <<EOT
label: gpt
label-id: $disk_id
first-lba: 2048
start=1MiB, size=${esp_mib}MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$esp_uuid, name="esp"
start=$((1 + esp_mib))MiB, size=${root_mib}MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=$root_uuid, name="root"
EOT
dd if="$work/esp.fat" of="$img" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$work/root.ext4" of="$img" bs=1M seek=$((1 + esp_mib)) conv=notrunc,sparse status=none
step "done: $img"
