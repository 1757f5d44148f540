#!/usr/bin/env bash
# Sets the change and access times of every inode of an ext4 filesystem made
# with `mke2fs -d TREE` to EPOCH. mke2fs copies each file's times from the
# tree; the modification times are fixed there with touch, but a change time
# (ctime) is always the moment of the last change on the build machine and no
# tool can set it, and an access time moves whenever the tree is read. Both,
# and the inode checksums over them, made two builds of one release differ.
#
#   images/debian/fix-inode-times.sh FS_FILE TREE EPOCH
set -euo pipefail
fs=${1:?filesystem file}; tree=${2:?the tree it was made from}; epoch=${3:?seconds since 1970}

cmds=$(mktemp)
trap 'rm -f "$cmds"' EXIT
# debugfs reads one command a line, paths in double quotes: a name with a
# newline or a double quote cannot be said to it.
unsayable=$'*["\n]*'
if [ -n "$(find "$tree" -mindepth 1 -name "$unsayable" -print -quit)" ]; then
  echo "fix-inode-times: a file name under $tree holds a newline or a double quote" >&2
  exit 1
fi
{
  printf 'sif / ctime @%s\nsif / atime @%s\n' "$epoch" "$epoch"
  (cd "$tree" && find . -mindepth 1 -printf "sif \"/%P\" ctime @$epoch\nsif \"/%P\" atime @$epoch\n")
} >"$cmds"
# debugfs reports a failed command on stderr and still exits 0: any line there fails the step.
# The fake time keeps its own writes (the superblock's last write) at the epoch too.
errors=$(E2FSPROGS_FAKE_TIME=$epoch debugfs -w -f "$cmds" "$fs" 2>&1 >/dev/null | grep -v '^debugfs [0-9.]* (' || true)
if [ -n "$errors" ]; then
  echo "fix-inode-times: debugfs refused:" >&2
  echo "$errors" | head -20 >&2
  exit 1
fi
