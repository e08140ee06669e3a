#!/usr/bin/env bash
# Runs every test against real services: starts (or reuses) the private MariaDB and the tansu
# Kafka broker with scripts/services.sh, builds the release profile, runs the workspace tests.
#   scripts/test.sh                 # everything in the default group
#   scripts/test.sh <cargo test args>   e.g. scripts/test.sh --test api_errors
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ferry-target}"
# rustup installs cargo here; a non-login shell (CI) may not have it on PATH.
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"

scripts/services.sh up >/dev/null
eval "$(scripts/services.sh env | sed 's/^/export /')"

cargo build --release --bins
if [ $# -gt 0 ]; then
  cargo test --release --workspace "$@"
else
  cargo test --release --workspace
fi
