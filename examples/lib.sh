# Shared by the example scripts: use the running local cluster, or start one on
# port ${KFK_BASE_PORT:-9092} and stop it when the script exits.
# shellcheck shell=bash

kfk_cleanup=()
trap 'for c in "${kfk_cleanup[@]}"; do eval "$c"; done' EXIT

ensure_cluster() {
  if ! kfk cluster status >/dev/null 2>&1; then
    kfk cluster up --base-port "${KFK_BASE_PORT:-9092}"
    kfk_cleanup+=("kfk cluster down")
  fi
}
