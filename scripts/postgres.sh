#!/usr/bin/env bash
# A private PostgreSQL cluster for the tests: `scripts/postgres.sh start DIR` installs
# Debian's postgresql package if the server is missing, creates a cluster in DIR owned by
# an unprivileged user (initdb refuses root), starts it on a free loopback port and prints
# one line, `POSTGRES_URL=postgres://ensemble@127.0.0.1:PORT/postgres`.
# `scripts/postgres.sh stop DIR` stops it. Nothing outside DIR is touched but the package
# and, when run as root, the system user `ensemble-pg`.
set -euo pipefail

say() { echo "postgres: $*" >&2; }
fail() { echo "postgres: error: $*" >&2; exit 1; }

ACTION="${1:-}"
DIR="${2:-}"
[ -n "$ACTION" ] && [ -n "$DIR" ] || fail "usage: $0 start|stop DIR"

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

bindir() {
  local found
  found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
  [ -n "$found" ] && [ -x "$found/initdb" ] && echo "$found"
}

# Runs a server binary as the cluster's owner.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u ensemble-pg -- "$@"
  else
    "$@"
  fi
}

case "$ACTION" in
start)
  if [ -z "$(bindir)" ]; then
    say "installing Debian's postgresql package (the tests run on PostgreSQL too)"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends postgresql >/dev/null 2>&1 \
      || { $SUDO apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends postgresql >/dev/null; } \
      || fail "apt-get install postgresql failed"
  fi
  BIN="$(bindir)" || fail "no PostgreSQL server binaries under /usr/lib/postgresql"
  if [ "$(id -u)" = 0 ] && ! id ensemble-pg >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin ensemble-pg
  fi
  rm -rf "$DIR" && mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown ensemble-pg "$DIR"
  PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  as_owner "$BIN/initdb" -D "$DIR/data" -U ensemble --auth=trust --encoding=UTF8 --no-sync >"$DIR/initdb.log" 2>&1 \
    || fail "initdb failed: $(tail -n 3 "$DIR/initdb.log")"
  # Enough connections for every test service's pool at once; no fsync: a test cluster.
  as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || fail "the server did not start: $(tail -n 5 "$DIR/server.log")"
  echo "POSTGRES_URL=postgres://ensemble@127.0.0.1:$PORT/postgres"
  ;;
stop)
  BIN="$(bindir)" || exit 0
  [ -f "$DIR/data/postmaster.pid" ] || exit 0
  as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  ;;
*)
  fail "usage: $0 start|stop DIR"
  ;;
esac
