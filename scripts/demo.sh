#!/usr/bin/env bash
# The demo: a real MariaDB syncing into a real Kafka through one Ferry node.
# Starts the services, builds and starts a node, registers both data sources, creates and starts
# a project for database `shop`, writes a few thousand changes, prints progress while they
# arrive, then shows a few of the messages that landed.
#   DEMO_ORDERS=3000 DEMO_FORMAT=default|canal|debezium scripts/demo.sh
# With DEMO_NODES=3 (2-9) it runs a cluster instead (scripts/cluster.sh, state in .demo/cluster,
# nodes on 127.0.0.11.. with cluster.sh's ports) and, halfway through the writes, kill -9s the
# node that runs the project: the progress shows it move to another node under a new epoch.
# FERRY_BIN=path/to/ferry uses that binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ferry-target}"
# rustup installs cargo here; a non-login shell (CI) may not have it on PATH.
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
ORDERS="${DEMO_ORDERS:-3000}"
FORMAT="${DEMO_FORMAT:-default}"
NODES="${DEMO_NODES:-1}"
[[ "$NODES" =~ ^[1-9]$ ]] || { echo "DEMO_NODES must be 1..9, got '$NODES'" >&2; exit 2; }
HTTP_PORT="${FERRY_DEMO_HTTP_PORT:-18990}"
TOKEN="ferry-demo-token"
DEMO="$ROOT/.demo"
RUN=$(date +%H%M%S)
TOPIC_PREFIX="demo$RUN"

say() { printf '\033[1m== %s\033[0m\n' "$*"; }

say "starting MariaDB and Kafka (scripts/services.sh up)"
scripts/services.sh up
eval "$(scripts/services.sh env | sed 's/^/export /')"

if [ -n "${FERRY_BIN:-}" ]; then
  FERRY="$FERRY_BIN"
  [ -x "$FERRY" ] || { echo "FERRY_BIN=$FERRY is not an executable file" >&2; exit 1; }
  say "using $FERRY (FERRY_BIN)"
else
  say "building ferry (release)"
  cargo build --release --bin ferry 2>&1 | tail -1
  FERRY="$CARGO_TARGET_DIR/release/ferry"
fi

# The cluster's state dir; scripts/cluster.sh runs its nodes with the binary the demo uses.
CLUSTER="$DEMO/cluster"
cluster() { FERRY_CLUSTER_DIR="$CLUSTER" FERRY_CLUSTER_TOKEN="$TOKEN" FERRY_BIN="$FERRY" scripts/cluster.sh "$@"; }
# Nodes a previous run left behind would keep writing into what is deleted next.
if [ -d "$CLUSTER" ]; then cluster down; fi
rm -rf "$DEMO" && mkdir -p "$DEMO"
if [ "$NODES" = 1 ]; then
  say "starting a ferry node on 127.0.0.1:$HTTP_PORT (log: .demo/ferry.log)"
  "$FERRY" node --data-dir "$DEMO/node" --http "127.0.0.1:$HTTP_PORT" --admin-token "$TOKEN" \
    --key-file "$DEMO/node.key" 2>"$DEMO/ferry.log" &
  NODE=$!
  trap 'kill -TERM $NODE 2>/dev/null; wait $NODE 2>/dev/null || true' EXIT
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null && break; sleep 0.1; done
  API_URL="http://127.0.0.1:$HTTP_PORT"
else
  say "starting a $NODES-node ferry cluster (scripts/cluster.sh up $NODES; logs: .demo/cluster/node<I>/ferry.log)"
  trap 'cluster down' EXIT
  cluster up "$NODES" >/dev/null
  node_url() { cluster env | sed -n "s/^FERRY_CLUSTER_NODE$1=//p"; }
  # Any node answers any call: the demo asks node 1 until that is the node it kills.
  API_NODE=1
  API_URL=$(node_url $API_NODE)
  cluster status
fi

api() { # api METHOD PATH [JSON]
  curl -sS -X "$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    "$API_URL/api/v1$2" ${3:+-d "$3"}
}
sql() { mariadb --no-defaults -h127.0.0.1 -P"$FERRY_MYSQL_PORT" -u"$FERRY_MYSQL_ADMIN_USER" \
  -p"$FERRY_MYSQL_ADMIN_PASSWORD" --default-character-set=utf8mb4 "$@"; }

