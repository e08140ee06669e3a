#!/usr/bin/env bash
# A local N-node Ferry cluster on loopback: node I listens on 127.0.0.1I (127.0.0.11, .12, ...),
# Raft on port $FERRY_CLUSTER_RAFT_PORT, the HTTP API on $FERRY_CLUSTER_HTTP_PORT. Every node gets
# the same peer list, key file and admin token.
#
# Usage: scripts/cluster.sh up [N] | status | down [--purge] | env | kill9 I | start I | stop I
#   up [N]    start nodes 1..N (1-9; default: the existing cluster's size, else 3) that are not
#             running, building the ferry binary if it is missing; waits for each node's /healthz,
#             then for a leader. Idempotent. stdout: NODE<I>=http://<ip>:<port> lines and
#             TOKEN=<token>; all chatter goes to stderr. A cluster is made with one size: `up` with
#             another N refuses while any node has data (`down --purge` first).
#   status    one line per node: "node I: running <ip>:<port> (pid P) role=<role>" or
#             "node I: stopped", then "leader: <id|none> term: <t>".
#   down      SIGTERM every node, up to 20 s grace each, then SIGKILL; --purge also deletes the
#             state dir (data, logs, key, token).
#   env       KEY=VALUE lines: eval "$(scripts/cluster.sh env | sed 's/^/export /')"
#   kill9 I   SIGKILL node I (a crash).
#   start I   start node I again with its data dir (after kill9 or stop); waits for /healthz.
#   stop I    SIGTERM node I and wait up to 20 s for a clean exit (fails if it is still running).
#
# Environment: FERRY_CLUSTER_DIR (default $ROOT/.cluster), FERRY_CLUSTER_RAFT_PORT (7001),
# FERRY_CLUSTER_HTTP_PORT (8990), FERRY_CLUSTER_TOKEN (the admin token when the cluster is made;
# default random), FERRY_NODE_ARGS (extra flags for every node, e.g. "--lease-ms 2000"),
# FERRY_BIN (default $CARGO_TARGET_DIR/release/ferry), RUST_LOG (default info).
#
# State dir: cluster.key (32 random bytes, mode 600), admin.token, size (N), and per node
# node<I>/data, node<I>/ferry.log, node<I>/ferry.pid.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Absolute, so that the paths in a node's command line (and in its pid check) do not depend on
# the directory the script was run from.
STATE="$(realpath -m -- "${FERRY_CLUSTER_DIR:-$ROOT/.cluster}")"
RAFT_PORT="${FERRY_CLUSTER_RAFT_PORT:-7001}"
HTTP_PORT="${FERRY_CLUSTER_HTTP_PORT:-8990}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ferry-target}"
# rustup installs cargo here; a non-login shell (CI) may not have it on PATH.
[[ -d "$HOME/.cargo/bin" ]] && export PATH="$HOME/.cargo/bin:$PATH"
FERRY="${FERRY_BIN:-$CARGO_TARGET_DIR/release/ferry}"

KEY_FILE="$STATE/cluster.key"
TOKEN_FILE="$STATE/admin.token"
SIZE_FILE="$STATE/size"
DEFAULT_SIZE=3
STOP_GRACE=20 # seconds

log() { printf 'cluster: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- helpers -------------------------------------------------------------------------------------

node_ip() { printf '127.0.0.%d\n' $((10 + $1)); }
node_dir() { printf '%s/node%d\n' "$STATE" "$1"; }
node_url() { printf 'http://%s:%d\n' "$(node_ip "$1")" "$HTTP_PORT"; }
# The string a node's command line must contain for its pid file to be trusted.
node_pattern() { printf '%s/data\n' "$(node_dir "$1")"; }

# port_open IP PORT: true when something accepts TCP connections on IP:PORT.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# pid_of FILE PATTERN: prints the pid in FILE if that process is alive and its command line
# contains PATTERN (guards against a recycled pid); fails otherwise.
pid_of() {
    local file="$1" pattern="$2" pid
    [[ -s "$file" ]] || return 1
    pid="$(tr -dc '0-9' <"$file")"
    [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$pattern" || return 1
    printf '%s\n' "$pid"
}

# node_pid I: the pid of node I when it is running.
node_pid() { pid_of "$(node_dir "$1")/ferry.pid" "$(node_pattern "$1")"; }

# alive PID: true while PID runs. A killed node whose parent (a shell that has exited) was
# re-parented to an init that has not reaped it yet is a zombie, which `kill -0` still finds.
alive() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }" # the fields after "(comm)": state first
    [[ "${stat%% *}" != Z ]]
}

