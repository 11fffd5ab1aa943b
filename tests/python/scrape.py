"""Scrapes a kfkd metrics endpoint the way Prometheus does and prints every
sample as a JSON line: {"name", "labels", "value"}.

The page is parsed with the Prometheus project's own strict OpenMetrics
parser (prometheus_client.openmetrics.parser), so a malformed exposition
fails here exactly as it would fail a real scrape.

usage: scrape.py PORT
"""

import json
import sys
import urllib.request

from prometheus_client.openmetrics.parser import text_string_to_metric_families

ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"


def main():
    port = int(sys.argv[1])
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics", headers={"Accept": ACCEPT}
    )
    with urllib.request.urlopen(req, timeout=20) as resp:
        content_type = resp.headers.get("Content-Type", "")
        body = resp.read().decode("utf-8")
    print(json.dumps({"content_type": content_type}))
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            print(
                json.dumps(
                    {
                        "family": family.name,
                        "type": family.type,
                        "name": s.name,
                        "labels": s.labels,
                        "value": s.value,
                    }
                )
            )


if __name__ == "__main__":
    main()