say "creating database shop"
sql -e "DROP DATABASE IF EXISTS shop; CREATE DATABASE shop CHARACTER SET utf8mb4;
  CREATE TABLE shop.customers (id INT PRIMARY KEY, name VARCHAR(64), city VARCHAR(64));
  CREATE TABLE shop.orders (id BIGINT PRIMARY KEY, customer_id INT, amount DECIMAL(10,2),
    status ENUM('new','paid','shipped'), note VARCHAR(100), created_at DATETIME(3));"

say "registering data sources"
api POST /datasources "{\"name\":\"mariadb\",\"type\":\"mysql\",\"host\":\"127.0.0.1\",\"port\":$FERRY_MYSQL_PORT,\"user\":\"$FERRY_MYSQL_USER\",\"password\":\"$FERRY_MYSQL_PASSWORD\"}"; echo
api POST /datasources "{\"name\":\"kafka\",\"type\":\"kafka\",\"bootstrap_servers\":\"$KAFKA\"}"; echo
api POST /datasources/mariadb/check | jq -c '{ok, findings: [.findings[] | {check, ok}]}'

say "creating and starting project shop-to-kafka (format $FORMAT, topics $TOPIC_PREFIX.shop.<table>${API_NODE:+, through node $API_NODE})"
api POST /projects "{\"name\":\"shop-to-kafka\",\"source\":\"mariadb\",\"destination\":\"kafka\",
  \"objects\":[{\"database\":\"shop\",\"topic\":\"$TOPIC_PREFIX.{database}.{table}\"}],
  \"format\":\"$FORMAT\",\"partition\":\"hash\",\"start\":{\"from\":\"now\"}}" | jq -c '{name, state}'
api POST /projects/shop-to-kafka/start | jq -c "$([ "$NODES" = 1 ] && echo '{name, state}' || echo '{name, state, node, epoch}')"

# The workload: customers, then orders in transactions of 50 inserts, every 5th order paid
# (an UPDATE), every 10th deleted. Paced so progress shows over several seconds.
CUSTOMERS=100
UPDATES=$((ORDERS / 5))
DELETES=$((ORDERS / 10))
EXPECTED=$((CUSTOMERS + ORDERS + UPDATES + DELETES))
say "writing $EXPECTED changes into shop"
(
  {
    echo "INSERT INTO shop.customers VALUES"
    for c in $(seq 1 $CUSTOMERS); do
      sep=","; [ "$c" = "$CUSTOMERS" ] && sep=";"
      echo "($c, 'customer $c', 'city $((c % 7))')$sep"
    done
  } | sql
  for start in $(seq 1 50 "$ORDERS"); do
    if [ "$NODES" -gt 1 ] && [ "$start" -gt $((ORDERS / 2)) ]; then touch "$DEMO/half-written"; fi
    end=$((start + 49)); [ "$end" -gt "$ORDERS" ] && end=$ORDERS
    {
      echo "BEGIN;"
      for o in $(seq "$start" "$end"); do
        echo "INSERT INTO shop.orders VALUES ($o, $((o % CUSTOMERS + 1)), $((o % 1000)).$((o % 100)), 'new', 'order №$o ✓', NOW(3));"
      done
      for o in $(seq "$start" "$end"); do
        [ $((o % 5)) = 0 ] && echo "UPDATE shop.orders SET status='paid', amount=amount+1 WHERE id=$o;"
        [ $((o % 10)) = 0 ] && echo "DELETE FROM shop.orders WHERE id=$o;"
      done
      echo "COMMIT;"
    } | sql
    sleep 0.05
  done
) &
WRITER=$!

# Cluster: crash the node that runs the project (as last seen), and from now on ask one that
# stays up.
kill_project_node() {
  KILLED=$node KILLED_EPOCH=$epoch KILLED_MS=$(date +%s%3N)
  if [ "$API_NODE" = "$KILLED" ]; then
    API_NODE=$((KILLED % NODES + 1))
    API_URL=$(node_url $API_NODE)
  fi
  cluster kill9 "$KILLED" 2>/dev/null
  say "killed node $KILLED (it ran shop-to-kafka); the project moves to a live node once its lease runs out (~5 s); asking node $API_NODE"
}

