#!/usr/bin/env bash
# The classic Kafka quick start, with kfk: start a cluster, create a topic with
# three partitions, write a message, read it back from the beginning.
# Uses the local cluster on port ${KFK_BASE_PORT:-9092}; stops it at the end if
# this script started it.
set -euo pipefail
port="${KFK_BASE_PORT:-9092}"

started=no
if ! kfk cluster status >/dev/null 2>&1; then
  kfk cluster up --base-port "$port"
  started=yes
fi
trap '[ "$started" = yes ] && kfk cluster down' EXIT

kfk topics create myorders --partitions 3 --replication-factor 1 --if-not-exists
kfk topics describe myorders
echo "This is the first message" | kfk produce myorders
echo "This is the second message" | kfk produce myorders
kfk consume myorders --from-beginning --max-messages 2
