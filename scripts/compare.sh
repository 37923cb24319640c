#!/usr/bin/env bash
# `make compare`: a release stack of its own (fresh data, the embedded broker), then
# `ensemble bench compare`, which prints the tables and writes Docs/comparison.md and
# Docs/comparison-latency.svg. ORDERS, CONCURRENCY, MIX and FAILURE_ORDERS override the
# workload.
set -euo pipefail
cd "$(dirname "$0")/.."

ENSEMBLE=.build/release/ensemble
[ -x "$ENSEMBLE" ] || { echo "compare: build first: swift build -c release --product ensemble" >&2; exit 1; }
if curl -s -o /dev/null --max-time 1 http://127.0.0.1:8080/health/live; then
  echo "compare: something already answers on port 8080; stop the running stack (make up) first" >&2
  exit 1
fi

DATA=.ensemble/compare-data
rm -rf "$DATA"
mkdir -p "$DATA"
LOG=.ensemble/compare-stack.log
DATA_DIRECTORY="$DATA" LOG_LEVEL=warning "$ENSEMBLE" up >"$LOG" 2>&1 &
STACK_PID=$!
trap 'kill -INT "$STACK_PID" 2>/dev/null; wait "$STACK_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf -o /dev/null http://127.0.0.1:8080/health/ready && break
  kill -0 "$STACK_PID" 2>/dev/null || { echo "compare: the stack stopped: $(tail -n 5 "$LOG")" >&2; exit 1; }
  sleep 0.5
done
curl -sf -o /dev/null http://127.0.0.1:8080/health/ready || { echo "compare: the stack did not get ready: $(tail -n 5 "$LOG")" >&2; exit 1; }
for port in 8081 8082 8083 8084 8085; do
  for _ in $(seq 1 60); do curl -sf -o /dev/null "http://127.0.0.1:$port/health/ready" && break; sleep 0.5; done
done

"$ENSEMBLE" bench compare \
  --orders "${ORDERS:-400}" --concurrency "${CONCURRENCY:-16}" --mix "${MIX:-happy:80,decline:10,out-of-stock:5,blocked:5}" \
  --failure-orders "${FAILURE_ORDERS:-200}" --markdown Docs/comparison.md
