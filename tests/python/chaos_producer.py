"""Produces sequence-numbered messages ("seq-N", keyed over 3 partitions) with
acks=all and idempotence until STOP_FILE exists, about 300 per second, and
prints "ACK partition offset value" for each acknowledged one.

usage: chaos_producer.py BOOTSTRAP TOPIC STOP_FILE
"""
import os
import sys
import time

from confluent_kafka import Producer

bootstrap, topic, stop_file = sys.argv[1], sys.argv[2], sys.argv[3]
producer = Producer({"bootstrap.servers": bootstrap, "acks": "all",
                     "enable.idempotence": True, "linger.ms": 5,
                     "message.timeout.ms": 20000, "reconnect.backoff.max.ms": 500})


def delivered(err, msg):
    if err is None:
        print(f"ACK {msg.partition()} {msg.offset()} {msg.value().decode()}", flush=True)


seq = 0
while not os.path.exists(stop_file):
    for _ in range(30):
        try:
            producer.produce(topic, key=f"k{seq % 7}", value=f"seq-{seq}",
                             on_delivery=delivered)
            seq += 1
        except BufferError:
            break
    producer.poll(0.1)
left = producer.flush(30)
sys.exit(1 if left else 0)
