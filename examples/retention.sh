#!/usr/bin/env bash
# Retention settings: create a topic that keeps data for a day, then change and
# remove the override; `describe` shows the overrides in force.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_cluster

kfk topics create clicks --partitions 1 --config retention.ms=86400000 --if-not-exists
kfk topics describe clicks
kfk topics alter clicks --config retention.ms=3600000 --config retention.bytes=1073741824
kfk topics describe clicks -o json
kfk topics alter clicks --delete-config retention.bytes
kfk topics describe clicks
