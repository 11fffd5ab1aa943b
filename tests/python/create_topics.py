"""Creates topics with confluent-kafka's AdminClient, many per CreateTopics
request; prints one line per topic: `<name>: ok` or `<name>: <error>`.

usage: create_topics.py BOOTSTRAP NAME[:PARTITIONS] ...  (one request)
"""
import sys

from confluent_kafka.admin import AdminClient, NewTopic

admin = AdminClient({"bootstrap.servers": sys.argv[1]})
wanted = []
for arg in sys.argv[2:]:
    name, _, partitions = arg.partition(":")
    wanted.append(NewTopic(name, int(partitions or 1), 1))
for name, future in admin.create_topics(wanted, request_timeout=60).items():
    try:
        future.result(timeout=60)
        print(f"{name}: ok")
    except Exception as e:  # the KafkaException carries the broker's error
        print(f"{name}: {e.args[0].str() if e.args and hasattr(e.args[0], 'str') else e}")
