"""Commits offsets COUNT times (offset i on every partition of TOPIC, for
i in 1..COUNT) for GROUP without joining it (confluent-kafka, assign mode),
then prints "DONE".

usage: commit_loop.py BOOTSTRAP TOPIC GROUP PARTITIONS COUNT
"""
import sys

from confluent_kafka import Consumer, TopicPartition

bootstrap, topic, group = sys.argv[1:4]
partitions, count = int(sys.argv[4]), int(sys.argv[5])
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
              "enable.auto.commit": False})
for i in range(1, count + 1):
    c.commit(offsets=[TopicPartition(topic, p, i) for p in range(partitions)],
             asynchronous=False)
c.close()
print("DONE", flush=True)
