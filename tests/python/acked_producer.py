"""Produces COUNT messages with acks=all and prints "ACK partition offset value"
for each acknowledged one, flushing stdout, until done or the broker is gone.

usage: acked_producer.py BOOTSTRAP TOPIC COUNT
"""
import sys

from confluent_kafka import Producer

bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
producer = Producer({"bootstrap.servers": bootstrap, "acks": "all",
                     "enable.idempotence": True, "linger.ms": 1,
                     "message.timeout.ms": 4000, "reconnect.backoff.max.ms": 500})


def delivered(err, msg):
    if err is None:
        print(f"ACK {msg.partition()} {msg.offset()} {msg.value().decode()}", flush=True)


for i in range(count):
    while True:
        try:
            producer.produce(topic, value=f"m-{i}", on_delivery=delivered)
            break
        except BufferError:
            producer.poll(0.1)
    producer.poll(0)
producer.flush(15)
