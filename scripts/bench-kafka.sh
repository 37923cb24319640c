#!/usr/bin/env bash
# `make bench-kafka`: librdkafka's own C performance tool and `ensemble bench kafka`
# against one embedded broker, with the same producer settings (idempotent, acks=all,
# linger.ms=0), side by side. Prints a table; the last line is one JSON object.
set -euo pipefail
cd "$(dirname "$0")/.."

ENSEMBLE=.build/release/ensemble
PERF="$(command -v rdkafka_performance || true)"
[ -x "$ENSEMBLE" ] || { echo "bench: build first: swift build -c release --product ensemble" >&2; exit 1; }
[ -n "$PERF" ] || { echo "bench: rdkafka_performance is missing (make setup builds it with librdkafka)" >&2; exit 1; }

MESSAGES="${MESSAGES:-100000}"
SIZE="${SIZE:-200}"
mkdir -p .ensemble
LOG=.ensemble/bench-broker.log
"$ENSEMBLE" broker >"$LOG" 2>&1 &
BROKER_PID=$!
trap 'kill "$BROKER_PID" 2>/dev/null; wait "$BROKER_PID" 2>/dev/null || true' EXIT
BROKERS=""
for _ in $(seq 1 200); do
  BROKERS="$(sed -n 's/^KAFKA_BROKERS=//p' "$LOG" | head -n1)"
  [ -n "$BROKERS" ] && break
  sleep 0.1
done
[ -n "$BROKERS" ] || { echo "bench: the embedded broker did not start: $(tail -n 3 "$LOG")" >&2; exit 1; }

echo "bench: broker $BROKERS; $MESSAGES x $SIZE B; librdkafka's rdkafka_performance and ensemble bench kafka, alternating, 3 runs each" >&2
TOPIC="perf-$RANDOM"
C_RATES=()
SWIFT_JSON=()
for run in 1 2 3; do
  # A fresh one-partition topic per run, created (and warmed) by a first message.
  "$PERF" -P -t "$TOPIC-$run" -p 0 -b "$BROKERS" -s "$SIZE" -c 1 -X enable.idempotence=true -X acks=all >/dev/null 2>&1
  line="$("$PERF" -P -t "$TOPIC-$run" -p 0 -b "$BROKERS" -s "$SIZE" -c "$MESSAGES" \
    -X enable.idempotence=true -X acks=all -X linger.ms=0 2>&1 | grep 'messages produced' | tail -n1)"
  C_RATES+=("$(echo "$line" | sed -n 's/.* \([0-9]*\) msgs\/s.*/\1/p')")
  SWIFT_JSON+=("$("$ENSEMBLE" bench kafka --brokers "$BROKERS" --messages "$MESSAGES" --size "$SIZE" --json)")
  echo "bench: run $run of 3 done" >&2
done

# librdkafka's own produce->consume latency on the same broker, with the same fetch wait
# (rdkafka_performance reports the average, not percentiles).
echo "bench: rdkafka_performance latency mode (1,500 messages at 500 msg/s)" >&2
LTOPIC="perf-latency-$RANDOM"
"$PERF" -P -t "$LTOPIC" -p 0 -b "$BROKERS" -s 100 -c 1 >/dev/null 2>&1
timeout 30 stdbuf -oL "$PERF" -C -l -t "$LTOPIC" -p 0 -o end -c 1500 -b "$BROKERS" -X fetch.wait.max.ms=5 >.ensemble/bench-latency.log 2>&1 &
LATENCY_PID=$!
sleep 2
timeout 20 "$PERF" -P -l -t "$LTOPIC" -p 0 -b "$BROKERS" -s 100 -c 1500 -r 500 -X linger.ms=0 -X enable.idempotence=true -X acks=all >/dev/null 2>&1 || true
wait "$LATENCY_PID" || true
C_LATENCY="$(grep -o 'latency curr/avg/lo/hi [0-9./]*' .ensemble/bench-latency.log | tail -n1 | awk '{print $3}' | cut -d/ -f2 || true)"

python3 - "${C_LATENCY:-0}" "${C_RATES[@]}" -- "${SWIFT_JSON[@]}" <<'PY'
import json, statistics, sys
c_latency = float(sys.argv[1])
args = sys.argv[2:]
split = args.index("--")
c_rates = [float(x) for x in args[:split] if x]
runs = [json.loads(x) for x in args[split + 1:]]
c = statistics.median(c_rates)
s = statistics.median(r["messagesPerSecond"] for r in runs)
p50 = statistics.median(r["hopP50Milliseconds"] for r in runs)
p99 = statistics.median(r["hopP99Milliseconds"] for r in runs)
rss = max(r["peakResidentMegabytes"] for r in runs)
rows = [
    ("produce throughput (median of 3)", f"{c:,.0f} msg/s", f"{s:,.0f} msg/s"),
    ("ensemble / librdkafka", "", f"{100 * s / c:.0f} %"),
    ("hop latency", f"avg {c_latency:.3f} ms", f"p50 {p50:.3f} / p99 {p99:.3f} ms"),
    ("peak resident memory", "", f"{rss:.1f} MiB"),
]
width = [max(len(r[i]) for r in rows + [("measure", "rdkafka_performance", "ensemble bench kafka")]) for i in range(3)]
for r in [("measure", "rdkafka_performance", "ensemble bench kafka")] + rows:
    print("  ".join(cell.ljust(width[i]) for i, cell in enumerate(r)).rstrip())
print(json.dumps({"librdkafkaMessagesPerSecond": c, "ensembleMessagesPerSecond": s, "ratio": s / c,
                  "hopP50Milliseconds": p50, "librdkafkaHopAverageMilliseconds": c_latency, "hopP99Milliseconds": p99, "peakResidentMegabytes": rss,
                  "runs": runs, "librdkafkaRuns": c_rates}, sort_keys=True))
PY
