#!/bin/sh
# Entry point of both containers: `diemcau-start agent` or `diemcau-start edge`.
# The edge's admin token must differ from device to device and be known to
# both containers: the first to start writes it to the shared /data volume
# (the disk image's diemcau-firstboot does the same in /etc/diemcau).
set -eu
env_file=${DIEMCAU_EDGE_ENV_FILE:-/data/edge.env}
if [ ! -e "$env_file" ]; then
  mkdir -p "$(dirname "$env_file")"
  tmp=$(mktemp "$env_file.XXXXXX")
  printf 'DIEMCAU_EDGE_ADMIN_TOKEN=%s\n' "$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')" >"$tmp"
  chmod 0600 "$tmp"
  # ln fails if the other container won the race; its file is then the one.
  ln "$tmp" "$env_file" 2>/dev/null || true
  rm -f "$tmp"
fi
case "${1:-agent}" in
  agent)
    export DIEMCAU_EDGE_ENV_FILE="$env_file"
    exec node --enable-source-maps /opt/diemcau/current/agent.mjs ;;
  edge)
    set -a; . "$env_file"; set +a
    exec node --enable-source-maps /opt/diemcau/current/edge.mjs ;;
  *) echo "usage: diemcau-start agent|edge" >&2; exit 2 ;;
esac
