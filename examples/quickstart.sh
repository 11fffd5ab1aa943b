#!/usr/bin/env bash
# The classic Kafka quick start, with kfk: start a cluster, create a topic with
# three partitions, write a message, read it back from the beginning.
# Uses the local cluster, or starts one on port ${KFK_BASE_PORT:-9092} for the
# length of the script.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_cluster

kfk topics create myorders --partitions 3 --replication-factor 1 --if-not-exists
kfk topics describe myorders
echo "This is the first message" | kfk produce myorders
echo "This is the second message" | kfk produce myorders
kfk consume myorders --from-beginning --max-messages 2
