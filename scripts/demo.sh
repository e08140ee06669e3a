#!/usr/bin/env bash
# The demo: a real MariaDB syncing into a real Kafka through one Ferry node.
# Starts the services, builds and starts a node, registers both data sources, creates and starts
# a project for database `shop`, writes a few thousand changes, prints progress while they
# arrive, then shows a few of the messages that landed.
#   DEMO_ORDERS=3000 DEMO_FORMAT=default|canal|debezium scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ferry-target}"
# rustup installs cargo here; a non-login shell (CI) may not have it on PATH.
[ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
ORDERS="${DEMO_ORDERS:-3000}"
FORMAT="${DEMO_FORMAT:-default}"
HTTP_PORT="${FERRY_DEMO_HTTP_PORT:-18990}"
TOKEN="ferry-demo-token"
DEMO="$ROOT/.demo"
RUN=$(date +%H%M%S)
TOPIC_PREFIX="demo$RUN"

say() { printf '\033[1m== %s\033[0m\n' "$*"; }

say "starting MariaDB and Kafka (scripts/services.sh up)"
scripts/services.sh up
eval "$(scripts/services.sh env | sed 's/^/export /')"

say "building ferry (release)"
cargo build --release --bin ferry 2>&1 | tail -1
FERRY="$CARGO_TARGET_DIR/release/ferry"

rm -rf "$DEMO" && mkdir -p "$DEMO"
say "starting a ferry node on 127.0.0.1:$HTTP_PORT (log: .demo/ferry.log)"
"$FERRY" node --data-dir "$DEMO/node" --http "127.0.0.1:$HTTP_PORT" --admin-token "$TOKEN" \
  --key-file "$DEMO/node.key" 2>"$DEMO/ferry.log" &
NODE=$!
trap 'kill -TERM $NODE 2>/dev/null; wait $NODE 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null && break; sleep 0.1; done

api() { # api METHOD PATH [JSON]
  curl -sS -X "$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    "http://127.0.0.1:$HTTP_PORT/api/v1$2" ${3:+-d "$3"}
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

say "creating and starting project shop-to-kafka (format $FORMAT, topics $TOPIC_PREFIX.shop.<table>)"
api POST /projects "{\"name\":\"shop-to-kafka\",\"source\":\"mariadb\",\"destination\":\"kafka\",
  \"objects\":[{\"database\":\"shop\",\"topic\":\"$TOPIC_PREFIX.{database}.{table}\"}],
  \"format\":\"$FORMAT\",\"partition\":\"hash\",\"start\":{\"from\":\"now\"}}" | jq -c '{name, state}'
api POST /projects/shop-to-kafka/start | jq -c '{name, state}'

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

say "progress (GET /api/v1/projects/shop-to-kafka every second)"
prev=0
for i in $(seq 1 120); do
  sleep 1
  p=$(api GET /projects/shop-to-kafka)
  rows=$(jq -r '.rows' <<<"$p")
  printf '%3ss  state=%-8s delivered=%6s/%s  rows/s=%6s  sync_timestamp=%s  latency_ms=%s  position=%s\n' \
    "$i" "$(jq -r .state <<<"$p")" "$rows" "$EXPECTED" "$((rows - prev))" \
    "$(jq -r '.sync_timestamp // "-"' <<<"$p")" "$(jq -r '.latency_ms // "-"' <<<"$p")" \
    "$(jq -r '(.position.file // "-") + ":" + ((.position.pos // 0) | tostring)' <<<"$p")"
  prev=$rows
  if [ "$(jq -r .state <<<"$p")" = failed ]; then jq . <<<"$p"; exit 1; fi
  if [ "$WRITER" != 0 ] && ! kill -0 $WRITER 2>/dev/null; then
    wait $WRITER || { echo "the workload failed (see above)"; exit 1; }
    WRITER=0
  fi
  if [ "$WRITER" = 0 ] && [ "$rows" -ge "$EXPECTED" ]; then break; fi
done
[ "$rows" -ge "$EXPECTED" ] || { echo "only $rows of $EXPECTED changes arrived"; exit 1; }

say "per-table counts"
api GET /projects/shop-to-kafka | jq -c '.tables[]'

say "a few messages from $TOPIC_PREFIX.shop.orders (ferry tail)"
"$FERRY" tail --brokers "$KAFKA" --topic "$TOPIC_PREFIX.shop.orders" --from-beginning --max 3 --idle-secs 5 | jq -c .

say "pausing the project and stopping the node"
api POST /projects/shop-to-kafka/pause | jq -c '{name, state, rows, sync_timestamp}'
