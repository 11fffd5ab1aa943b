#!/usr/bin/env bash
# One kfkd and one Apache Kafka KRaft node (1 GiB heap) on this machine,
# measured in turn by the same client: Apache Kafka's own
# kafka-producer-perf-test and kafka-consumer-perf-test (their classes, from
# the jars ./test.sh --prepare fetched into target/java). Prints one line per
# run; PERFORMANCE.md has what it printed.
#
# usage: scripts/side-by-side.sh [RECORDS] [RECORD_SIZE] [ROUNDS] [RATE]
#   (defaults 1000000 1024 3, and a RATE of 55000 records/s for 1 KiB
#   records, the same 56 MB/s for other sizes; RATE: records/s of the
#   fixed-rate acks=all run, 10 s of it, whose latency percentiles are
#   compared; needs a release build: cargo build --release)
# NODES=3 runs three of each (every node a broker and a voter) and
# measures a topic of replication factor 3.
# CLIENT=rdkafka measures with librdkafka's rdkafka_performance instead,
# built from Debian's librdkafka source package into target/rdkafka (the
# first run installs librdkafka-dev and fetches the source).
set -euo pipefail
cd "$(dirname "$0")/.."

records=${1:-1000000}
size=${2:-1024}
rounds=${3:-3}
# The same bytes per second whatever the record size: 55,000 16 KiB records
# a second would be 9 GB per run, more than the disk writes back.
rate=${4:-$((55000 * 1024 / size))}
root=$PWD
bin=$root/target/release
java_dir=$root/target/java
[ -x "$bin/kfkd" ] && [ -x "$bin/kfk" ] || { echo "build first: cargo build --release" >&2; exit 1; }
[ -d "$java_dir/lib" ] || { echo "fetch Kafka's jars first: ./test.sh --prepare" >&2; exit 1; }
cp="$java_dir/classes:$java_dir/lib/*"
client=${CLIENT:-java}
nodes=${NODES:-1}
rdkafka_perf=$root/target/rdkafka/rdkafka_performance
if [ "$client" = rdkafka ] && [ ! -x "$rdkafka_perf" ]; then
  # The example program of the librdkafka the system has, built against it.
  apt-get install -y -qq librdkafka-dev gcc dpkg-dev >/dev/null
  src=$root/target/rdkafka/src
  rm -rf "$src" && mkdir -p "$src"
  sed 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources >"$src/deb-src.sources"
  apt_src=(-o "Dir::Etc::SourceList=$src/deb-src.sources" -o Dir::Etc::SourceParts=/dev/null)
  apt-get "${apt_src[@]}" update -qq >/dev/null
  (cd "$src" && apt-get "${apt_src[@]}" source -qq --download-only librdkafka >/dev/null 2>&1)
  tar -C "$src" -xzf "$src"/librdkafka_*.orig.tar.gz
  lib=$(echo "$src"/librdkafka-*/)
  (cd "$lib" && ./configure --disable-ssl --disable-gssapi --disable-zstd --disable-lz4-ext \
    --disable-curl --disable-sasl >/dev/null)
  gcc -O2 -o "$rdkafka_perf" "$lib/examples/rdkafka_performance.c" -I"$lib/src" -lrdkafka -lz -lpthread -lm
fi
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_serving() {
  for _ in $(seq 3000); do
    if "$bin/kfk" -b "$1" topics list >/dev/null 2>&1; then return 0; fi
    sleep 0.02
  done
  echo "$2 did not start" >&2
  exit 1
}

# NODES kfkd processes, each broker and voter; as on the Kafka nodes below,
# a new group is formed at once.
ports() { for _ in $(seq "$nodes"); do free_port; done; }
voters() {
  local i=0 list=()
  for p in "$@"; do i=$((i + 1)); list+=("$i@127.0.0.1:$p"); done
  (IFS=,; echo "${list[*]}")
}
read -ra kfkd_ports <<<"$(ports | xargs)"
read -ra kfkd_raft <<<"$(ports | xargs)"
kfkd_pids=()
started=$(date +%s.%N)
for i in $(seq "$nodes"); do
  quorum=()
  if [ "$nodes" -gt 1 ]; then
    quorum=(--voters "$(voters "${kfkd_raft[@]}")" --controller-listen "127.0.0.1:${kfkd_raft[$((i - 1))]}")
  fi
  KFK_HOME=$work/kfk "$bin/kfkd" --node-id "$i" --data-dir "$work/kfkd-$i" \
    --listen "127.0.0.1:${kfkd_ports[$((i - 1))]}" --group-initial-rebalance-delay-ms 0 \
    "${quorum[@]}" >"$work/kfkd-$i.log" 2>&1 &
  pids+=($!)
  kfkd_pids+=($!)
