"""A group consumer that commits exactly what it has printed.

usage: group_consumer.py confluent|kafka-python BOOTSTRAP TOPIC GROUP MAX IDLE_S [STOP_FILE]

Prints "ASSIGNED p,p,..." whenever its assignment changes and "MSG p offset value"
per message, committing each message's offset + 1 synchronously before printing
the next. A consumer error is printed as "ERROR ..." and ends it with exit status 1.
Exits after MAX messages, after IDLE_S seconds without one, or when
STOP_FILE exists; closing leaves the group (a static member stays).

confluent only: GC_STRATEGY sets partition.assignment.strategy (e.g.
cooperative-sticky), GC_INSTANCE sets group.instance.id (static membership), and
each rebalance callback prints "REVOKE p,p" / "ASSIGN p,p" / "LOST p,p".
"""
import os
import sys
import time

client, bootstrap, topic, group = sys.argv[1:5]
limit, idle = int(sys.argv[5]), float(sys.argv[6])
stop_file = sys.argv[7] if len(sys.argv) > 7 else None


def out(line):
    print(line, flush=True)


def stop():
    return stop_file is not None and os.path.exists(stop_file)


if client == "confluent":
    from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

    conf = {"bootstrap.servers": bootstrap, "group.id": group,
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
            "session.timeout.ms": 6000, "heartbeat.interval.ms": 500}
    if os.environ.get("GC_STRATEGY"):
        conf["partition.assignment.strategy"] = os.environ["GC_STRATEGY"]
    if os.environ.get("GC_INSTANCE"):
        conf["group.instance.id"] = os.environ["GC_INSTANCE"]
    c = Consumer(conf)

    def commit(consumer, tp):
        # A commit that races a rebalance carries the generation just
        # replaced (ILLEGAL_GENERATION, as Kafka answers too); an application
        # that still owns the partition commits again once it has the new one.
        for _ in range(100):
            try:
                consumer.commit(offsets=[tp], asynchronous=False)
                return
            except KafkaException as e:
                code = e.args[0].code()
                if code not in (KafkaError.ILLEGAL_GENERATION, KafkaError.REBALANCE_IN_PROGRESS):
                    raise
                print(f"commit of {tp.partition} raced a rebalance ({e}); again", file=sys.stderr)
                time.sleep(0.1)
        raise RuntimeError(f"the commit of partition {tp.partition} kept failing")

    def callback(word):
        return lambda _c, parts: out(
            word + " " + ",".join(str(tp.partition) for tp in sorted(parts, key=lambda tp: tp.partition)))

    c.subscribe([topic], on_assign=callback("ASSIGN"), on_revoke=callback("REVOKE"),
                on_lost=callback("LOST"))
    seen, last, shown = 0, time.time(), None
    while seen < limit and time.time() - last < idle and not stop():
        m = c.poll(0.2)
        assigned = sorted(tp.partition for tp in c.assignment())
        if assigned != shown:
            shown = assigned
            out("ASSIGNED " + ",".join(map(str, assigned)))
        if m is None:
            continue
        if m.error():
            out(f"ERROR {m.error()}")
            sys.exit(1)
        commit(c, TopicPartition(topic, m.partition(), m.offset() + 1))
        out(f"MSG {m.partition()} {m.offset()} {m.value().decode()}")
        seen += 1
        last = time.time()
    c.close()
else:
    from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                      auto_offset_reset="earliest", enable_auto_commit=False,
                      session_timeout_ms=6000, heartbeat_interval_ms=500)
    c.subscribe([topic])
    seen, last, shown = 0, time.time(), None
    while seen < limit and time.time() - last < idle and not stop():
        batches = c.poll(timeout_ms=200, max_records=1)
        assigned = sorted(tp.partition for tp in c.assignment())
        if assigned != shown:
            shown = assigned
            out("ASSIGNED " + ",".join(map(str, assigned)))
        for tp, records in batches.items():
            for m in records:
                c.commit({tp: OffsetAndMetadata(m.offset + 1, "", -1)})
                out(f"MSG {m.partition} {m.offset} {m.value.decode()}")
                seen += 1
                last = time.time()
    c.close()
out("CLOSED")
