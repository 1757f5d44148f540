#!/bin/bash
# Entry point of the fleet's image (the repository's Dockerfile):
#   diemcau-server all     the fleet server and the province's core media edge (default)
#   diemcau-server fleet   the fleet server alone (a second node, or the edge in its own container)
#   diemcau-server edge    the core edge alone
#   diemcau-server backup --out FILE    an online backup of this node's data volume (SQLite)
#   diemcau-server restore --from FILE  into an empty data volume, before the fleet first starts
# With `all`, when either program exits the other is stopped too and the
# container exits with the first one's status, so the orchestrator restarts both.
set -euo pipefail
here=${DIEMCAU_APP_DIR:-/opt/diemcau}
data=${DIEMCAU_DATA_DIR:-/var/lib/diemcau}
mkdir -p "$data"
# The fleet writes the core's media plan here; the core edge reads it (as in `npm run demo`).
export DIEMCAU_CORE_PLAN_FILE=${DIEMCAU_CORE_PLAN_FILE:-$data/core-plan.json}

fleet() { exec node --enable-source-maps "$here/fleet/dist/main.mjs"; }

edge() {
  # The core edge's admin token: given, else made once and kept owner-only in the data volume.
  if [ -z "${DIEMCAU_EDGE_ADMIN_TOKEN:-}" ]; then
    token_file=$data/core-edge-admin-token
    if [ ! -s "$token_file" ]; then
      (umask 077; od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$token_file")
    fi
    DIEMCAU_EDGE_ADMIN_TOKEN=$(cat "$token_file")
  fi
  export DIEMCAU_EDGE_ADMIN_TOKEN
  export DIEMCAU_EDGE_ID=${DIEMCAU_EDGE_ID:-core} DIEMCAU_EDGE_ROLE=core
  export DIEMCAU_EDGE_HARDWARE=${DIEMCAU_EDGE_HARDWARE:-none}
  export DIEMCAU_EDGE_PLAN_FILE=$DIEMCAU_CORE_PLAN_FILE
  exec node --enable-source-maps "$here/appliance/dist/edge.mjs"
}

case "${1:-all}" in
  backup | restore) exec node --enable-source-maps "$here/fleet/dist/backup.mjs" "$@" ;;
  fleet) fleet ;;
  edge) edge ;;
  all)
    (edge) & edge_pid=$!
    (fleet) & fleet_pid=$!
    stop() { kill -TERM "$edge_pid" "$fleet_pid" 2>/dev/null || true; }
    stopping=0
    trap 'stopping=1; stop' TERM INT
    status=0
    wait -n "$edge_pid" "$fleet_pid" || status=$?
    stop
    fleet_status=0
    wait "$fleet_pid" || fleet_status=$?
    wait "$edge_pid" || true
    # Stopped from outside (docker stop): the fleet's own status; else the status of the one that died.
    if [ "$stopping" = 1 ]; then exit "$fleet_status"; fi
    exit "$status" ;;
  *) echo "usage: diemcau-server all|fleet|edge|backup|restore" >&2; exit 2 ;;
esac
