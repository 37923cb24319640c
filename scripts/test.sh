#!/usr/bin/env bash
# `make test`: builds, starts a private embedded broker on a free port (so a running
# `make up` is not disturbed), runs every test against it, stops it, and exits non-zero
# on any failure. Integration tests read the broker address from ENSEMBLE_TEST_BROKERS.
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT="${SWIFT:-swift}"

# The integration tests send hostile records with an outside Kafka client (not Ensemble's
# own Kafka layer): confluent-kafka for Python, which carries its own librdkafka.
CONFLUENT_KAFKA="confluent-kafka==2.16.1"
if ! python3 -c 'import confluent_kafka' 2>/dev/null; then
  echo "test: installing $CONFLUENT_KAFKA (an outside Kafka client for the tests)" >&2
  python3 -m pip install -q --disable-pip-version-check "$CONFLUENT_KAFKA" 2>/dev/null \
    || python3 -m pip install -q --disable-pip-version-check --break-system-packages "$CONFLUENT_KAFKA" \
    || { echo "test: error: pip install $CONFLUENT_KAFKA failed" >&2; exit 1; }
fi
echo "test: building (a first build of the dependencies takes several minutes)" >&2
"$SWIFT" build --build-tests

mkdir -p .ensemble
# What the tests write to the temporary directory (a SQLite file per test database, stack
# data directories, logs) goes to one directory of this run, removed at the end.
TEST_TMP="$(mktemp -d /tmp/ensemble-test.XXXXXX)"
LOG=".ensemble/test-broker.log"
.build/debug/ensemble broker >"$LOG" 2>&1 &
BROKER_PID=$!
trap 'kill "$BROKER_PID" 2>/dev/null; wait "$BROKER_PID" 2>/dev/null; rm -rf "$TEST_TMP"' EXIT

BROKERS=""
for _ in $(seq 1 200); do
  BROKERS="$(sed -n 's/^KAFKA_BROKERS=//p' "$LOG" | head -n1)"
  [ -n "$BROKERS" ] && break
  kill -0 "$BROKER_PID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$BROKERS" ]; then
  echo "test: error: the embedded broker did not start: $(tail -n 3 "$LOG")" >&2
  exit 1
fi
echo "test: embedded broker at $BROKERS" >&2

# A private PostgreSQL cluster: the storage, participant, orchestrator, aggregator and
# in-process integration suites run a second time on it.
PGDIR="$(mktemp -d /tmp/ensemble-pg.XXXXXX)"
cleanup() {
  # Stacks a crashed test process left behind (their brokers stop with them on SIGTERM).
  if pkill -TERM -f "$PWD/.build/.*/ensemble up" 2>/dev/null; then sleep 3; fi
  pkill -KILL -f "$PWD/.build/.*/ensemble" 2>/dev/null || true
  # Embedded brokers whose stack is gone (their parent is now init; they ignore SIGTERM,
  # which they inherit ignored, see EmbeddedBroker).
  for pid in $(pgrep -f "broker --listener-url tcp://127.0.0.1:[0-9]* .*memory://tansu/" || true); do
    if [ "$(ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ')" = 1 ]; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  true
  bash scripts/postgres.sh stop "$PGDIR" || true
  rm -rf "$PGDIR" "$TEST_TMP"
  kill "$BROKER_PID" 2>/dev/null; wait "$BROKER_PID" 2>/dev/null || true
}
trap cleanup EXIT
POSTGRES_URL="$(bash scripts/postgres.sh start "$PGDIR" | sed -n 's/^POSTGRES_URL=//p')"
[ -n "$POSTGRES_URL" ] || { echo "test: error: the private PostgreSQL cluster did not start" >&2; exit 1; }
echo "test: PostgreSQL at $POSTGRES_URL" >&2

export ENSEMBLE_TEST_BROKERS="$BROKERS"
export ENSEMBLE_TEST_POSTGRES_URL="$POSTGRES_URL"
export TMPDIR="$TEST_TMP"
if [ "$#" -gt 0 ]; then
  "$SWIFT" test --skip-build "$@"
  exit 0
fi
# The suites that start a whole `ensemble up` stack (its own broker and six services) run
# one after another after the rest: several at once on two cores starved the others'
# deadlines.
STACKS="CardDataTests TraceTests SpanExportTests CrashRecoveryTests AggregatorIntegrationTests StackIsolationTests ProcessStackTests ReplayTests PoisonFloodTests ChaosTests"
echo "test: every suite but those that start whole stacks, on SQLite" >&2
"$SWIFT" test --skip-build --skip "$(echo $STACKS | tr ' ' '|')"
for suite in $STACKS; do
  echo "test: $suite, alone" >&2
  "$SWIFT" test --skip-build --filter "$suite"
done
echo "test: the storage, participant, orchestrator, aggregator and integration suites, on PostgreSQL" >&2
# (Not the suites that spawn `ensemble up`: they run the stack on SQLite either way, or
# choose PostgreSQL themselves.)
ENSEMBLE_TEST_DATABASE=postgresql "$SWIFT" test --skip-build \
  --filter 'StorageTests|ParticipantTests|OrchestratorTests|AggregatorTests|IntegrationTests' \
  --skip "$(echo $STACKS | tr ' ' '|')|ComposeFileTests|UnreachableBrokerTests"
echo "test: every service's HTTP API against its OpenAPI document (schemathesis --checks all), on a stack of its own" >&2
# A fixed seed, so that a find can be told again (`make api-check` alone draws a new one
# each time; API_CHECK_SEED overrides). The examples drawn still vary a little between runs.
API_CHECK_SEED="${API_CHECK_SEED:-20261202}" bash scripts/api-check.sh
