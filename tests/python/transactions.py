"""Transactions with confluent-kafka (librdkafka), as the e2e tests drive them.

    transactions.py basic BOOTSTRAP TOPIC
        commit, abort, and hold open transactions; print what read_committed
        and read_uncommitted consumers see at each step (JSON lines).
    transactions.py fence BOOTSTRAP TOPIC
        a second producer with the same transactional.id fences the first,
        whose open transaction is aborted.
    transactions.py timeout BOOTSTRAP TOPIC
        a transaction left open past transaction.timeout.ms is aborted by the
        coordinator, and its producer is fenced.
    transactions.py read BOOTSTRAP TOPIC N
        the first N records a read_committed consumer reads, per partition.
    transactions.py ctp BOOTSTRAP IN OUT GROUP TXID TOTAL BATCH PAUSE
        consume-transform-produce: read IN (read_committed, group GROUP),
        write "out:<value>" to OUT and the input offsets in one transaction
        per BATCH records (PAUSE seconds between), until the group's
        committed offsets cover TOTAL records; prints the running count
        after each commit.
"""

import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition


def say(**kv):
    print(json.dumps(kv), flush=True)


def read_all(bootstrap, topic, isolation, expect=None, idle=3.0):
    """Every value of `topic` from the beginning, per partition in offset order."""
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"reader-{time.time()}",
        "isolation.level": isolation,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    md = c.list_topics(topic, timeout=10)
    parts = sorted(md.topics[topic].partitions)
    c.assign([TopicPartition(topic, p, 0) for p in parts])
    out = {str(p): [] for p in parts}
    last = time.time()
    deadline = time.time() + 60
    while time.time() < deadline:
        m = c.poll(0.2)
        if m is None or m.error():
            count = sum(len(v) for v in out.values())
            if (expect is not None and count >= expect and time.time() - last > 0.5) or time.time() - last > idle:
                break
            continue
        out[str(m.partition())].append(m.value().decode())
        last = time.time()
    c.close()
    return out


def basic(bootstrap, topic):
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": "basic-tx"})
    p.init_transactions(30)
    p.begin_transaction()
    for i in range(6):
        p.produce(topic, key=f"k{i}", value=f"c1-{i}")
    p.commit_transaction(30)
    p.begin_transaction()
    for i in range(6):
        p.produce(topic, key=f"k{i}", value=f"a-{i}")
    p.flush(30)
    p.abort_transaction(30)
    p.begin_transaction()
    for i in range(6):
        p.produce(topic, key=f"k{i}", value=f"open-{i}")
    p.flush(30)
    say(step="open", committed=read_all(bootstrap, topic, "read_committed"),
        uncommitted=read_all(bootstrap, topic, "read_uncommitted", expect=18))
    p.commit_transaction(30)
    say(step="done", committed=read_all(bootstrap, topic, "read_committed", expect=12),
        uncommitted=read_all(bootstrap, topic, "read_uncommitted", expect=18))


def fence(bootstrap, topic):
    conf = {"bootstrap.servers": bootstrap, "transactional.id": "fenced-tx"}
    old = Producer(conf)
    old.init_transactions(30)
    old.begin_transaction()
    old.produce(topic, value="zombie")
    old.flush(30)
    new = Producer(conf)
    new.init_transactions(60)
    new.begin_transaction()
    new.produce(topic, value="successor")
    new.commit_transaction(30)
    try:
        old.produce(topic, value="zombie-2")
        old.commit_transaction(30)
        outcome = "committed"
    except KafkaException as e:
        err = e.args[0]
        outcome = f"{err.name()} fatal={err.fatal()}"
    say(old=outcome, committed=read_all(bootstrap, topic, "read_committed", expect=1),
        uncommitted=read_all(bootstrap, topic, "read_uncommitted", expect=2))


def timeout(bootstrap, topic):
    slow = Producer({"bootstrap.servers": bootstrap, "transactional.id": "slow-tx",
                     "transaction.timeout.ms": 2000})
    slow.init_transactions(30)
    slow.begin_transaction()
    slow.produce(topic, value="abandoned")
    slow.flush(30)
    other = Producer({"bootstrap.servers": bootstrap, "transactional.id": "other-tx"})
    other.init_transactions(30)
    other.begin_transaction()
    other.produce(topic, value="after")
    other.commit_transaction(30)
    # The coordinator aborts the slow transaction; the record behind it
    # becomes readable.
    started = time.time()
    seen = read_all(bootstrap, topic, "read_committed", expect=1, idle=15)
    waited = time.time() - started
    try:
        slow.commit_transaction(30)
        outcome = "committed"
    except KafkaException as e:
        err = e.args[0]
        outcome = f"{err.name()}"
    say(slow=outcome, committed=seen, waited=round(waited, 1))


def ctp(bootstrap, source, sink, group, txid, total, size, pause):
    total, size, pause = int(total), int(size), float(pause)
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        # A killed instance's partitions come back within seconds.
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 1000,
    })
    c.subscribe([source])

    def producer():
        # The transaction timeout also bounds how long librdkafka waits for
        # a partition's new leader (message.timeout.ms): longer than the
        # brokers' 9 s session timeout, after which a killed one's
        # partitions move.
        p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txid,
                      "transaction.timeout.ms": 30000})
        p.init_transactions(60)
        return p

    def rewind():
        # Start over from the offsets the last commit recorded.
        for tp in c.committed(c.assignment(), timeout=30):
            if tp.offset >= 0:
                c.seek(tp)

    p = producer()
    done = 0
    while True:
        batch = c.consume(num_messages=size, timeout=1.0)
        batch = [m for m in batch if not m.error()]
        if not batch:
            try:
                committed = c.committed([TopicPartition(source, p_) for p_ in range(3)], timeout=10)
            except KafkaException:
                continue
            if sum(max(tp.offset, 0) for tp in committed) >= total:
                say(finished=True)
                return
            continue
        time.sleep(pause)
        p.begin_transaction()
        try:
            for m in batch:
                p.produce(sink, key=m.key(), value=b"out:" + m.value())
            # A coordinator that just failed over answers with retriable
            # errors (transport, not coordinator); once the transaction has
            # failed, a retry raises the abortable error handled below.
            while True:
                try:
                    p.send_offsets_to_transaction(c.position(c.assignment()),
                                                  c.consumer_group_metadata(), 60)
                    break
                except KafkaException as e:
                    if not e.args[0].retriable() or e.args[0].txn_requires_abort():
                        raise
            while True:
                try:
                    p.commit_transaction(60)
                    break
                except KafkaException as e:
                    if not e.args[0].retriable():
                        raise
        except KafkaException as e:
            if not e.args[0].txn_requires_abort():
                raise
            try:
                p.abort_transaction(60)
            except KafkaException as e:
                if not e.args[0].fatal():
                    raise
                # librdkafka ends an abort with EndTxn even when the failed
                # coordinator never recorded the transaction's partitions;
                # the new one, like Kafka's, answers INVALID_TXN_STATE, a
                # fatal error. The documented way on: a new producer with
                # the same transactional.id, which fences the old epoch.
                say(recreated=str(e.args[0]))
                p = producer()
            rewind()
            continue
        done += len(batch)
        say(done=done)


def read(bootstrap, topic, expect):
    say(committed=read_all(bootstrap, topic, "read_committed", expect=int(expect), idle=10))


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    {"basic": basic, "fence": fence, "timeout": timeout, "ctp": ctp, "read": read}[mode](*args)
