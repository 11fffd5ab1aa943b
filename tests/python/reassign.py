"""Moves partitions with kafka-python's admin client (AlterPartitionReassignments),
then waits until the cluster reports no reassignment in progress.

usage: reassign.py BOOTSTRAP TOPIC PARTITION=BROKER,BROKER [...]
prints "DONE" when every move completed, exits non-zero on any error.
"""
import sys
import time

from kafka import KafkaAdminClient, TopicPartition

bootstrap, topic, moves = sys.argv[1], sys.argv[2], sys.argv[3:]
admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
plan = {}
for move in moves:
    partition, brokers = move.split("=")
    plan[TopicPartition(topic, int(partition))] = [int(b) for b in brokers.split(",")]
errors = admin.alter_partition_reassignments(plan)
failed = {tp: err for tp, err in errors.items() if err is not None}
if failed or len(errors) != len(plan):
    print(f"FAILED {failed} {errors}", flush=True)
    sys.exit(1)
deadline = time.time() + 30
while time.time() < deadline:
    ongoing = admin.list_partition_reassignments()
    if not ongoing:
        print("DONE", flush=True)
        sys.exit(0)
    time.sleep(0.2)
print(f"STILL IN PROGRESS {ongoing}", flush=True)
sys.exit(1)
