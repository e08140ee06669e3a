#!/usr/bin/env bash
# Benchmark (not a test): catch-up speed, CPU and memory, and steady-state latency.
#   BENCH_ROWS=1000000 BENCH_RATE=5000 BENCH_SECONDS=20 scripts/bench.sh [--nodes N]
# 1. loads BENCH_ROWS sysbench-like rows (BIGINT id, INT k, CHAR(120) c, CHAR(60) pad) into
#    MariaDB in 1000-row transactions, then starts a project from the position before the load
#    and measures how fast Ferry catches up (rows/s from the first to the last message's Kafka
#    timestamp), its CPU seconds and peak RSS;
# 2. writes BENCH_RATE rows/s for BENCH_SECONDS and measures commit-ack-to-Kafka latency
#    (message CreateTime minus the writer's commit acknowledgement time) p50/p99.
# 3. runs the store alone: a second project reads the same binlog while its connector's broker is
#    down, and gives the pull rate and CPU seconds per 1M rows of reading, decoding and storing.
# 3a. full sync: a project copies the table as it stands (sync ["full", "incremental"]) into
#    Kafka: rows/s from start to the checkpoint covering every row, CPU s per 1M rows;
# 3b. database destinations (BENCH_DB_TARGETS, default "mariadb,seekdb"; empty skips them): a
#    project per target applies the same binlog into the second MariaDB / seekdb; rows/s from
#    start to the checkpoint covering every row, and Ferry's CPU s per 1M rows;
# 3c. message destinations (BENCH_MSG_TARGETS, default "rocketmq,datahub"; empty skips them): a project
#    per target reads the same binlog into RocketMQ / the tests' DataHub emulator: rows/s to the
#    checkpoint, CPU s per 1M rows, then a steady load's commit-to-destination p50/p99 latency;
# 4. with --nodes N > 1: a third project whose connector runs on another node than its store
#    (every record crosses the network): its catch-up rate and each side's CPU per 1M rows;
# 5. one transaction of BENCH_BIG_TX_ROWS rows (default 2000000; 0 skips it) synced by a fresh
#    node: its peak RSS and time.
# Prints one `name: value` line per figure.
# --nodes N (default 1): run on an N-node cluster on loopback (node I on 127.0.0.(10+I), Raft :7301,
# HTTP :9301, apart from scripts/cluster.sh's ports); CPU and peak RSS are those of the node that
# runs the project, and also summed over all nodes (`..._all_N_nodes`).
# FERRY_BIN=path/to/ferry runs that binary instead of the one built; BENCH_KEEP=1 keeps the nodes'
# data and logs (the path is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ferry-target}"
# rustup installs cargo here; a non-login shell (CI) may not have it on PATH.
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
scripts/services.sh up >/dev/null
eval "$(scripts/services.sh env | sed 's/^/export /')"
"$FERRY_VENV/bin/python" -c 'import pymysql' 2>/dev/null || "$FERRY_VENV/bin/pip" install -q pymysql==1.1.1
# With the readers of step 3c (drills' rocketmq-read and datahub-emulator); the workspace's
# features, as the drills build them.
cargo build --release --workspace --bins --tests >&2
[ -n "${FERRY_BIN:-}" ] || export FERRY_BIN="$CARGO_TARGET_DIR/release/ferry"
exec "$FERRY_VENV/bin/python" scripts/bench.py "$@"
