#!/usr/bin/env bash
# Runs the tests against real services: starts (or reuses) the private MariaDB and the tansu
# Kafka broker with scripts/services.sh, builds the release profile, runs the tests.
#   scripts/test.sh                     # the default group: unit, cluster and end-to-end tests
#   scripts/test.sh --drills            # the failure drills (drills/: 3-node clusters, ~10 min)
#   scripts/test.sh <cargo test args>   e.g. scripts/test.sh --test api_errors, or a name filter
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ferry-target}"
# rustup installs cargo here; a non-login shell (CI) may not have it on PATH.
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"

scripts/services.sh up >/dev/null
eval "$(scripts/services.sh env | sed 's/^/export /')"

# One selection for every build (the whole workspace, tests included), so Cargo unifies the
# dependencies' features once: a narrower selection would build RocksDB and librdkafka again
# for its own feature set. The bench builds the same (scripts/bench.sh).
cargo build --release --workspace --bins --tests
if [ "${1:-}" = "--drills" ]; then
  shift
  # One drill at a time: each runs its own cluster and load.
  cargo test --release --workspace --no-fail-fast --test 'drill_*' "$@" -- --test-threads=1 --nocapture
else
  # The default group: every unit test and the ferry package's integration tests (tests/*.rs),
  # the drills' test targets left out by naming the others.
  targets=(--lib --bins)
  for t in tests/*.rs; do targets+=(--test "$(basename "$t" .rs)"); done
  # Targets given (`--test api_errors`) replace these; a name filter narrows them.
  case "${1:-}" in --test | --test=* | --lib | --bins | --bin | --bin=*) targets=() ;; esac
  cargo test --release --workspace "${targets[@]}" "$@"
fi
