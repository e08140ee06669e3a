#!/usr/bin/env bash
# Runs the tests against real services: starts (or reuses) the private MariaDB and the tansu
# Kafka broker with scripts/services.sh, builds the release profile, runs the tests.
#   scripts/test.sh                     # the default group: unit, cluster and end-to-end tests
#   scripts/test.sh --drills            # the failure drills (drills/: 3-node clusters, ~10 min)
#   scripts/test.sh <cargo test args>   e.g. scripts/test.sh --test api_errors
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ferry-target}"
# rustup installs cargo here; a non-login shell (CI) may not have it on PATH.
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"

scripts/services.sh up >/dev/null
eval "$(scripts/services.sh env | sed 's/^/export /')"

cargo build --release --bins
if [ "${1:-}" = "--drills" ]; then
  shift
  # One drill at a time: each runs its own cluster and load. Selecting the whole workspace
  # keeps the features (and so the build) the same as the default group's.
  cargo test --release --workspace --no-fail-fast --test 'drill_*' "$@" -- --test-threads=1 --nocapture
elif [ $# -gt 0 ]; then
  cargo test --release --workspace --exclude ferry-drills "$@"
else
  cargo test --release --workspace --exclude ferry-drills
fi
