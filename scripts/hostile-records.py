#!/usr/bin/env python3
"""Sends hostile records to every command topic of a running Ensemble stack with an
outside Kafka client (confluent-kafka, not Ensemble's own Kafka layer), then reads every
`<topic>.dlq` and reports, one JSON object per line, where each record ended up:

    {"id": "payment.commands/no-headers", "found": true, "reason": "missing-header", ...}

and a last line {"summary": {...}}. Exits 1 when a record is not in its dead-letter
topic within --timeout seconds, 2 when the broker cannot be used.

Usage: scripts/hostile-records.py --brokers 127.0.0.1:9092 [--prefix P] [--timeout 60]
"""
import argparse
import json
import os
import sys
import time
import uuid
from datetime import datetime, timezone

try:
    from confluent_kafka import Consumer, Producer, TopicPartition, KafkaException
except ImportError:
    print("hostile-records: confluent-kafka is missing (python3 -m pip install confluent-kafka)", file=sys.stderr)
    sys.exit(2)

MARKER = "x-hostile-id"
SERVICES = {
    "payment": "payment.authorize.v1",
    "inventory": "inventory.reserve-stock.v1",
    "shipping": "shipping.schedule-shipment.v1",
    "profile": "profile.verify-customer.v1",
}
# A body each service's contract refuses although it is JSON: a value out of range, or a
# value that is not of the field's type.
INVALID_VALUES = {
    "payment": {"orderId": "h-neg", "customerId": "bob", "amount": "-5.00", "cardNumber": "4111111111111111", "processor": "primary"},
    "inventory": {"orderId": "h-neg", "lines": [{"sku": "SKU-MUG", "quantity": -3}]},
    "shipping": {"orderId": "h-neg", "shipTo": None, "priority": False, "free": False},
    "profile": {"customerId": None},
}
WRONG_TYPES = {
    "payment": {"orderId": 5, "customerId": ["bob"], "amount": 12.5, "cardNumber": 4111, "processor": "primary"},
    "inventory": {"orderId": {"x": 1}, "lines": "SKU-MUG"},
    "shipping": {"orderId": True, "shipTo": "here", "priority": "yes", "free": 0},
    "profile": {"customerId": 42},
}
HUGE_AMOUNT = {"orderId": "h-huge", "customerId": "bob", "amount": "999999999999999999999999.99", "cardNumber": "4111111111111111", "processor": "primary"}


def now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(message_type, **overrides):
    headers = {
        "message-id": str(uuid.uuid4()),
        "message-type": message_type,
        "correlation-id": "h-" + uuid.uuid4().hex[:8],
        "occurred-at": now(),
    }
    headers.update(overrides)
    return [(k, v) for k, v in headers.items() if v is not None]


def records_for(service, message_type):
    """(name, key, value, headers) of each hostile record for one command topic."""
    good_body = json.dumps({"customerId": "bob"}).encode()
    yield "no-headers", b"k", json.dumps(INVALID_VALUES[service]).encode(), []
    yield "unknown-type", b"k", b"{}", envelope(service + ".from-the-future.v9")
    yield "non-uuid-id", b"k", good_body, envelope(message_type, **{"message-id": "not-a-uuid"})
    yield "binary-body", b"k", os.urandom(512), envelope(message_type)
    yield "wrong-types", b"k", json.dumps(WRONG_TYPES[service]).encode(), envelope(message_type)
    yield "missing-occurred-at", b"k", good_body, envelope(message_type, **{"occurred-at": None})
    yield "invalid-values", b"k", json.dumps(INVALID_VALUES[service]).encode(), envelope(message_type)
    if service == "payment":
        yield "huge-amount", b"k", json.dumps(HUGE_AMOUNT).encode(), envelope(message_type)
    # About 1.1 MiB: larger than the broker's usual limit for the dead letter of it.
    yield "oversized", b"k", b'{"pad":"' + b"x" * (1100 * 1024) + b'"}', envelope(message_type)
    # 300 headers of 1 KB each (the marker is added first, so it is kept).
    yield "excessive-headers", b"k", good_body, envelope(message_type) + [("x-pad-%d" % i, b"p" * 1024) for i in range(300)]
    # A key of 64 KB.
    yield "long-key", b"K" * (64 * 1024), good_body, envelope(message_type, **{"occurred-at": "yesterday"})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--prefix", default="")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()

    producer = Producer({"bootstrap.servers": args.brokers, "message.max.bytes": 8_000_000, "allow.auto.create.topics": False})
    sent = {}
    failures = []

    def delivered(err, msg, name):
        if err is not None:
            failures.append("%s: %s" % (name, err))

    for service, message_type in SERVICES.items():
        topic = "%s%s.commands" % (args.prefix, service)
        for name, key, value, headers in records_for(service, message_type):
            record_id = "%s/%s" % (topic, name)
            all_headers = [(MARKER, record_id)] + headers
            producer.produce(topic, key=key, value=value, headers=all_headers,
                             on_delivery=lambda err, msg, n=record_id: delivered(err, msg, n))
            sent[record_id] = topic
            producer.poll(0)
    remaining = producer.flush(30)
    if remaining or failures:
        print("hostile-records: could not send: %s" % (failures or "%d records undelivered" % remaining), file=sys.stderr)
        sys.exit(2)

    consumer = Consumer({
        "bootstrap.servers": args.brokers, "group.id": "hostile-" + uuid.uuid4().hex[:8],
        "enable.auto.commit": False, "fetch.wait.max.ms": 50,
    })
    dead_letter_topics = sorted({topic + ".dlq" for topic in sent.values()})
    metadata = consumer.list_topics(timeout=10)
    assignment = []
    for topic in dead_letter_topics:
        if topic not in metadata.topics:
            print("hostile-records: %s does not exist" % topic, file=sys.stderr)
            sys.exit(2)
        for partition in metadata.topics[topic].partitions:
            assignment.append(TopicPartition(topic, partition, -2))  # from the beginning
    consumer.assign(assignment)

    found = {}
    deadline = time.time() + args.timeout
    while time.time() < deadline and len(found) < len(sent):
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        headers = {}
        for name, value in message.headers() or []:
            headers.setdefault(name, value.decode("utf-8", "replace") if value is not None else None)
        record_id = headers.get(MARKER)
        if record_id in sent and record_id not in found:
            found[record_id] = {
                "dlq": message.topic(), "reason": headers.get("dlq-reason"), "detail": headers.get("dlq-detail"),
                "truncated": headers.get("dlq-truncated"), "bytes": len(message.value() or b""),
            }
    consumer.close()

    missing = 0
    for record_id, topic in sent.items():
        entry = found.get(record_id)
        line = {"id": record_id, "found": entry is not None}
        if entry:
            line.update(entry)
            line["inExpectedTopic"] = entry["dlq"] == topic + ".dlq"
        else:
            missing += 1
        print(json.dumps(line))
    print(json.dumps({"summary": {"sent": len(sent), "deadLettered": len(found), "missing": missing}}))
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
