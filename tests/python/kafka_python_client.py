"""kafka-python (pure Python) against kfkd; same contract as confluent_client.py."""
import json
import sys

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

bootstrap, phase, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
PARTITIONS = 3


def produce():
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)])
    assert topic in admin.list_topics()
    admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all",
                             enable_idempotence=True, linger_ms=5)
    futures = [producer.send(topic, key=f"key-{i}".encode(), value=f"value-{i}".encode())
               for i in range(count)]
    producer.flush(30)
    for i, f in enumerate(futures):
        md = f.get(timeout=30)
        print(json.dumps({"p": md.partition, "o": md.offset,
                          "k": f"key-{i}", "v": f"value-{i}"}))
    producer.close()


def consume():
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=5000)
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
    times = consumer.offsets_for_times({tp: 0 for tp in tps})
    for tp in tps:
        print(json.dumps({"partition": tp.partition, "low": starts[tp], "high": ends[tp],
                          "at_time_0": times[tp].offset if times[tp] else -1}))
    consumer.close()


produce() if phase == "produce" else consume()
