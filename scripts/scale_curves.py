#!/usr/bin/env python3
"""Scale curves of one kfkd: produce throughput and p99 latency as its
partitions grow, measured with `kfk perf produce` (release build), plotted
to a PNG (matplotlib). PERFORMANCE.md shows the result.

usage: scripts/scale_curves.py OUT.png [RECORDS] [RECORD_SIZE]
   (defaults 1000000 records of 1024 bytes per point; one fresh broker
   per point, so earlier points leave nothing behind)
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")
POINTS = [1, 10, 100, 1000, 10000]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kfk(bootstrap, *args, home):
    return subprocess.run(
        [os.path.join(BIN, "kfk"), "-b", bootstrap, *args],
        env={**os.environ, "KFK_HOME": home, "NO_COLOR": "1"},
        capture_output=True, text=True, timeout=600, check=True,
    ).stdout


def point(partitions, records, size):
    work = tempfile.mkdtemp()
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    broker = subprocess.Popen(
        [os.path.join(BIN, "kfkd"), "--node-id", "1", "--data-dir", os.path.join(work, "data"),
         "--listen", bootstrap],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(500):
            try:
                kfk(bootstrap, "topics", "list", home=work)
                break
            except subprocess.CalledProcessError:
                time.sleep(0.02)
        kfk(bootstrap, "topics", "create", "scale", "-p", str(partitions), home=work)
        out = kfk(bootstrap, "perf", "produce", "--topic", "scale", "--num-records", str(records),
                  "--record-size", str(size), "--acks", "1", "--throughput", "-1",
                  "-o", "json", home=work)
        return json.loads(out)
    finally:
        broker.terminate()
        broker.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


def main():
    out = sys.argv[1]
    records = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 1024
    rows = []
    for p in POINTS:
        r = point(p, records, size)
        rows.append((p, r))
        print(p, json.dumps(r), flush=True)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    xs = [p for p, _ in rows]
    ax.plot(xs, [r["mb_per_sec"] for _, r in rows], "o-", color="tab:blue")
    ax.set_xscale("log")
    ax.set_xlabel("partitions on one broker")
    ax.set_ylabel("produce MB/s (acks=1)", color="tab:blue")
    ax2 = ax.twinx()
    ax2.plot(xs, [r["p99_ms"] for _, r in rows], "s--", color="tab:red")
    ax2.set_ylabel("p99 latency, ms", color="tab:red")
    ax.set_title(f"kfkd, {records:,} records of {size} bytes per point")
    fig.tight_layout()
    fig.savefig(out, dpi=100)


if __name__ == "__main__":
    main()
