"""kafka-python (pure Python) against kfkd; same contract as confluent_client.py
(KFK_TEST_SASL=MECHANISM:USER:PASSWORD included; with KFK_TEST_SSL_CA=CA.pem it speaks TLS)."""
import json
import os
import sys

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import OffsetSpec

bootstrap, phase, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
PARTITIONS = 3
T0 = 1_700_000_000_000


def stamp(i):
    return T0 + (count + 3600) * 1000 if i == count // 3 else T0 + i * 1000


MID = T0 + (count // 2) * 1000


def conf(**settings):
    """Client arguments: the bootstrap, SASL when asked, then `settings`."""
    c = {"bootstrap_servers": bootstrap}
    sasl = os.environ.get("KFK_TEST_SASL")
    ca = os.environ.get("KFK_TEST_SSL_CA")
    if sasl:
        mechanism, user, password = sasl.split(":", 2)
        c.update(security_protocol="SASL_SSL" if ca else "SASL_PLAINTEXT", sasl_mechanism=mechanism,
                 sasl_plain_username=user, sasl_plain_password=password)
    elif ca:
        c.update(security_protocol="SSL")
    if ca:
        c.update(ssl_cafile=ca, ssl_check_hostname=True)
    c.update(settings)
    return c


def produce():
    admin = KafkaAdminClient(**conf(request_timeout_ms=15000))
    created = admin.create_topics({topic: {"num_partitions": PARTITIONS, "replication_factor": 1}},
                                  raise_errors=False)
    result = {t["name"]: t for t in created["topics"]}
    if result.get(topic, {}).get("error_code") != 0 or result[topic]["num_partitions"] != PARTITIONS:
        sys.exit(f"create_topics failed: {created}")
    described = admin.describe_topics([topic])
    if len(described[0]["partitions"]) != PARTITIONS:
        sys.exit(f"created with the wrong partition count: {described}")
    admin.close()
    producer = KafkaProducer(**conf(acks="all", enable_idempotence=True, linger_ms=5))
    futures = [producer.send(topic, key=f"key-{i}".encode(), value=f"value-{i}".encode(),
                             timestamp_ms=stamp(i))
               for i in range(count)]
    producer.flush(30)
    for i, f in enumerate(futures):
        md = f.get(timeout=30)
        print(json.dumps({"p": md.partition, "o": md.offset,
                          "k": f"key-{i}", "v": f"value-{i}", "t": md.timestamp}))
    producer.close()


def consume():
    consumer = KafkaConsumer(**conf(enable_auto_commit=False, consumer_timeout_ms=5000))
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    consumer.assign(tps)
    consumer.seek_to_beginning()
    seen = 0
    for msg in consumer:
        seen += 1
        print(json.dumps({"p": msg.partition, "o": msg.offset,
                          "k": msg.key.decode(), "v": msg.value.decode()}))
        if seen == count:
            break
    ends = consumer.end_offsets(tps)
    starts = consumer.beginning_offsets(tps)
    times = consumer.offsets_for_times({tp: MID for tp in tps})
    admin = KafkaAdminClient(**conf(request_timeout_ms=15000))
    maxima = admin.list_partition_offsets({tp: OffsetSpec.MAX_TIMESTAMP for tp in tps})
    admin.close()
    for tp in tps:
        print(json.dumps({"partition": tp.partition, "low": starts[tp], "high": ends[tp],
                          "at_mid": times[tp].offset if times[tp] else -1,
                          "max_offset": maxima[tp].offset,
                          "max_timestamp": maxima[tp].timestamp}))
    consumer.close()


produce() if phase == "produce" else consume()
