"""Sends one message with acks=all and no retries, and prints how it ended:
"OK partition offset" or "ERR NAME" (the Kafka error name, e.g.
REQUEST_TIMED_OUT when the broker's wait for the ISR ran out).

usage: one_shot_producer.py BOOTSTRAP TOPIC VALUE REQUEST_TIMEOUT_MS
"""
import sys

from confluent_kafka import Producer

bootstrap, topic, value, timeout_ms = sys.argv[1:5]
producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "retries": 0,
                     "enable.idempotence": False,
                     "request.timeout.ms": int(timeout_ms),
                     "message.timeout.ms": 30000})


def delivered(err, msg):
    if err is None:
        print(f"OK {msg.partition()} {msg.offset()}", flush=True)
    else:
        print(f"ERR {err.name()}", flush=True)


producer.produce(topic, value=value.encode(), on_delivery=delivered)
producer.flush(40)