say "progress (GET /api/v1/projects/shop-to-kafka every second)"
prev=0
node=-     # cluster: where the project runs, as last seen
KILLED=""  # cluster: the node killed, once it is
MOVED=""   # cluster: set once the project runs on another node
for i in $(seq 1 120); do
  if [ "$NODES" = 1 ]; then
    sleep 1
  else
    # Halfway through the writes, kill at once rather than at the next whole second.
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      sleep 0.1
      if [ -z "$KILLED" ] && [ -e "$DEMO/half-written" ] && [ "$node" != - ]; then kill_project_node; fi
    done
  fi
  if [ "$NODES" = 1 ]; then
    p=$(api GET /projects/shop-to-kafka)
    where=""
  else
    if ! p=$(api GET /projects/shop-to-kafka) || ! jq -e '.rows | numbers' >/dev/null 2>&1 <<<"$p"; then
      printf '%3ss  node %s did not answer: %s\n' "$i" "$API_NODE" "${p:-no response}"
      continue
    fi
    node=$(jq -r '.node // "-"' <<<"$p")
    epoch=$(jq -r .epoch <<<"$p")
    where=$(printf 'node=%s epoch=%s %-16s  ' "$node" "$epoch" "$(jq -r '.components[0].state' <<<"$p")")
  fi
  rows=$(jq -r '.rows' <<<"$p")
  printf '%3ss  state=%-8s %sdelivered=%6s/%s  rows/s=%6s  sync_timestamp=%s  latency_ms=%s  position=%s\n' \
    "$i" "$(jq -r .state <<<"$p")" "$where" "$rows" "$EXPECTED" "$((rows - prev))" \
    "$(jq -r '.sync_timestamp // "-"' <<<"$p")" "$(jq -r '.latency_ms // "-"' <<<"$p")" \
    "$(jq -r '(.position.file // "-") + ":" + ((.position.pos // 0) | tostring)' <<<"$p")"
  prev=$rows
  if [ "$(jq -r .state <<<"$p")" = failed ]; then jq . <<<"$p"; exit 1; fi
  if [ -n "$KILLED" ] && [ -z "$MOVED" ] && [ "$node" != - ] && [ "$node" != "$KILLED" ] &&
    [ "$(jq -r '.components[0].state' <<<"$p")" = running ]; then
    MOVED=$node
    ms=$(($(date +%s%3N) - KILLED_MS))
    say "shop-to-kafka moved: node $KILLED (epoch $KILLED_EPOCH) -> node $node (epoch $epoch), seen $((ms / 1000)).$((ms % 1000 / 100)) s after the kill"
  fi
  if [ "$WRITER" != 0 ] && ! kill -0 $WRITER 2>/dev/null; then
    wait $WRITER || { echo "the workload failed (see above)"; exit 1; }
    WRITER=0
  fi
  if [ "$WRITER" = 0 ] && [ "$rows" -ge "$EXPECTED" ] && { [ "$NODES" = 1 ] || [ -n "$MOVED" ]; }; then break; fi
done
[ "$rows" -ge "$EXPECTED" ] || { echo "only $rows of $EXPECTED changes arrived"; exit 1; }
if [ "$NODES" -gt 1 ] && [ -z "$MOVED" ]; then echo "shop-to-kafka never moved off node ${KILLED:-?}"; exit 1; fi

say "per-table counts"
api GET /projects/shop-to-kafka | jq -c '.tables[]'

say "a few messages from $TOPIC_PREFIX.shop.orders (ferry tail)"
"$FERRY" tail --brokers "$KAFKA" --topic "$TOPIC_PREFIX.shop.orders" --from-beginning --max 3 --idle-secs 5 | jq -c .

if [ "$NODES" -gt 1 ]; then
  # Every message names the epoch it was sent under; the changes after node $KILLED's last
  # checkpoint are sent again by node $MOVED, with the same ferry.position.
  say "$TOPIC_PREFIX.shop.orders by ferry.epoch (a change sent twice keeps its ferry.position)"
  "$FERRY" tail --brokers "$KAFKA" --topic "$TOPIC_PREFIX.shop.orders" --from-beginning --idle-secs 3 |
    jq -sc '{messages: length, distinct_positions: (map(.headers["ferry.position"]) | unique | length),
      by_epoch: (group_by(.headers["ferry.epoch"]) | map({epoch: .[0].headers["ferry.epoch"], messages: length}))}'
  say "the cluster (GET /api/v1/cluster from node $API_NODE)"
  api GET /cluster | jq -r '"leader: node \(.leader) term \(.term)", (.members[] |
    "node \(.id): \(if .alive then "alive" else "down" end) role=\(.role) runs=\([.runs[] | "\(.project)/\(.component)@\(.epoch)"] | join(","))")'
fi

say "pausing the project and stopping the $([ "$NODES" = 1 ] && echo node || echo cluster)"
api POST /projects/shop-to-kafka/pause | jq -c '{name, state, rows, sync_timestamp}'
