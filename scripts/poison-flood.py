#!/usr/bin/env python3
"""Floods a running Ensemble stack with poison: --count malformed or unknown records
(bad JSON, no headers, unknown message types, fields of the wrong type, oversized bodies)
spread over every command, reply and event topic, written with an outside Kafka client
(confluent-kafka) in bursts; then reads every `<topic>.dlq` until each record is found in
its own topic's dead-letter topic with a reason, and prints one JSON summary line:

    {"sent": 10000, "deadLettered": 10000, "missing": 0, "byKind": {...}, "reasons": {...}, ...}

Exits 1 when a record is missing after --timeout seconds, 2 when the broker cannot be used.

Usage: scripts/poison-flood.py --brokers 127.0.0.1:9092 [--count 10000] [--timeout 300]
"""
import argparse
import json
import sys
import time
import uuid
from datetime import datetime, timezone

try:
    from confluent_kafka import Consumer, Producer, TopicPartition
except ImportError:
    print("poison-flood: confluent-kafka is missing (python3 -m pip install confluent-kafka)", file=sys.stderr)
    sys.exit(2)

MARKER = "x-poison-id"
# A message type each topic's consumers know and decode, for the records whose body is
# wrong for it.
KNOWN_TYPES = {
    "payment.commands": "payment.authorize.v1",
    "inventory.commands": "inventory.reserve-stock.v1",
    "shipping.commands": "shipping.schedule-shipment.v1",
    "profile.commands": "profile.verify-customer.v1",
    "orchestrator.replies": "payment.authorized.v1",
    "payment.events": "payment.captured.v1",
    "inventory.events": "inventory.stock-reserved.v1",
    "shipping.events": "shipping.shipment-scheduled.v1",
    "profile.events": "profile.customer-registered.v1",
    "orders.events": "orders.order-placed.v1",
}
WRONG_TYPES = {"orderId": 5, "customerId": ["bob"], "amount": 12.5, "lines": "SKU", "shipTo": "here", "customer": 7}
KINDS = ["bad-json", "no-headers", "unknown-type", "wrong-types", "oversized"]


def now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def headers_for(message_type):
    return [("message-id", str(uuid.uuid4())), ("message-type", message_type),
            ("correlation-id", "poison-" + uuid.uuid4().hex[:8]), ("occurred-at", now())]


def record(kind, topic, index):
    """(key, value, headers) of one poison record."""
    known = KNOWN_TYPES[topic]
    if kind == "bad-json":
        return b"k", b'{"orderId": "p-%d", ' % index, headers_for(known)
    if kind == "no-headers":
        return b"k", json.dumps({"orderId": "p-%d" % index}).encode(), []
    if kind == "unknown-type":
        return b"k", b"{}", headers_for(topic.split(".")[0] + ".from-the-future.v9")
    if kind == "wrong-types":
        return b"k", json.dumps(WRONG_TYPES).encode(), headers_for(known)
    # About 1.1 MiB: over the consumers' 1 MiB limit.
    return b"k", b'{"pad":"' + b"x" * (1100 * 1024) + b'"}', headers_for(known)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--oversized", type=int, default=20, help="how many of --count are oversized")
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--pause", type=float, default=0.25, help="seconds between bursts")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()

    producer = Producer({"bootstrap.servers": args.brokers, "message.max.bytes": 8_000_000,
                         "allow.auto.create.topics": False, "linger.ms": 5})
    topics = sorted(KNOWN_TYPES)
    metadata = producer.list_topics(timeout=10)
    for topic in topics + [t + ".dlq" for t in topics]:
        if topic not in metadata.topics:
            print("poison-flood: %s does not exist at %s" % (topic, args.brokers), file=sys.stderr)
            sys.exit(2)
    sent = {}
    failures = []
    small_kinds = [k for k in KINDS if k != "oversized"]
    every = max(1, args.count // max(1, args.oversized)) if args.oversized else 0
    started = time.time()
    for index in range(args.count):
        topic = topics[index % len(topics)]
        kind = "oversized" if every and index % every == every - 1 else small_kinds[(index // len(topics)) % len(small_kinds)]
        key, value, headers = record(kind, topic, index)
        record_id = str(index)
        sent[record_id] = (topic, kind)
        producer.produce(topic, key=key, value=value, headers=[(MARKER, record_id)] + headers,
                         on_delivery=lambda err, msg, i=record_id: failures.append("%s: %s" % (i, err)) if err else None)
        producer.poll(0)
        if (index + 1) % args.burst == 0:
            producer.flush(30)
            time.sleep(args.pause)
    remaining = producer.flush(60)
    if remaining or failures:
        print("poison-flood: could not send: %s" % (failures[:5] or "%d records undelivered" % remaining), file=sys.stderr)
        sys.exit(2)
    sent_seconds = time.time() - started

    consumer = Consumer({"bootstrap.servers": args.brokers, "group.id": "poison-" + uuid.uuid4().hex[:8],
                         "enable.auto.commit": False, "fetch.wait.max.ms": 50, "fetch.message.max.bytes": 8_000_000})
    metadata = consumer.list_topics(timeout=10)
    consumer.assign([TopicPartition(t + ".dlq", p, -2) for t in topics for p in metadata.topics[t + ".dlq"].partitions])
    found = {}
    letters = 0
    reasons = {}
    wrong_topic = 0
    deadline = time.time() + args.timeout
    while time.time() < deadline and len(found) < len(sent):
        for message in consumer.consume(500, 0.5):
            if message.error():
                continue
            headers = {}
            for name, value in message.headers() or []:
                headers.setdefault(name, value.decode("utf-8", "replace") if value is not None else None)
            record_id = headers.get(MARKER)
            if record_id not in sent:
                continue
            letters += 1
            reason = headers.get("dlq-reason") or ""
            if record_id not in found and reason:
                found[record_id] = reason
                reasons[reason] = reasons.get(reason, 0) + 1
                if message.topic() != sent[record_id][0] + ".dlq":
                    wrong_topic += 1
    consumer.close()

    missing = [i for i in sent if i not in found]
    by_kind = {}
    for record_id, (topic, kind) in sent.items():
        entry = by_kind.setdefault(kind, {"sent": 0, "deadLettered": 0})
        entry["sent"] += 1
        entry["deadLettered"] += 1 if record_id in found else 0
    missing_examples = [{"id": i, "topic": sent[i][0], "kind": sent[i][1]} for i in missing[:10]]
    print(json.dumps({"sent": len(sent), "deadLettered": len(found), "missing": len(missing), "inWrongTopic": wrong_topic,
                      "deadLetters": letters, "byKind": by_kind, "reasons": reasons, "missingExamples": missing_examples,
                      "sendSeconds": round(sent_seconds, 1), "seconds": round(time.time() - started, 1)}))
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
