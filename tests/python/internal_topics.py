"""Tries to delete and to resize __consumer_offsets with confluent-kafka's
AdminClient; prints one line per attempt: `delete: <error>` / `grow: <error>`
(or `ok` when the broker allowed it)."""
import sys

from confluent_kafka.admin import AdminClient, NewPartitions

admin = AdminClient({"bootstrap.servers": sys.argv[1]})


def outcome(future):
    try:
        future.result(timeout=30)
        return "ok"
    except Exception as e:  # the KafkaException carries the broker's error
        return str(e.args[0].str() if e.args and hasattr(e.args[0], "str") else e)


print("delete:", outcome(admin.delete_topics(["__consumer_offsets"])["__consumer_offsets"]))
print(
    "grow:",
    outcome(admin.create_partitions([NewPartitions("__consumer_offsets", 60)])["__consumer_offsets"]),
)
