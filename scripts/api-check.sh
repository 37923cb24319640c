#!/usr/bin/env bash
# `make api-check` (and the last step of `make test`): starts a stack of its own on free
# ports, then runs schemathesis (`--checks all`) against every service's /openapi.yaml
# with a token that has every scope. Fails on any failure schemathesis reports.
# API_CHECK_SEED fixes the examples drawn (make test sets one; unset, each run draws anew).
#
# Two operations are left out, and Docs/security.md says why: POST /admin/stop (it stops
# the service being tested) and GET /profiles/{id}/stream (an endless event stream).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
ENSEMBLE="${ENSEMBLE:-$ROOT/.build/debug/ensemble}"
SCHEMATHESIS_VERSION="4.32.5"
EXAMPLES="${API_CHECK_EXAMPLES:-40}"
# API_CHECK_SERVICES="orchestrator payment" checks only those.
VENV="$ROOT/.ensemble/schemathesis-$SCHEMATHESIS_VERSION"

if [ ! -x "$VENV/bin/schemathesis" ]; then
  echo "api-check: installing schemathesis $SCHEMATHESIS_VERSION (from PyPI, into $VENV)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" \
    || { echo "api-check: error: pip install schemathesis==$SCHEMATHESIS_VERSION failed" >&2; exit 1; }
fi
[ -x "$ENSEMBLE" ] || { echo "api-check: error: $ENSEMBLE is not built (swift build)" >&2; exit 1; }

WORK="$(mktemp -d /tmp/ensemble-api-check.XXXXXX)"
# Free ports, apart from each other: broker, then the six services.
read -r BROKER_PORT ORCHESTRATOR AGGREGATOR PAYMENT INVENTORY SHIPPING PROFILE < <(python3 - <<'EOF'
import socket
ports = []
while len(ports) < 7:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    if all(abs(port - p) > 2 for p in ports): ports.append(port)
print(*ports)
EOF
)
STACK_PID=""
stop() {
  if [ -n "$STACK_PID" ]; then kill -TERM "$STACK_PID" 2>/dev/null || true; wait "$STACK_PID" 2>/dev/null || true; fi
  cp "$WORK/stack.log" "$ROOT/.ensemble/api-check-stack.log" 2>/dev/null || true
  rm -rf "$WORK"
}
trap stop EXIT

echo "api-check: starting a stack in $WORK" >&2
(
  cd "$WORK"
  export LOG_LEVEL=warning ORCHESTRATOR_HTTP_PORT="$ORCHESTRATOR" AGGREGATOR_HTTP_PORT="$AGGREGATOR" PAYMENT_HTTP_PORT="$PAYMENT" \
    INVENTORY_HTTP_PORT="$INVENTORY" SHIPPING_HTTP_PORT="$SHIPPING" PROFILE_HTTP_PORT="$PROFILE" KAFKA_TOPIC_PARTITIONS=1
  exec "$ENSEMBLE" up --broker-port "$BROKER_PORT"
) >"$WORK/stack.log" 2>&1 &
STACK_PID=$!

for port in "$ORCHESTRATOR" "$AGGREGATOR" "$PAYMENT" "$INVENTORY" "$SHIPPING" "$PROFILE"; do
  for _ in $(seq 1 600); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/health/ready" && break
    kill -0 "$STACK_PID" 2>/dev/null || { echo "api-check: error: the stack exited: $(tail -n 5 "$WORK/stack.log")" >&2; exit 1; }
    sleep 0.1
  done
  curl -sf -o /dev/null "http://127.0.0.1:$port/health/ready" || { echo "api-check: error: port $port not ready after 60 s" >&2; exit 1; }
done
TOKEN="$(sed -n 's/^ *export ENSEMBLE_TOKEN=//p' "$WORK/stack.log" | head -n1)"
[ -n "$TOKEN" ] || { echo "api-check: error: the stack printed no token" >&2; exit 1; }

FAILED=""
for entry in orchestrator:$ORCHESTRATOR aggregator:$AGGREGATOR payment:$PAYMENT inventory:$INVENTORY shipping:$SHIPPING profile:$PROFILE; do
  name="${entry%%:*}"; port="${entry##*:}"
  case " ${API_CHECK_SERVICES:-$name} " in *" $name "*) ;; *) continue ;; esac
  echo "api-check: schemathesis --checks all on $name (http://127.0.0.1:$port/openapi.yaml, $EXAMPLES examples per operation)" >&2
  # (From .ensemble/: schemathesis keeps its example cache in the working directory.)
  if ! (cd "$ROOT/.ensemble" && "$VENV/bin/schemathesis" --config-file "$ROOT/scripts/schemathesis.toml" run "http://127.0.0.1:$port/openapi.yaml" \
      --url "http://127.0.0.1:$port" --checks all -H "Authorization: Bearer $TOKEN" \
      --max-examples "$EXAMPLES" --workers 2 --request-timeout 10 $( [ -n "${API_CHECK_SEED:-}" ] && echo "--seed $API_CHECK_SEED" ) \
      --exclude-path /admin/stop $( [ "$name" = aggregator ] && echo "--exclude-path /profiles/{id}/stream" ) \
      --report junit --report-dir "$ROOT/.ensemble/api-check/$name") >"$ROOT/.ensemble/api-check-$name.log" 2>&1; then
    FAILED="$FAILED $name"
    tail -n 60 "$ROOT/.ensemble/api-check-$name.log" >&2
  else
    echo "api-check: $name:$(grep -E '^  [0-9]+ generated' "$ROOT/.ensemble/api-check-$name.log" | tail -n 1)" >&2 || true
  fi
done
if [ -n "$FAILED" ]; then
  echo "api-check: error: schemathesis found failures in:$FAILED (logs in .ensemble/api-check-*.log)" >&2
  exit 1
fi
echo "api-check: every service's API matches its document (schemathesis --checks all)" >&2
