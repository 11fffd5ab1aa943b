#!/usr/bin/env bash
# Keys and partitions: records with the same key always land on the same
# partition (Kafka's murmur2 partitioner), so per-key order is kept.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_cluster

kfk topics create customer-orders --partitions 3 --if-not-exists
for i in 1 2 3 4 5 6; do
  for customer in alice bob carol; do
    echo "$customer:order-$i"
  done
done | kfk produce customer-orders --key-separator :

tmp=$(mktemp)
kfk_cleanup+=("rm -f '$tmp'")
# partition, offset, key, value
kfk consume customer-orders --from-beginning --exit-at-end --format '%p\t%o\t%k\t%v\n' | sort -k3,3 -k2n | tee "$tmp"
# Each key appears in exactly one partition.
awk -F'\t' '{ seen[$3] = seen[$3] " " $1 } END {
  for (k in seen) { split(seen[k], ps, " "); for (i in ps) if (ps[i] != ps[1]) { print "key " k " spread over partitions"; exit 1 } }
  print "every key stayed on one partition"
}' "$tmp"
