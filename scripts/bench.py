"""Driver of scripts/bench.sh: see there. Talks to MariaDB with pymysql, to Ferry over its API,
and reads Kafka with confluent-kafka (an independent client).
  bench.py [--nodes N]   N > 1: an N-node cluster on 127.0.0.11.. (Raft :7301, HTTP :9301)"""
import argparse, json, os, shutil, signal, statistics, subprocess, sys, tempfile, threading, time, urllib.request
import pymysql
from confluent_kafka import Consumer, TopicPartition

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
RATE = int(os.environ.get("BENCH_RATE", "5000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
PARTITIONS = int(os.environ.get("BENCH_PARTITIONS", "4"))
FORMAT = os.environ.get("BENCH_FORMAT", "default")
BIG_TX_ROWS = int(os.environ.get("BENCH_BIG_TX_ROWS", "2000000"))
# Database destinations measured (the second MariaDB, seekdb); BENCH_DB_TARGETS= skips them.
DB_TARGETS = [t for t in os.environ.get("BENCH_DB_TARGETS", "mariadb,seekdb").split(",") if t]
# Message destinations besides Kafka (RocketMQ, DataHub's emulator); BENCH_MSG_TARGETS= skips them.
MSG_TARGETS = [t for t in os.environ.get("BENCH_MSG_TARGETS", "rocketmq,datahub").split(",") if t]
TOOLS = os.path.join(os.environ.get("CARGO_TARGET_DIR", ""), "release")
MYSQL_PORT = int(os.environ["FERRY_MYSQL_PORT"])
KAFKA = os.environ["KAFKA"]
TOKEN = "bench-token"
RUN = time.strftime("%H%M%S")
DB = f"bench{RUN}"
TOPIC = f"bench{RUN}.sbtest"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def figure(name, value):
    print(f"{name}: {value}", flush=True)


def sql():
    return pymysql.connect(host="127.0.0.1", port=MYSQL_PORT, user=os.environ["FERRY_MYSQL_ADMIN_USER"],
                           password=os.environ["FERRY_MYSQL_ADMIN_PASSWORD"], autocommit=True)


# Cluster nodes: node I on 127.0.0.(10+I), apart from scripts/cluster.sh's ports (7001, 8990).
CLUSTER_RAFT_PORT = 7301
CLUSTER_HTTP_PORT = 9301


class Node:
    """A ferry node this script started: its process and the base URL of its API."""

    def __init__(self, ident, proc, url):
        self.id, self.proc, self.url = ident, proc, url


def wait_healthy(node, data):
    for _ in range(300):
        if node.proc.poll() is not None:
            break
        try:
            urllib.request.urlopen(f"{node.url}/healthz", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    log(open(f"{data}/node{node.id}.log").read()[-3000:])
    raise SystemExit(f"node {node.id} did not start (log above)")


def start_nodes(count, data, nodes):
    """Starts one node as before (127.0.0.1:18991), or a cluster of `count` the way
    scripts/cluster.sh starts one: the same peer list, key file and token on every node. Appends
    each to `nodes` as soon as it runs (the caller stops them), then waits for them to serve."""
    if count == 1:
        proc = subprocess.Popen([os.environ["FERRY_BIN"], "node", "--data-dir", f"{data}/node", "--http",
                                 "127.0.0.1:18991", "--admin-token", TOKEN, "--key-file", f"{data}/key"],
                                stderr=open(f"{data}/node1.log", "w"))
        nodes.append(Node(1, proc, "http://127.0.0.1:18991"))
        wait_healthy(nodes[0], data)
        return
    with open(f"{data}/key", "wb") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(os.urandom(32))
    ip = lambda i: f"127.0.0.{10 + i}"
    peers = ",".join(f"{i}={ip(i)}:{CLUSTER_RAFT_PORT}" for i in range(1, count + 1))
    for i in range(1, count + 1):
        proc = subprocess.Popen([os.environ["FERRY_BIN"], "node", "--node-id", str(i),
                                 "--raft", f"{ip(i)}:{CLUSTER_RAFT_PORT}", "--peers", peers,
                                 "--data-dir", f"{data}/node{i}", "--http", f"{ip(i)}:{CLUSTER_HTTP_PORT}",
                                 "--admin-token", TOKEN, "--key-file", f"{data}/key"],
                                stderr=open(f"{data}/node{i}.log", "w"))
        nodes.append(Node(i, proc, f"http://{ip(i)}:{CLUSTER_HTTP_PORT}"))
    for node in nodes:
        wait_healthy(node, data)
    for _ in range(300):
        if api(nodes[0].url, "GET", "/cluster").get("leader"):
            return
        time.sleep(0.1)
    raise SystemExit(f"no leader elected after 30 s; see {data}/node*.log")


def api(url, method, path, body=None):
    req = urllib.request.Request(f"{url}/api/v1{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raise SystemExit(f"{method} {path}: {e.code} {e.read().decode()}")


def proc_cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_peak_rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def load(conn, first, count, batch=1000):
    with conn.cursor() as c:
        for start in range(first, first + count, batch):
            end = min(start + batch - 1, first + count - 1)
            c.execute(f"INSERT INTO {DB}.sbtest SELECT seq, seq % 100000, "
                      f"CONCAT('c-', seq, '-', REPEAT('x', 100)), CONCAT('pad-', seq, REPEAT('y', 40)) "
                      f"FROM {DB}.seq_{start}_to_{end}")


class Reader:
    """Reads the topic from the start on a thread: counts messages and keeps their timestamps."""

    def __init__(self):
        self.times = {}  # id -> Kafka timestamp (ms) of its first message
        self.count = 0
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        c = Consumer({"bootstrap.servers": KAFKA, "group.id": f"bench{RUN}", "enable.auto.commit": False})
        while True:
            md = c.list_topics(TOPIC, timeout=10)
            t = md.topics.get(TOPIC)
            if t is not None and t.error is None and t.partitions:
                break
            time.sleep(0.2)
        c.assign([TopicPartition(TOPIC, p, 0) for p in t.partitions])
        while not self.stop:
            for m in c.consume(num_messages=10000, timeout=0.2):
                if m.error():
                    continue
                self.count += 1
                key = m.key()
                if key is not None:
                    # default/canal: the id as text; debezium: {"id": N}
                    ident = json.loads(key)["id"] if key.startswith(b"{") else int(key)
                    self.times.setdefault(ident, m.timestamp()[1])
        c.close()


def store_only(nodes, file, pos, conn):
    """The store alone: a second project reads the same binlog from the same start while its
    connector's broker is down (nothing delivered, so nothing else works): the pull rate and
    the CPU per row of binlog reading, decoding and appending to the change log."""
    with conn.cursor() as c:
        c.execute(f"SELECT COUNT(*) FROM {DB}.sbtest")
        rows = c.fetchone()[0]
    url = nodes[0].url
    api(url, "POST", "/datasources?verify=false", {"name": "nowhere", "type": "kafka",
                                                   "bootstrap_servers": "127.0.0.1:1"})
    api(url, "POST", "/projects", {"name": "storeonly", "source": "maria", "destination": "nowhere",
                                   "objects": [{"database": DB, "topic": f"storeonly{RUN}.{{table}}"}],
                                   "format": FORMAT, "partition": "hash", "start": {"file": file, "pos": pos}})
    cpu0 = {n.id: proc_cpu_seconds(n.proc.pid) for n in nodes}
    t0 = time.time()
    api(url, "POST", "/projects/storeonly/start", {})
    deadline = t0 + 300
    while True:
        p = api(url, "GET", "/projects/storeonly")
        if p.get("node"):
            url = nodes[p["node"] - 1].url
        if (p.get("rows_read") or 0) >= rows:
            break
        if p["state"] == "failed" or time.time() > deadline:
            log(f"store-only run did not finish: {p.get('error') or p['state']}")
            return
        time.sleep(0.05)
    wall = time.time() - t0
    mine = p["node"] or 1
    cpu = proc_cpu_seconds(nodes[mine - 1].proc.pid) - cpu0[mine]
    figure("store_only_rows", rows)
    figure("store_only_rows_per_sec (connector's broker down, API)", round(rows / max(wall, 1e-3)))
    figure("store_only_cpu_seconds_per_1m_rows", round(cpu * 1_000_000 / rows, 2))
    api(url, "POST", "/projects/storeonly/stop", {})


def connector_apart(nodes, file, pos, conn):
    """With several nodes: a third project reads the same binlog with its connector moved to
    another node than its store, so every record crosses the network (the store's node serves
    its log over HTTP): the catch-up rate and the CPU of each side."""
    with conn.cursor() as c:
        c.execute(f"SELECT COUNT(*) FROM {DB}.sbtest")
        rows = c.fetchone()[0]
    url = nodes[0].url
    api(url, "POST", "/projects", {"name": "apart", "source": "maria", "destination": "kafka",
                                   "objects": [{"database": DB, "topic": f"apart{RUN}.{{table}}"}],
                                   "format": FORMAT, "partition": "hash", "start": {"file": file, "pos": pos},
                                   "options": {"topic_partitions": PARTITIONS}})
    api(url, "POST", "/projects/apart/start", {})
    # Until it delivers on its first node (that node may still be stopping the store-only run).
    while not api(url, "GET", "/projects/apart")["rows"]:
        time.sleep(0.05)
    store = api(url, "GET", "/projects/apart")["node"]
    other = next(n.id for n in nodes if n.id != store)
    cpu0 = {n.id: proc_cpu_seconds(n.proc.pid) for n in nodes}
    t0 = time.time()
    moved = api(url, "POST", "/projects/apart/connectors/default/move", {"node": other})
    before = api(url, "GET", "/projects/apart")["rows"]
    first = None  # (time, rows) of the first checkpoint after the move
    while True:
        p = api(url, "GET", "/projects/apart")
        if p["state"] == "failed" or time.time() > t0 + 300:
            log(f"connector-apart run did not finish: {p.get('error') or p['state']}")
            return
        if first is None and p["rows"] > before and p["epoch"] >= moved["epoch"]:
            first = (time.time(), p["rows"])
        if p["rows"] >= rows:
            break
        time.sleep(0.05)
    wall = time.time() - t0
    cpu = {n.id: proc_cpu_seconds(n.proc.pid) - cpu0[n.id] for n in nodes}
    figure("apart_rows", rows)
    figure("apart_rows_per_sec (connector on another node than its store, move to checkpoint, API)",
           round(rows / max(wall, 1e-3)))
    if first is not None and time.time() > first[0]:
        figure("apart_first_checkpoint_after_move_seconds", round(first[0] - t0, 1))
        figure("apart_rows_per_sec (first checkpoint to last, API)",
               round((rows - first[1]) / max(time.time() - first[0], 1e-3)))
    figure("apart_store_node_cpu_seconds_per_1m_rows", round(cpu[store] * 1_000_000 / rows, 2))
    figure("apart_connector_node_cpu_seconds_per_1m_rows", round(cpu[other] * 1_000_000 / rows, 2))
    api(url, "POST", "/projects/apart/stop", {})


def run_to_checkpoint(nodes, url, project, rows, limit):
    """Starts `project` and waits until its checkpoint covers `rows` rows (or it fails, or
    `limit` s pass): (seconds taken or None, Ferry's CPU seconds on its node, its node's URL)."""
    cpu0 = {n.id: proc_cpu_seconds(n.proc.pid) for n in nodes}
    t0 = time.time()
    api(url, "POST", f"/projects/{project}/start", {})
    while True:
        p = api(url, "GET", f"/projects/{project}")
        if p.get("node"):
            url = nodes[p["node"] - 1].url
        if p["rows"] >= rows:
            break
        if p["state"] == "failed" or time.time() > t0 + limit:
            log(f"{project} did not finish: {p.get('error') or p['state']}")
            return None, 0, url
        time.sleep(0.05)
    wall = time.time() - t0
    mine = p["node"] or 1
    return wall, proc_cpu_seconds(nodes[mine - 1].proc.pid) - cpu0[mine], url


def full_sync(nodes, conn):
    """A full sync of the table as it stands now (into Kafka, no changes to merge): rows/s from
    start to the checkpoint covering every row, and Ferry's CPU s per 1M rows of copying, storing
    and delivering."""
    with conn.cursor() as c:
        c.execute(f"SELECT COUNT(*) FROM {DB}.sbtest")
        rows = c.fetchone()[0]
    url = nodes[0].url
    api(url, "POST", "/projects", {"name": "fullsync", "source": "maria", "destination": "kafka",
                                   "objects": [{"database": DB, "topic": f"fullsync{RUN}.{{table}}"}],
                                   "format": FORMAT, "partition": "hash", "sync": ["full", "incremental"],
                                   "options": {"topic_partitions": PARTITIONS}})
    wall, cpu, url = run_to_checkpoint(nodes, url, "fullsync", rows, 600)
    if wall is None:
        return
    figure("full_sync_rows", rows)
    figure("full_sync_rows_per_sec (start to checkpoint, API; chunks of 8192 rows, 4 ahead)",
           round(rows / max(wall, 1e-3)))
    figure("full_sync_cpu_seconds_per_1m_rows", round(cpu * 1_000_000 / rows, 2))
    api(url, "POST", "/projects/fullsync/stop", {})


def database_targets(nodes, file, pos, conn):
    """Catch-up into database destinations: a project per target reads the same binlog and
    applies it (upserts by primary key, grouped transactions, 4 connections by key), from start to
    the checkpoint covering every row; then the target's row count is checked."""
    with conn.cursor() as c:
        c.execute(f"SELECT COUNT(*) FROM {DB}.sbtest")
        rows = c.fetchone()[0]
    targets = {
        "mariadb": {"type": "mysql", "port": int(os.environ["FERRY_MYSQL2_PORT"]),
                    "user": os.environ["FERRY_MYSQL_ADMIN_USER"], "password": os.environ["FERRY_MYSQL_ADMIN_PASSWORD"]},
        "seekdb": {"type": "oceanbase", "port": int(os.environ["FERRY_SEEKDB_PORT"]), "user": "root", "password": ""},
    }
    url = nodes[0].url
    for name in DB_TARGETS:
        t = targets[name]
        target = pymysql.connect(host="127.0.0.1", port=t["port"], user=t["user"], password=t["password"],
                                 autocommit=True)
        with target.cursor() as c:
            c.execute(f"DROP DATABASE IF EXISTS {DB}")
        api(url, "POST", "/datasources", {"name": f"to_{name}", "host": "127.0.0.1", **t})
        project = f"db_{name}"
        api(url, "POST", "/projects", {"name": project, "source": "maria", "destination": f"to_{name}",
                                       "objects": [{"database": DB}], "start": {"file": file, "pos": pos}})
        wall, cpu, url = run_to_checkpoint(nodes, url, project, rows, 600)
        if wall is None:
            return
        with target.cursor() as c:
            c.execute(f"SELECT COUNT(*) FROM {DB}.sbtest")
            landed = c.fetchone()[0]
            c.execute(f"DROP DATABASE IF EXISTS {DB}")
        target.close()
        figure(f"db_{name}_rows", rows)
        figure(f"db_{name}_rows_per_sec (start to checkpoint, API; up to 256 rows a statement, "
               f"20000-row commit groups, 4 connections by key)", round(rows / max(wall, 1e-3)))
        figure(f"db_{name}_cpu_seconds_per_1m_rows (ferry)", round(cpu * 1_000_000 / rows, 2))
        if landed != rows:
            log(f"warning: {landed} rows in the {name} target, {rows} expected")
        api(url, "POST", f"/projects/{project}/stop", {})


def steady_load(conn, first, total):
    """RATE rows/s in 100-row autocommit inserts from id `first`: each row's commit ack time (ms)."""
    acked = {}
    per_stmt = 100
    with conn.cursor() as c:
        start = time.time()
        for i, lo in enumerate(range(first, first + total, per_stmt)):
            due = start + i * per_stmt / RATE
            if due > time.time():
                time.sleep(due - time.time())
            hi = lo + per_stmt - 1
            c.execute(f"INSERT INTO {DB}.sbtest SELECT seq, seq % 100000, 'steady', 'pad' FROM {DB}.seq_{lo}_to_{hi}")
            now_ms = time.time() * 1000
            for k in range(lo, hi + 1):
                acked[k] = now_ms
    return acked


def latency_figures(prefix, acked, landed):
    """p50/p99/max of landed[k] - acked[k] (ms) over the steady rows that landed."""
    lat = sorted(landed[k] - acked[k] for k in acked if k in landed)
    figure(f"{prefix}steady_rows_measured", len(lat))
    if lat:
        figure(f"{prefix}latency_p50_ms", round(statistics.median(lat), 2))
        figure(f"{prefix}latency_p99_ms", round(lat[int(len(lat) * 0.99) - 1], 2))
        figure(f"{prefix}latency_max_ms", round(lat[-1], 2))


class DatahubEmulator:
    """The tests' DataHub emulator as a process (drills' datahub-emulator): its endpoint, and
    the (key, system time) of each record of a topic."""

    def __init__(self, project):
        self.proc = subprocess.Popen([os.path.join(TOOLS, "datahub-emulator"), project], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.endpoint = self.proc.stdout.readline().strip()

    def times(self, topic):
        self.proc.stdin.write(f"count {topic}\n")
        self.proc.stdin.flush()
        out = {}
        for line in self.proc.stdout:
            if line.strip() == "end":
                return out
            key, ms = line.split()
            if key != "-":
                out.setdefault(int(key), int(ms))
        return out

    def close(self):
        self.proc.kill()
        self.proc.wait()


def rocketmq_times(topic, count, timeout=120):
    """(key, store time) of the first `count` messages of a RocketMQ topic (drills' rocketmq-read)."""
    out = subprocess.run([os.path.join(TOOLS, "rocketmq-read"), os.environ["ROCKETMQ"], topic, str(count),
                          str(timeout)], check=True, capture_output=True, text=True).stdout
    times = {}
    for line in out.splitlines():
        key, ms = line.split()
        if key != "-":
            times.setdefault(int(key), int(ms))
    return times


def message_targets(nodes, file, pos, conn):
    """RocketMQ and DataHub (the tests' emulator, TUPLE records): a project each reads the same
    binlog from the start; rows/s from start to the checkpoint covering every row and Ferry's
    CPU per 1M rows, then a steady load's commit-to-destination latency (the broker's store time,
    the emulator's system time)."""
    with conn.cursor() as c:
        c.execute(f"SELECT COUNT(*), MAX(id) FROM {DB}.sbtest")
        rows, top = c.fetchone()
    url = nodes[0].url
    for name in MSG_TARGETS:
        emulator = None
        if name == "rocketmq":
            api(url, "POST", "/datasources", {"name": "to_rocketmq", "type": "rocketmq",
                                              "name_server": os.environ["ROCKETMQ"]})
            topic = f"bench{RUN}rmq_sbtest"
        else:
            emulator = DatahubEmulator("bench")
            api(url, "POST", "/datasources", {"name": "to_datahub", "type": "datahub", "endpoint": emulator.endpoint,
                                              "project": "bench", "access_id": "ferry-emulator-id",
                                              "access_key": "ferry-emulator-secret-key"})
            topic = f"bench{RUN}dh_sbtest"
        project = f"mq_{name}"
        api(url, "POST", "/projects", {"name": project, "source": "maria", "destination": f"to_{name}",
                                       "objects": [{"database": DB, "topic": topic.replace("_sbtest", ".{table}")}],
                                       "format": FORMAT, "partition": "hash", "start": {"file": file, "pos": pos},
                                       "options": {"topic_partitions": PARTITIONS}})
        wall, cpu, url = run_to_checkpoint(nodes, url, project, rows, 900)
        if wall is not None:
            figure(f"{name}_rows", rows)
            figure(f"{name}_rows_per_sec (start to checkpoint, API)", round(rows / max(wall, 1e-3)))
            figure(f"{name}_cpu_seconds_per_1m_rows (ferry)", round(cpu * 1_000_000 / rows, 2))
            total = RATE * SECONDS
            acked = steady_load(conn, top + 1, total)
            rows += total
            deadline = time.time() + 60
            while api(url, "GET", f"/projects/{project}")["rows"] < rows and time.time() < deadline:
                time.sleep(0.2)
            landed = emulator.times(topic) if emulator else rocketmq_times(topic, rows)
            latency_figures(f"{name}_", acked, landed)
            top += total
        api(url, "POST", f"/projects/{project}/stop", {})
        if emulator:
            emulator.close()


def big_transaction(data, conn):
    """One transaction of BIG_TX_ROWS rows, synced by a fresh node of its own: its peak RSS
    (memory is bounded by bytes, not by transaction size) and how long it took."""
    if BIG_TX_ROWS <= 0:
        return
    with conn.cursor() as c:
        c.execute(f"CREATE TABLE {DB}.bigtx (id BIGINT PRIMARY KEY, k INT, c CHAR(60))")
        c.execute("SHOW MASTER STATUS")
        file, pos = c.fetchone()[:2]
        log(f"one transaction of {BIG_TX_ROWS} rows into {DB}.bigtx ...")
        c.execute(f"INSERT INTO {DB}.bigtx SELECT seq, seq % 1000, CONCAT('row-', seq) FROM {DB}.seq_1_to_{BIG_TX_ROWS}")
    proc = subprocess.Popen([os.environ["FERRY_BIN"], "node", "--data-dir", f"{data}/bignode", "--http",
                             "127.0.0.1:18992", "--admin-token", TOKEN, "--key-file", f"{data}/bigkey"],
                            stderr=open(f"{data}/nodebig.log", "w"))
    node = Node("big", proc, "http://127.0.0.1:18992")
    try:
        wait_healthy(node, data)
        url = node.url
        api(url, "POST", "/datasources", {"name": "maria", "type": "mysql", "host": "127.0.0.1", "port": MYSQL_PORT,
                                          "user": os.environ["FERRY_MYSQL_USER"],
                                          "password": os.environ["FERRY_MYSQL_PASSWORD"]})
        api(url, "POST", "/datasources", {"name": "kafka", "type": "kafka", "bootstrap_servers": KAFKA})
        api(url, "POST", "/projects", {"name": "bigtx", "source": "maria", "destination": "kafka",
                                       "objects": [{"database": DB, "tables": ["bigtx"],
                                                    "topic": f"bigtx{RUN}.{{table}}"}],
                                       "format": FORMAT, "partition": "hash", "start": {"file": file, "pos": pos},
                                       "options": {"topic_partitions": PARTITIONS}})
        t0 = time.time()
        api(url, "POST", "/projects/bigtx/start", {})
        while True:
            p = api(url, "GET", "/projects/bigtx")
            if p["state"] == "failed" or time.time() > t0 + 600:
                log(f"big-transaction run did not finish: {p.get('error') or p['state']}")
                return
            if p["rows"] >= BIG_TX_ROWS:
                break
            time.sleep(0.1)
        wall = time.time() - t0
        figure("big_tx_rows (one transaction)", BIG_TX_ROWS)
        figure("big_tx_seconds (start to checkpoint)", round(wall, 1))
        figure("big_tx_peak_rss_mb", round(proc_peak_rss_mb(proc.pid), 1))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    parser = argparse.ArgumentParser(description="Ferry benchmark: see scripts/bench.sh")
    parser.add_argument("--nodes", type=int, default=1, choices=range(1, 10), metavar="N",
                        help="run the project on an N-node cluster (1-9, default 1)")
    count = parser.parse_args().nodes
    conn = sql()
    with conn.cursor() as c:
        c.execute(f"CREATE DATABASE {DB}")
        c.execute(f"CREATE TABLE {DB}.sbtest (id BIGINT PRIMARY KEY, k INT, c CHAR(120), pad CHAR(60))")
        c.execute("SHOW MASTER STATUS")
        file, pos = c.fetchone()[:2]
    log(f"loading {ROWS} rows into {DB}.sbtest ...")
    t0 = time.time()
    load(conn, 1, ROWS)
    log(f"loaded in {time.time() - t0:.1f} s")

    data = tempfile.mkdtemp(prefix="ferry-bench-")
    nodes = []
    try:
        start_nodes(count, data, nodes)
        # Everything goes through node 1 until the project is placed, then through the node that
        # runs it (as with one node, whose API shares the process with the project).
        url = nodes[0].url
        api(url, "POST", "/datasources", {"name": "maria", "type": "mysql", "host": "127.0.0.1", "port": MYSQL_PORT,
                                          "user": os.environ["FERRY_MYSQL_USER"],
                                          "password": os.environ["FERRY_MYSQL_PASSWORD"]})
        api(url, "POST", "/datasources", {"name": "kafka", "type": "kafka", "bootstrap_servers": KAFKA})
        api(url, "POST", "/projects", {"name": "bench", "source": "maria", "destination": "kafka",
                                       "objects": [{"database": DB, "topic": f"bench{RUN}.{{table}}"}],
                                       "format": FORMAT, "partition": "hash", "start": {"file": file, "pos": pos},
                                       "options": {"topic_partitions": PARTITIONS}})
        cpu0 = {n.id: proc_cpu_seconds(n.proc.pid) for n in nodes}
        t0 = time.time()
        api(url, "POST", "/projects/bench/start", {})
        placed = None  # (node, epoch) where the project first ran
        store_wall = None  # when the store had read every row (the pull rate alone)
        while True:
            p = api(url, "GET", "/projects/bench")
            if p["state"] == "failed":
                raise SystemExit(f"project failed: {p['error']}")
            if placed is None and p.get("node"):
                placed = (p["node"], p["epoch"])
                url = nodes[p["node"] - 1].url
            if store_wall is None and (p.get("rows_read") or 0) >= ROWS:
                store_wall = time.time() - t0
            if p["rows"] >= ROWS:
                break
            time.sleep(0.05)
        wall = time.time() - t0
        cpu = {n.id: proc_cpu_seconds(n.proc.pid) - cpu0[n.id] for n in nodes}
        rss = {n.id: proc_peak_rss_mb(n.proc.pid) for n in nodes}
        runs = (p["node"], p["epoch"])
        if placed is not None and placed != runs:
            log(f"warning: the project moved during catch-up: node {placed[0]} epoch {placed[1]} -> "
                f"node {runs[0]} epoch {runs[1]}; the per-node figures are those of node {runs[0]}")
        mine = runs[0] or 1
        reader = Reader()
        while reader.count < ROWS:
            if not reader.thread.is_alive():
                raise SystemExit("the Kafka reader stopped (see above)")
            time.sleep(0.2)
        stamps = sorted(reader.times.values())
        span = (stamps[-1] - stamps[0]) / 1000 if len(stamps) > 1 else wall
        figure("nodes", count)
        if count > 1:
            figure("project_node (runs the project; the per-node figures are its own)", mine)
        figure("catchup_rows", ROWS)
        figure("catchup_rows_per_sec (first to last Kafka timestamp)", round(ROWS / max(span, 1e-3)))
        figure("catchup_rows_per_sec (start to checkpoint, API)", round(ROWS / wall))
        if store_wall is not None:
            figure("store_pull_rows_per_sec (start to the store having read every row, API)",
                   round(ROWS / max(store_wall, 1e-3)))
        figure("catchup_cpu_seconds", round(cpu[mine], 2))
        figure("cpu_seconds_per_1m_rows", round(cpu[mine] * 1_000_000 / ROWS, 2))
        figure("peak_rss_mb", round(rss[mine], 1))
        if count > 1:
            figure(f"catchup_cpu_seconds_all_{count}_nodes", round(sum(cpu.values()), 2))
            figure(f"cpu_seconds_per_1m_rows_all_{count}_nodes", round(sum(cpu.values()) * 1_000_000 / ROWS, 2))
            figure(f"peak_rss_mb_all_{count}_nodes (sum of each node's peak)", round(sum(rss.values()), 1))

        # Steady load: RATE rows/s in 100-row autocommit inserts; the commit ack time per row.
        total = RATE * SECONDS
        acked = steady_load(conn, ROWS + 1, total)
        deadline = time.time() + 60
        while reader.count < ROWS + total and time.time() < deadline and reader.thread.is_alive():
            time.sleep(0.2)
        reader.stop = True
        figure("steady_rows_per_sec", RATE)
        latency_figures("", acked, reader.times)
        figure("peak_rss_mb_after_steady", round(proc_peak_rss_mb(nodes[mine - 1].proc.pid), 1))
        if count > 1:
            figure(f"peak_rss_mb_after_steady_all_{count}_nodes (sum of each node's peak)",
                   round(sum(proc_peak_rss_mb(n.proc.pid) for n in nodes), 1))
            p = api(url, "GET", "/projects/bench")
            if (p["node"], p["epoch"]) != runs:
                log(f"warning: the project moved during the steady load: node {runs[0]} epoch {runs[1]} -> "
                    f"node {p['node']} epoch {p['epoch']}")
        store_only(nodes, file, pos, conn)
        full_sync(nodes, conn)
        database_targets(nodes, file, pos, conn)
        message_targets(nodes, file, pos, conn)
        if count > 1:
            connector_apart(nodes, file, pos, conn)
    finally:
        for n in nodes:
            n.proc.send_signal(signal.SIGTERM)
        for n in nodes:
            try:
                n.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                log(f"node {n.id} still running 30 s after SIGTERM; killing it")
                n.proc.kill()
                n.proc.wait()
        try:
            big_transaction(data, conn)
        finally:
            with conn.cursor() as c:
                c.execute(f"DROP DATABASE {DB}")
        if os.environ.get("BENCH_KEEP"):
            log(f"kept the nodes' data and logs in {data}")
        else:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