done
kfkd_port=${kfkd_ports[0]}
wait_serving "127.0.0.1:$kfkd_port" kfkd
kfkd_first_serve=$(python3 -c "print(round($(date +%s.%N) - $started, 2))")

# NODES Apache Kafka processes, each broker and controller in one JVM.
read -ra kafka_ports <<<"$(ports | xargs)"
read -ra kafka_raft <<<"$(ports | xargs)"
kafka_pids=()
for i in $(seq "$nodes"); do
  port=${kafka_ports[$((i - 1))]}
  raft=${kafka_raft[$((i - 1))]}
  cat >"$work/server-$i.properties" <<EOF
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$(voters "${kafka_raft[@]}")
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$raft
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$work/kafka-$i
offsets.topic.replication.factor=$nodes
transaction.state.log.replication.factor=$nodes
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=$nodes
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
  java -cp "$cp" kafka.tools.StorageTool format -t c2lkZS1ieS1zaWRlLWthZmth -c "$work/server-$i.properties" >/dev/null
done
started=$(date +%s.%N)
for i in $(seq "$nodes"); do
  java -Xms1g -Xmx1g -cp "$cp" kafka.Kafka "$work/server-$i.properties" >"$work/kafka-$i.log" 2>&1 &
  pids+=($!)
  kafka_pids+=($!)
done
kafka_port=${kafka_ports[0]}
wait_serving "127.0.0.1:$kafka_port" "Apache Kafka"
kafka_first_serve=$(python3 -c "print(round($(date +%s.%N) - $started, 2))")
echo "$nodes node(s) each, RF $nodes"
echo "time to first serve (process start until a Metadata answer): kfkd ${kfkd_first_serve} s, Apache Kafka ${kafka_first_serve} s (storage formatted before)"

# Resident memory of all of a broker's processes together.
rss() { for p in "$@"; do cat "/proc/$p/status"; done | awk '/VmRSS/ {kb += $2} END {print int(kb / 1024) " MB"}'; }
echo "idle RSS: kfkd $(rss "${kfkd_pids[@]}"), Apache Kafka $(rss "${kafka_pids[@]}")"

for broker in kfkd kafka; do
  if [ $broker = kfkd ]; then port=$kfkd_port; else port=$kafka_port; fi
  # A quorum just elected may not take the topic yet: ask again.
  for _ in $(seq 100); do
    if "$bin/kfk" -b "127.0.0.1:$port" topics create perf -p 3 -r "$nodes" >/dev/null 2>&1; then break; fi
    sleep 0.2
  done
done

# rdkafka_performance's summary line, cut to its counts and rates.
rdk_line() { grep -E '^% [0-9]+ messages.* (produced|consumed)' | tail -1 | sed 's/^% //'; }

for round in $(seq "$rounds"); do
  for broker in kfkd kafka; do
    if [ $broker = kfkd ]; then port=$kfkd_port; pids_of=("${kfkd_pids[@]}"); else port=$kafka_port; pids_of=("${kafka_pids[@]}"); fi
    if [ "$client" = rdkafka ]; then
      for acks in 1 -1; do
        line=$("$rdkafka_perf" -P -t perf -b "127.0.0.1:$port" -s "$size" -c "$records" -a $acks \
          -X linger.ms=5 -q 2>&1 | rdk_line)
        echo "round $round $broker rdkafka produce acks=$acks: $line"
      done
      line=$("$rdkafka_perf" -C -t perf -p 0 -p 1 -p 2 -o beginning -b "127.0.0.1:$port" \
        -c "$records" -q 2>&1 | rdk_line)
      echo "round $round $broker rdkafka consume: $line"
      echo "round $round $broker loaded RSS: $(rss "${pids_of[@]}")"
      continue
    fi
    for acks in 1 all; do
      line=$(java -cp "$cp" org.apache.kafka.tools.ProducerPerformance --topic perf \
        --num-records "$records" --record-size "$size" --throughput -1 \
        --producer-props "bootstrap.servers=127.0.0.1:$port" "acks=$acks" 2>/dev/null | tail -1)
      echo "round $round $broker produce acks=$acks: $line"
    done
    line=$(java -cp "$cp" org.apache.kafka.tools.ProducerPerformance --topic perf \
      --num-records "$((rate * 10))" --record-size "$size" --throughput "$rate" \
      --producer-props "bootstrap.servers=127.0.0.1:$port" acks=all 2>/dev/null | tail -1)
    echo "round $round $broker produce acks=all at $rate records/s: $line"
    line=$(java -cp "$cp" org.apache.kafka.tools.ConsumerPerformance --bootstrap-server "127.0.0.1:$port" \
      --topic perf --messages "$records" --timeout 60000 2>/dev/null | tail -1)
    echo "round $round $broker consume: $line"
    echo "round $round $broker loaded RSS: $(rss "${pids_of[@]}")"
  done
done
