"""One produce or group read with confluent-kafka or kafka-python, for the
security tests: prints {"ok": true} or {"ok": false, "error": "..."} with the
error the library reports (authorization, authentication).

usage: security_probe.py confluent|kafka-python BOOTSTRAP produce|consume TOPIC GROUP
KFK_TEST_SASL=MECHANISM:USER:PASSWORD and KFK_TEST_SSL_CA=CA.pem as for the other clients.
"""
import json
import os
import sys
import time

lib, bootstrap, action, topic, group = sys.argv[1:6]
sasl = os.environ.get("KFK_TEST_SASL")
ca = os.environ.get("KFK_TEST_SSL_CA")
# How long a produce may take (KFK_TEST_PATIENCE_S, default 15 s).
patience = int(os.environ.get("KFK_TEST_PATIENCE_S", "15"))


def say(ok, error=None):
    print(json.dumps({"ok": ok} if ok else {"ok": False, "error": error}), flush=True)


def confluent():
    from confluent_kafka import Consumer, KafkaException, Producer
    conf = {"bootstrap.servers": bootstrap}
    if sasl:
        mechanism, user, password = sasl.split(":", 2)
        conf.update({"security.protocol": "SASL_SSL" if ca else "SASL_PLAINTEXT",
                     "sasl.mechanisms": mechanism, "sasl.username": user, "sasl.password": password})
    elif ca:
        conf["security.protocol"] = "SSL"
    if ca:
        conf["ssl.ca.location"] = ca
    errors = []
    conf["error_cb"] = lambda e: errors.append(str(e))
    if action == "produce":
        outcome = []
        p = Producer({**conf, "message.timeout.ms": patience * 1000})
        p.produce(topic, b"probe", on_delivery=lambda err, msg: outcome.append(err))
        p.flush(patience + 5)
        if outcome and outcome[0] is None:
            return say(True)
        # The delivery error, and what the client reported meanwhile (a
        # failed authentication shows there, the delivery only times out).
        seen = [str(outcome[0])] if outcome and outcome[0] else []
        return say(False, "; ".join(seen + errors) or "no delivery")
    c = Consumer({**conf, "group.id": group, "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    deadline = time.time() + 30
    try:
        while time.time() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                return say(False, str(m.error()))
            return say(True)
        return say(False, "; ".join(errors) or "nothing read")
    except KafkaException as e:
        return say(False, str(e))
    finally:
        c.close()


def kafka_python():
    import logging
    from kafka import KafkaConsumer, KafkaProducer

    # kafka-python reports a failed authentication in its log (ERROR when a
    # connection is lost, WARNING when the bootstrap connection fails; Python
    # shows both by default) and then only fails to bootstrap: the log line is
    # what its user sees.
    logged = []

    class Keep(logging.Handler):
        def emit(self, record):
            logged.append(record.getMessage())

    logging.getLogger("kafka").addHandler(Keep(level=logging.WARNING))
    conf = {"bootstrap_servers": bootstrap, "request_timeout_ms": 10000,
            "bootstrap_timeout_ms": patience * 1000}
    if sasl:
        mechanism, user, password = sasl.split(":", 2)
        conf.update(security_protocol="SASL_SSL" if ca else "SASL_PLAINTEXT", sasl_mechanism=mechanism,
                    sasl_plain_username=user, sasl_plain_password=password)
    elif ca:
        conf.update(security_protocol="SSL")
    if ca:
        conf.update(ssl_cafile=ca)
    try:
        if action == "produce":
            p = KafkaProducer(max_block_ms=patience * 1000, **conf)
            p.send(topic, b"probe").get(timeout=patience)
            p.close()
            return say(True)
        c = KafkaConsumer(topic, group_id=group, auto_offset_reset="earliest", **conf)
        deadline = time.time() + 30
        while time.time() < deadline:
            for records in c.poll(timeout_ms=500).values():
                if records:
                    c.close()
                    return say(True)
        return say(False, "nothing read")
    except Exception as e:  # the library's own error classes
        auth = [m for m in logged if "uthenticat" in m]
        return say(False, "; ".join([f"{type(e).__name__}: {e}"] + auth[:1]))


confluent() if lib == "confluent" else kafka_python()