# wait_for SECONDS PID DESCRIPTION COMMAND...: polls COMMAND every 0.2 s until it succeeds;
# fails early when PID dies, or after SECONDS.
wait_for() {
    local seconds="$1" pid="$2" what="$3"
    shift 3
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        alive "$pid" || { log "$what: process $pid exited"; return 1; }
        ((SECONDS < deadline)) || { log "$what: not ready after ${seconds}s"; return 1; }
        sleep 0.2
    done
}

# wait_exit PID SECONDS: true once PID is gone, false if it still runs after SECONDS.
wait_exit() {
    local pid="$1" deadline=$((SECONDS + $2))
    while alive "$pid"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# spawn LOG PIDFILE COMMAND...: runs COMMAND detached (own session, stdin closed, output to LOG)
# so it outlives this script; writes its pid to PIDFILE and prints it. Without job control the
# background child is no process-group leader, so setsid execs in place and $! is the node.
# The node must not inherit the lock's descriptor (it would hold the lock for its whole life).
spawn() {
    local logfile="$1" pidfile="$2"
    shift 2
    nohup setsid "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
    local pid=$!
    printf '%s\n' "$pid" >"$pidfile"
    printf '%s\n' "$pid"
}

# lock: one mutating invocation at a time per state dir (two `up`s racing would start a node twice).
lock() {
    mkdir -p "$STATE"
    exec 9>"$STATE/.lock"
    flock -w 60 9 || die "another scripts/cluster.sh holds $STATE/.lock"
}

ensure_tools() {
    local missing=() t
    for t in curl jq; do command -v "$t" >/dev/null || missing+=("$t"); done
    ((${#missing[@]} == 0)) && return 0
    local sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
        sudo=(sudo)
    fi
    log "installing Debian packages: ${missing[*]}"
    "${sudo[@]}" apt-get update -qq >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
}

ensure_binary() {
    [[ -x "$FERRY" ]] && return 0
    [[ -z "${FERRY_BIN:-}" ]] || die "FERRY_BIN=$FERRY_BIN is not an executable file"
    log "building ferry (cargo build --release --bin ferry; the first build takes ~13 minutes)"
    (cd "$ROOT" && cargo build --release --bin ferry) >&2
    [[ -x "$FERRY" ]] || die "cargo build finished but $FERRY is missing"
}

# The key every node seals stored passwords with: created once, never replaced.
ensure_key() {
    if [[ -e "$KEY_FILE" ]]; then
        [[ "$(stat -c %s "$KEY_FILE")" == 32 ]] || die "$KEY_FILE is not a 32-byte key"
        return 0
    fi
    log "creating $KEY_FILE"
    (umask 077 && head -c 32 /dev/urandom >"$KEY_FILE.tmp")
    mv -- "$KEY_FILE.tmp" "$KEY_FILE"
}

# size: the cluster's size (from `up`), empty when no cluster was made here.
size() { [[ -s "$SIZE_FILE" ]] && tr -dc '0-9' <"$SIZE_FILE"; true; }

# token: the admin token the nodes run with: the state dir's, else $FERRY_CLUSTER_TOKEN.
token() {
    if [[ -s "$TOKEN_FILE" ]]; then tr -d '[:space:]' <"$TOKEN_FILE"; else printf '%s' "${FERRY_CLUSTER_TOKEN:-}"; fi
}

any_running() {
    local i n
    n="$(size)"
    for ((i = 1; i <= ${n:-0}; i++)); do node_pid "$i" >/dev/null && return 0; done
    return 1
}

# The token is a start-up flag (nodes keep no copy): it may change only while every node is down.
ensure_token() {
    local want="${FERRY_CLUSTER_TOKEN:-}"
    if [[ -s "$TOKEN_FILE" ]]; then
        [[ -z "$want" || "$want" == "$(token)" ]] && return 0
        ! any_running || die "FERRY_CLUSTER_TOKEN differs from $TOKEN_FILE, which running nodes use; \
stop them first (scripts/cluster.sh down) or unset FERRY_CLUSTER_TOKEN"
        log "replacing the admin token in $TOKEN_FILE with FERRY_CLUSTER_TOKEN"
    elif [[ -z "$want" ]]; then
        want="$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
        log "creating $TOKEN_FILE"
    fi
    (umask 077 && printf '%s\n' "$want" >"$TOKEN_FILE.tmp")
    mv -- "$TOKEN_FILE.tmp" "$TOKEN_FILE"
}

# check_index I: I must name a node of the cluster made here.
check_index() {
    local n
    n="$(size)"
    [[ -n "$n" ]] || die "no cluster in $STATE (run scripts/cluster.sh up)"
    if [[ ! "${1:-}" =~ ^[1-9]$ ]] || (($1 > n)); then die "node index must be 1..$n, got '${1:-}'"; fi
}

# cluster_json I: node I's view of the cluster (GET /api/v1/cluster); fails when it does not answer.
cluster_json() {
    curl -fsS --max-time 2 -H "Authorization: Bearer $(token)" "$(node_url "$1")/api/v1/cluster"
}

healthy() { curl -fsS --max-time 2 -o /dev/null "$(node_url "$1")/healthz"; }

# --- one node ------------------------------------------------------------------------------------

# start_node I: starts node I unless it runs, then waits until it answers /healthz.
start_node() {
    local i="$1" n dir ip pid port peers="" j extra=()
    n="$(size)"
    dir="$(node_dir "$i")"
    ip="$(node_ip "$i")"
    if pid="$(node_pid "$i")"; then
        log "node $i already running (pid $pid)"
    else
        for port in "$RAFT_PORT" "$HTTP_PORT"; do
            ! port_open "$ip" "$port" || die "$ip:$port is taken by another process (set FERRY_CLUSTER_RAFT_PORT/FERRY_CLUSTER_HTTP_PORT)"
        done
        for ((j = 1; j <= n; j++)); do peers+="${peers:+,}$j=$(node_ip "$j"):$RAFT_PORT"; done
        read -r -a extra <<<"${FERRY_NODE_ARGS:-}"
        mkdir -p "$dir"
        log "starting node $i on $ip (raft :$RAFT_PORT, http :$HTTP_PORT, log $dir/ferry.log)"
        pid="$(spawn "$dir/ferry.log" "$dir/ferry.pid" env RUST_LOG="${RUST_LOG:-info}" "$FERRY" node \
            --node-id "$i" --raft "$ip:$RAFT_PORT" --peers "$peers" --data-dir "$dir/data" \
            --http "$ip:$HTTP_PORT" --admin-token "$(token)" --key-file "$KEY_FILE" "${extra[@]}")"
    fi
    wait_for 30 "$pid" "node $i" healthy "$i" || {
        tail -n 20 "$dir/ferry.log" >&2 || true
        die "node $i did not start; see $dir/ferry.log"
    }
}

# stop_node I: SIGTERM, then up to STOP_GRACE s for a clean exit; fails leaving the node running
# when it takes longer (`kill9 I` ends it).
stop_node() {
    local i="$1" dir pid
    dir="$(node_dir "$i")"
    if ! pid="$(node_pid "$i")"; then
        log "node $i is not running"
        rm -f "$dir/ferry.pid"
        return 0
    fi
    log "stopping node $i (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    finish_stop "$i" "$pid" 0
}

# finish_stop I PID KILL_AFTER: waits up to STOP_GRACE s for PID (sent SIGTERM) to exit; then
# SIGKILL when KILL_AFTER is 1, else fails.
finish_stop() {
    local i="$1" pid="$2" kill_after="$3" dir
    dir="$(node_dir "$i")"
    if ! wait_exit "$pid" "$STOP_GRACE"; then
        ((kill_after)) || die "node $i (pid $pid) still running ${STOP_GRACE}s after SIGTERM; see $dir/ferry.log"
        log "node $i did not stop within ${STOP_GRACE}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_exit "$pid" 10 || die "node $i (pid $pid) survived SIGKILL"
    fi
    rm -f "$dir/ferry.pid"
}

# --- subcommands ---------------------------------------------------------------------------------

cmd_up() {
    local n="${1:-}" old i
    [[ -z "$n" || "$n" =~ ^[1-9]$ ]] || die "cluster size must be 1..9, got '$n'"
    ensure_tools
    lock
    old="$(size)"
    n="${n:-${old:-$DEFAULT_SIZE}}"
    # The peer list is fixed at start: nodes with data from a cluster of another size would not
    # agree on the membership.
    if [[ -n "$old" && "$old" != "$n" ]] && compgen -G "$STATE/node*/data" >/dev/null; then
        die "$STATE holds a $old-node cluster; run 'scripts/cluster.sh up $old', or 'down --purge' first"
    fi
    ensure_binary
    printf '%s\n' "$n" >"$SIZE_FILE"
    ensure_key
    ensure_token
    for ((i = 1; i <= n; i++)); do start_node "$i"; done

    local deadline=$((SECONDS + 30)) leader=""
    while [[ -z "$leader" ]]; do
        for ((i = 1; i <= n; i++)); do
            leader="$(cluster_json "$i" 2>/dev/null | jq -er '.leader // empty' 2>/dev/null)" && break
            leader=""
        done
        [[ -n "$leader" ]] && break
        ((SECONDS < deadline)) || die "no leader elected after 30s; see $STATE/node*/ferry.log"
        sleep 0.2
    done
    log "cluster of $n up; leader: node $leader"
    for ((i = 1; i <= n; i++)); do echo "NODE$i=$(node_url "$i")"; done
    echo "TOKEN=$(token)"
}

cmd_down() {
    local purge=0 n i pid pids=()
    case "${1:-}" in
        "") ;;
        --purge) purge=1 ;;
        *) die "unknown option for down: $1" ;;
    esac
    n="$(size)"
    if [[ -n "$n" ]]; then
        lock
        # All at once: stopping one by one would make the survivors take over the projects of
        # each node that leaves, only to be stopped in turn.
        for ((i = 1; i <= n; i++)); do
            if pid="$(node_pid "$i")"; then
                log "stopping node $i (pid $pid)"
                kill -TERM "$pid" 2>/dev/null || true
                pids[i]="$pid"
            fi
        done
        for i in "${!pids[@]}"; do finish_stop "$i" "${pids[i]}" 1; done
    fi
    if ((purge)) && [[ -d "$STATE" ]]; then
        log "deleting $STATE"
        rm -rf -- "$STATE"
    fi
}

cmd_status() {
    local n i pid json="" j role leader
    n="$(size)"
    [[ -n "$n" ]] || { log "no cluster in $STATE"; return 0; }
    # One view for every line: the leader's own, found through the first node that names a
    # running one (a node just started, or one whose leader was just killed, may not know it),
    # else the first answering node's.
    for ((i = 1; i <= n; i++)); do
        node_pid "$i" >/dev/null || continue
        j="$(cluster_json "$i" 2>/dev/null)" || continue
        [[ -n "$json" ]] || json="$j"
        leader="$(jq -r '.leader // empty' <<<"$j")"
        if [[ "$leader" =~ ^[1-9]$ ]] && ((leader <= n)) && node_pid "$leader" >/dev/null &&
            j="$(cluster_json "$leader" 2>/dev/null)"; then
            json="$j"
            break
        fi
    done
    for ((i = 1; i <= n; i++)); do
        if pid="$(node_pid "$i")"; then
            role="$(jq -r --argjson id "$i" '[.members[]? | select(.id == $id) | .role][0] // "?"' \
                <<<"${json:-null}")"
            echo "node $i: running $(node_ip "$i"):$HTTP_PORT (pid $pid) role=$role"
        else
            echo "node $i: stopped"
        fi
    done
    # A leader that is not running (killed, not yet replaced by an election) is no leader.
    leader="$(jq -r '.leader // empty' <<<"${json:-null}")"
    if [[ "$leader" =~ ^[1-9]$ ]] && ((leader <= n)) && ! node_pid "$leader" >/dev/null; then leader=""; fi
    echo "leader: ${leader:-none} term: $(jq -r '.term // "?"' <<<"${json:-null}")"
}

cmd_env() {
    local n i
    n="$(size)"
    [[ -n "$n" ]] || die "no cluster in $STATE (run scripts/cluster.sh up)"
    echo "FERRY_CLUSTER_TOKEN=$(token)"
    echo "FERRY_CLUSTER_SIZE=$n"
    for ((i = 1; i <= n; i++)); do echo "FERRY_CLUSTER_NODE$i=$(node_url "$i")"; done
    echo "FERRY_CLUSTER_KEY_FILE=$KEY_FILE"
    echo "FERRY_CLUSTER_DIR=$STATE"
}

cmd_kill9() {
    local i="${1:-}" pid
    check_index "$i"
    lock
    if pid="$(node_pid "$i")"; then
        log "SIGKILL node $i (pid $pid)"
        kill -KILL "$pid" 2>/dev/null || true
        wait_exit "$pid" 10 || die "node $i (pid $pid) survived SIGKILL"
    else
        log "node $i is not running"
    fi
    rm -f "$(node_dir "$i")/ferry.pid"
}

cmd_start() {
    local i="${1:-}"
    check_index "$i"
    [[ -x "$FERRY" ]] || die "no ferry binary at $FERRY (scripts/cluster.sh up builds it)"
    [[ -s "$KEY_FILE" && -s "$TOKEN_FILE" ]] || die "$STATE lacks cluster.key or admin.token (run scripts/cluster.sh up)"
    ensure_tools
    lock
    start_node "$i"
}

cmd_stop() {
    local i="${1:-}"
    check_index "$i"
    lock
    stop_node "$i"
}

usage() {
    echo "usage: $0 up [N] | status | down [--purge] | env | kill9 I | start I | stop I" >&2
    exit 2
}

cmd="${1:-}"
(($# > 0)) && shift
case "$cmd" in
    up) (($# <= 1)) || usage; cmd_up "$@" ;;
    down) (($# <= 1)) || usage; cmd_down "$@" ;;
    status) (($# == 0)) || usage; ensure_tools; cmd_status ;;
    env) (($# == 0)) || usage; cmd_env ;;
    kill9) (($# == 1)) || usage; cmd_kill9 "$1" ;;
    start) (($# == 1)) || usage; cmd_start "$1" ;;
    stop) (($# == 1)) || usage; cmd_stop "$1" ;;
    *) usage ;;
esac
