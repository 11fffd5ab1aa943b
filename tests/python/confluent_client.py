"""confluent-kafka (librdkafka) against kfkd.

usage: confluent_client.py BOOTSTRAP produce|consume TOPIC COUNT

produce: creates TOPIC (3 partitions) with the admin client, produces COUNT keyed
messages with acks=all and idempotence, message i stamped T0 + i seconds except
message COUNT // 3, stamped an hour after the last (the partition's maximum
timestamp sits mid-log), and prints one JSON object per acked message.
consume: reads TOPIC from the beginning, prints one JSON object per message, then
per partition the low/high watermarks, the offset for timestamp MID (T0 + COUNT // 2
seconds) and the offset and timestamp of its maximum timestamp (ListOffsets -3).
Exits non-zero on any client error. KFK_TEST_SSL_CA=CA.pem makes every client speak TLS.
With KFK_TEST_SASL=MECHANISM:USER:PASSWORD every
client authenticates on a SASL_PLAINTEXT listener.
"""
import json
import os
import sys

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, OffsetSpec

bootstrap, phase, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])


def conf(settings=None):
    """A client config: the bootstrap, SASL when asked, then `settings`."""
    c = {"bootstrap.servers": bootstrap}
    sasl = os.environ.get("KFK_TEST_SASL")
    ca = os.environ.get("KFK_TEST_SSL_CA")
    if sasl:
        mechanism, user, password = sasl.split(":", 2)
        c.update({"security.protocol": "SASL_SSL" if ca else "SASL_PLAINTEXT",
                  "sasl.mechanisms": mechanism, "sasl.username": user, "sasl.password": password})
    elif ca:
        c["security.protocol"] = "SSL"
    if ca:
        c["ssl.ca.location"] = ca
    c.update(settings or {})
    return c
PARTITIONS = 3
T0 = 1_700_000_000_000


def stamp(i):
    return T0 + (count + 3600) * 1000 if i == count // 3 else T0 + i * 1000


MID = T0 + (count // 2) * 1000


def produce():
    admin = AdminClient(conf())
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1,
                  config={"retention.ms": "604800000"})])
    for f in futures.values():
        f.result(15)
    configs = admin.describe_configs([ConfigResource("topic", topic)])
    for f in configs.values():
        assert f.result(15)["retention.ms"].value == "604800000"
    producer = Producer(conf({"acks": "all", "enable.idempotence": True, "linger.ms": 5}))
    errors = []

    def delivered(err, msg):
        if err is not None:
            errors.append(str(err))
            return
        print(json.dumps({"p": msg.partition(), "o": msg.offset(),
                          "k": msg.key().decode(), "v": msg.value().decode(),
                          "t": msg.timestamp()[1]}))

    for i in range(count):
        producer.produce(topic, key=f"key-{i}", value=f"value-{i}", timestamp=stamp(i),
                         on_delivery=delivered)
        producer.poll(0)
    left = producer.flush(30)
    if errors or left:
        sys.exit(f"delivery failed: {left} undelivered, errors {errors[:5]}")


def consume():
    consumer = Consumer(conf({"group.id": "unused", "enable.auto.commit": False,
                              "auto.offset.reset": "earliest"}))
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    seen = 0
    idle = 0
    while seen < count and idle < 20:
        msg = consumer.poll(0.5)
        if msg is None:
            idle += 1
            continue
        if msg.error():
            raise KafkaException(msg.error())
        seen += 1
        print(json.dumps({"p": msg.partition(), "o": msg.offset(),
                          "k": msg.key().decode(), "v": msg.value().decode()}))
    admin = AdminClient(conf())
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    maxima = admin.list_offsets({tp: OffsetSpec.max_timestamp() for tp in tps})
    for p, tp in enumerate(tps):
        low, high = consumer.get_watermark_offsets(tp, timeout=10)
        by_time = consumer.offsets_for_times([TopicPartition(topic, p, MID)], timeout=10)[0]
        top = maxima[tp].result(15)
        print(json.dumps({"partition": p, "low": low, "high": high, "at_mid": by_time.offset,
                          "max_offset": top.offset, "max_timestamp": top.timestamp}))
    consumer.close()


produce() if phase == "produce" else consume()
