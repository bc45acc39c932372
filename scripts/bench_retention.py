#!/usr/bin/env python3
"""Retention benchmark: does the sweeper, deleting a large backlog of old output, stall live ingest?

scripts/bench-retention.sh owns Postgres and agent-svc and runs the phases in order:
  seed --gib N      old output, straight into the database with SQL (~1 GiB per statement)
  baseline URL ENROLLMENT OPERATOR --state F   a node with a running invocation; uploads while
                    the backlog is there but not due (agent-svc runs with a long retention)
  sweep URL --state F --since T   agent-svc started at T with LOG_RETENTION_DAYS=30: uploads
                    while the sweeper drains the backlog, then while autovacuum cleans up
Postgres through psql (PGHOST/PGPORT/PGUSER from scripts/lib/postgres.sh), database fleet.
"""
import argparse, hashlib, json, random, statistics, struct, subprocess, threading, time, uuid

import requests

CHUNK = 64 * 1024
PER_INVOCATION = 256  # chunks: 16 MiB of output per old invocation
OLD_NODES = 16
BLOCKS = 8  # distinct chunk contents, so that a chunk stored at the wrong offset shows
GIB = 1 << 30
STALL_MS = 100.0
OLD = "finished_at < now() - interval '30 days'"


def block(i: int) -> bytes:
    return random.Random(f"bench-retention-{i}").randbytes(CHUNK)


def psql(sql: str) -> str:
    # Statements on stdin run one by one in autocommit, as VACUUM and CHECKPOINT need.
    out = subprocess.run(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", "-F", "\t", "-d", "fleet"],
                         input=sql, text=True, capture_output=True)
    if out.returncode:
        raise SystemExit(f"psql failed: {out.stderr.strip()}")
    return out.stdout.strip()


SEED_SETUP = """
INSERT INTO nodes (node_id, attrs, registered_at, last_seen_at)
SELECT format('old-%s', n), '{{"bench": "retention"}}', now() - interval '400 days', now() - interval '40 days'
FROM generate_series(0, {nodes} - 1) n;
CREATE UNLOGGED TABLE bench_seed_blocks (n int PRIMARY KEY, data bytea NOT NULL);
INSERT INTO bench_seed_blocks VALUES {values};
-- Oldest first, a minute apart, all 40+ days ago: the sweep walks them in this order.
CREATE UNLOGGED TABLE bench_seed_invocations AS
SELECT k, md5('bench-retention-' || (k / {nodes}))::uuid AS command_id, format('old-%s', k % {nodes}) AS node_id,
       now() - interval '40 days' - make_interval(mins => {invocations} - k) AS finished_at
FROM generate_series(0, {invocations} - 1) k;
INSERT INTO commands (command_id, command_type, payload, created_by, created_at, target_count)
SELECT command_id, 'RunCommand', '{{"cmd": "cat /var/log/big.log", "timeout_sec": 3600}}', 'operator:bench',
       min(finished_at) - interval '10 minutes', count(*)
FROM bench_seed_invocations GROUP BY command_id;
INSERT INTO invocations (command_id, node_id, state, created_at, deliver_by, delivered_at, delivery_count, started_at,
                         finished_at, exit_code, stdout_stored, stderr_stored, stdout_total, stderr_total)
SELECT command_id, node_id, 'succeeded', finished_at - interval '10 minutes', finished_at + interval '50 minutes',
       finished_at - interval '9 minutes', 1, finished_at - interval '9 minutes', finished_at, 0,
       {per} * {chunk}, 0, {per} * {chunk}, 0
FROM bench_seed_invocations;
"""

# As LogChunkStore.write stores them: one row per chunk, stdout, contiguous offsets, arrival order.
SEED_CHUNKS = """
INSERT INTO log_chunks (command_id, node_id, stream, byte_offset, data, received_at)
SELECT i.command_id, i.node_id, 1, c * {chunk}, b.data, i.finished_at - interval '1 minute' + make_interval(secs => c * 0.1)
FROM bench_seed_invocations i CROSS JOIN generate_series(0, {per} - 1) c
JOIN bench_seed_blocks b ON b.n = (i.k + c) % {blocks}
WHERE i.k >= {lo} AND i.k < {hi} ORDER BY i.k, c;
"""


def seed(args):
    invocations = max(1, round(args.gib * GIB / (PER_INVOCATION * CHUNK)))
    step = max(1, GIB // (PER_INVOCATION * CHUNK))
    blocks = ", ".join(f"({i}, '\\x{block(i).hex()}')" for i in range(BLOCKS))
    fmt = dict(nodes=OLD_NODES, invocations=invocations, per=PER_INVOCATION, chunk=CHUNK, blocks=BLOCKS)
    start = time.monotonic()
    psql(SEED_SETUP.format(**fmt, values=blocks))
    for lo in range(0, invocations, step):
        hi = min(invocations, lo + step)
        psql(SEED_CHUNKS.format(**fmt, lo=lo, hi=hi))
        print(f"  seeded {hi * PER_INVOCATION * CHUNK / GIB:.2f} GiB ({time.monotonic() - start:.0f} s)", flush=True)
    seeded = time.monotonic() - start
    psql("DROP TABLE bench_seed_blocks, bench_seed_invocations;")
    # A 40-day-old backlog has long been vacuumed: do that now, not in the middle of the sweep.
    start = time.monotonic()
    psql("VACUUM (ANALYZE) log_chunks; CHECKPOINT;")
    size, gib = int(psql("SELECT pg_total_relation_size('log_chunks')")), invocations * PER_INVOCATION * CHUNK / GIB
    print(f"seeded {invocations} invocations x {PER_INVOCATION} chunks of 64 KiB = {gib:.2f} GiB in {seeded:.1f} s "
          f"({gib / seeded:.2f} GiB/s); pg_total_relation_size(log_chunks) {size / GIB:.2f} GiB; "
          f"VACUUM ANALYZE + CHECKPOINT {time.monotonic() - start:.1f} s", flush=True)


class LiveNode:
    """A node uploading one invocation's stdout: 64 KiB binary batches, one request at a time."""

    def __init__(self, url: str, state: dict):
        self.url, self.state = url, state
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {state['token']}",
                                     "Content-Type": "application/octet-stream"})
        self.head = b"FLB1" + uuid.UUID(state["command_id"]).bytes + struct.pack(">I", 1)
        self.tails = [block(100 + i)[8:] for i in range(BLOCKS)]

    def chunk(self, offset: int) -> bytes:
        # Its own offset first, so that every chunk differs and a misplaced one is caught.
        return struct.pack(">Q", offset) + self.tails[(offset // CHUNK) % BLOCKS]

    def ingest(self, until, into: dict | None = None) -> dict:
        """Uploads until until(); each request's wall-clock start and latency (ms), into `into` as they come."""
        phase = into if into is not None else {}
        walls, latencies = phase.setdefault("walls", []), phase.setdefault("latencies", [])
        errors, first_error, started = 0, None, time.time()
        while not until():
            offset = self.state["offset"]
            body = self.head + struct.pack(">BQI", 1, offset, CHUNK) + self.chunk(offset)
            wall, t = time.time(), time.perf_counter()
            try:
                response = self.session.post(f"{self.url}/v1/commands/logs", data=body, timeout=60)
                ok = response.status_code == 200 and response.json()["stdout_bytes"] == offset + CHUNK
                problem = None if ok else f"{response.status_code} {response.text[:200]}"
            except requests.RequestException as error:
                problem = repr(error)
            latencies.append((time.perf_counter() - t) * 1000)
            walls.append(wall)
            if problem is None:
                self.state["offset"] = offset + CHUNK
            elif (errors := errors + 1) >= 100:
                raise SystemExit(f"ingest keeps failing: {first_error or problem}")
            else:
                first_error = first_error or problem
                time.sleep(0.05)  # then send the same chunk again (a replay is acknowledged)
        phase.update(seconds=time.time() - started, errors=errors, first_error=first_error)
        return phase


def post(url: str, body: dict, headers: dict) -> dict:
    response = requests.post(url, json=body, headers=headers, timeout=30)
    response.raise_for_status()
    return response.json()


def setup_node(url: str, enrollment: str, operator: str) -> dict:
    node_id = f"live-{uuid.uuid4().hex[:8]}"
    token = post(f"{url}/v1/agents/register", {"node_id": node_id, "attrs": {"bench": "live"}},
                 {"X-Enrollment-Token": enrollment})["token"]
    command_id = post(f"{url}/v1/commands/submit", {"command_type": "RunCommand", "targets": [node_id], "payload":
                      {"cmd": "tail -f /var/log/app.log", "timeout_sec": 86400}},
                      {"Authorization": f"Bearer {operator}"})["command_id"]
    node = {"Authorization": f"Bearer {token}"}
    for _ in range(30):  # the claim: a poll hands it out, the node says it runs
        poll = post(f"{url}/v1/agents/poll", {"wait_sec": 1, "active": []}, node)
        if any(a["command_id"].lower() == command_id.lower() for a in poll["assignments"]):
            break
    else:
        raise SystemExit("the live command was never assigned")
    post(f"{url}/v1/agents/status", {"command_id": command_id, "state": "running"}, node)
    return {"node_id": node_id, "token": token, "command_id": command_id, "offset": 0, "phases": {}}


def baseline(args):
    state = setup_node(args.url, args.enrollment, args.operator)
    node = LiveNode(args.url, state)
    warm_until = time.monotonic() + 1
    node.ingest(lambda: time.monotonic() > warm_until)  # warm-up: connection, statements, caches
    end = time.monotonic() + args.seconds
    state["phases"]["baseline"] = node.ingest(lambda: time.monotonic() > end)
    print(f"live node {state['node_id']} running {state['command_id']}; baseline: "
          f"{len(state['phases']['baseline']['latencies'])} uploads in {args.seconds} s", flush=True)
    with open(args.state, "w") as f:
        json.dump(state, f)


def watch() -> dict:
    """Old chunks left, old bytes seeded; is autovacuum due on log_chunks' TOAST, is it on either now."""
    row = psql(f"""SELECT (SELECT count(*) FROM log_chunks c JOIN invocations i USING (command_id, node_id) WHERE i.{OLD}),
        (SELECT coalesce(sum(stdout_stored), 0) FROM invocations WHERE {OLD}),
        (SELECT (s.n_dead_tup > 50 + current_setting('autovacuum_vacuum_scale_factor')::float8
                 * greatest(x.reltuples, 0))::int FROM pg_stat_all_tables s JOIN pg_class x ON x.oid = s.relid
         WHERE s.relid = t.reltoastrelid),
        (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'
            AND (query LIKE '%log_chunks%' OR query LIKE '%' || t.reltoastrelid::regclass::text || '%'))
        FROM pg_class t WHERE t.oid = 'log_chunks'::regclass""")
    left, seeded, toast_due, vacuuming = map(int, row.split("\t"))
    return {"left": left, "seeded": seeded, "toast_due": toast_due > 0, "vacuuming": vacuuming > 0}


def ingest_while(node: LiveNode, busy, deadline: float, since: float) -> dict:
    """Uploads in a thread while busy(watch()) holds (asked once a second) and deadline is ahead;
    the phase also keeps the wall-clock seconds an autovacuum worker was seen on log_chunks."""
    phase, stop = {"walls": [], "latencies": [], "vacuum_seen": []}, threading.Event()

    def run():
        try:
            node.ingest(stop.is_set, phase)
        except BaseException as error:  # SystemExit in a thread ends only the thread
            phase["fatal"] = str(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    last_print, now = time.time(), {}
    while worker.is_alive() and busy(now := watch()) and time.time() < deadline:
        phase["last"] = now
        if now["vacuuming"]:
            phase["vacuum_seen"].append(time.time() - since)
        if time.time() - last_print >= 10:
            last_print, lat = time.time(), phase["latencies"][:]
            print(f"  {time.time() - since:5.0f} s: {now['left'] * CHUNK / GIB:.2f} GiB left, autovacuum "
                  f"{'busy' if now['vacuuming'] else 'idle'}; ingest {len(lat)} req, max {max(lat, default=0):.0f} ms, "
                  f"{sum(v > STALL_MS for v in lat)} over {STALL_MS:.0f} ms", flush=True)
        time.sleep(1)
    phase["last"] = now
    stop.set()
    worker.join()
    if "fatal" in phase:
        raise SystemExit(phase["fatal"])
    return phase


def summary(label: str, phase: dict) -> str:
    lat = phase["latencies"]
    if not lat:
        return f"  {label:<22} no requests"
    slow, p99 = sum(1 for v in lat if v > STALL_MS), sorted(lat)[round(0.99 * (len(lat) - 1))]
    return (f"  {label:<22} {len(lat):>7} req {len(lat) * CHUNK / 1e6 / phase['seconds']:>7.1f} MB/s  "
            f"p50 {statistics.median(lat):6.2f}  p99 {p99:7.2f}  max {max(lat):7.1f} ms  >{STALL_MS:.0f} ms: {slow}" + (f"  errors {phase['errors']}" if phase["errors"] else ""))


def check_bytes(state: dict) -> str:
    where = f"command_id = '{state['command_id']}' AND node_id = '{state['node_id']}'"
    digests = ", ".join(f"'{hashlib.md5(block(100 + i)[8:]).hexdigest()}'" for i in range(BLOCKS))
    row = psql(f"""SELECT count(*), coalesce(sum(length(data)), 0),
        count(*) FILTER (WHERE byte_offset <> (n - 1) * {CHUNK} OR length(data) <> {CHUNK}
                         OR substr(data, 1, 8) <> int8send(byte_offset)
                         OR md5(substr(data, 9)) <> (ARRAY[{digests}])[(byte_offset / {CHUNK}) % {BLOCKS} + 1]),
        (SELECT stdout_stored FROM invocations WHERE {where})
        FROM (SELECT byte_offset, data, row_number() OVER (ORDER BY byte_offset) AS n
              FROM log_chunks WHERE {where} AND stream = 1) c""")
    chunks, size, bad, stored = map(int, row.split("\t"))
    sent = state["offset"]
    exact = chunks == sent // CHUNK and size == sent and bad == 0 and stored == sent
    return (f"live output byte-exact: {'yes' if exact else 'NO'} (sent {sent / 1e6:.1f} MB in {sent // CHUNK} chunks; "
            f"stored {size / 1e6:.1f} MB in {chunks} chunks, {bad} wrong, stdout_stored {stored})")


def sweep(args):
    with open(args.state) as f:
        state = json.load(f)
    node = LiveNode(args.url, state)
    # Started with agent-svc, not after it: the sweeper begins at once, and ingest should too.
    while True:
        try:
            if requests.get(f"{args.url}/readyz", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        if time.time() > args.since + 120:
            raise SystemExit("agent-svc did not become ready in 120 s")
        time.sleep(0.01)
    first = watch()
    print(f"sweep: {first['seeded'] / GIB:.2f} GiB of old output, {first['left'] * CHUNK / GIB:.2f} GiB left when "
          f"ingest started ({time.time() - args.since:.1f} s after agent-svc was launched)", flush=True)
    during = ingest_while(node, lambda w: w["left"] > 0, args.since + args.timeout, args.since)
    left, seeded = during["last"]["left"], first["seeded"]
    # The last batch stamps output_dropped_at: the sweep's end to the statement, not to the poll,
    # which saw it up to a second late (what ingest did meanwhile was not during the sweep).
    end = float(psql(f"SELECT extract(epoch FROM max(output_dropped_at)) FROM invocations WHERE {OLD}")) \
        if left == 0 else time.time()
    if left == 0 and during["walls"]:
        keep = sum(1 for wall in during["walls"] if wall < end)
        during["seconds"] = max(0.001, end - during["walls"][0])
        del during["walls"][keep:], during["latencies"][keep:]
    # The sweep leaves its dead tuples to autovacuum, part of the bill: ingest goes on for
    # --seconds and until autovacuum has cleaned log_chunks' TOAST table, --vacuum-wait at most.
    after_start = time.time()
    after = ingest_while(node, lambda w: time.time() < after_start + args.seconds or w["vacuuming"] or w["toast_due"],
                         after_start + args.seconds + args.vacuum_wait, args.since)

    deleted, duration = seeded - left * CHUNK, end - args.since
    print(f"sweep {'finished' if left == 0 else f'CUT OFF by the {args.timeout:.0f} s time box'}: "
          f"{deleted / GIB:.2f} GiB deleted in {duration:.1f} s ({deleted / GIB / duration:.2f} GiB/s, "
          f"from agent-svc's launch); {left * CHUNK / GIB:.2f} GiB left; autovacuum on log_chunks seen in "
          f"{len(during['vacuum_seen'])} of the once-a-second polls during it")
    seen = after["vacuum_seen"]
    print(f"after the sweep: {after['seconds']:.0f} s of ingest; autovacuum on log_chunks seen in {len(seen)} polls"
          + (f" ({seen[0]:.0f}..{seen[-1]:.0f} s after launch)" if seen else "")
          + ("; autovacuum NOT done with its TOAST table within --vacuum-wait"
             if after["last"]["toast_due"] or after["last"]["vacuuming"] else ""))
    print("live ingest, 64 KiB binary uploads back to back, one at a time (latency per request):")
    phases = (("baseline (not due)", state["phases"]["baseline"]), ("during the sweep", during),
              ("after, to autovacuum", after))
    for label, phase in phases:
        print(summary(label, phase))
    print("slowest requests (seconds since agent-svc's launch; baseline: since its start):")
    for label, phase in phases:
        zero = args.since if phase is not phases[0][1] else (phase["walls"] or [0])[0]
        slowest = sorted(zip(phase["latencies"], phase["walls"]), reverse=True)[:6]
        print(f"  {label:<21} " + ", ".join(f"{ms:.0f} ms at {wall - zero:.1f} s" for ms, wall in slowest))
        if phase.get("first_error"):
            print(f"  {'':<21} first error: {phase['first_error']}")
    print("now: " + psql("""SELECT string_agg(format('%s %s dead tuples, %s autovacuums', relname, n_dead_tup,
        autovacuum_count), '; ') || format('; pg_total_relation_size(log_chunks) %s GiB (freed space is reused)',
        round(pg_total_relation_size('log_chunks') / 2^30.0, 2)) FROM pg_stat_all_tables WHERE relid IN
        ('log_chunks'::regclass, (SELECT reltoastrelid FROM pg_class WHERE oid = 'log_chunks'::regclass))"""))
    print(check_bytes(state), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("seed")
    p.add_argument("--gib", type=float, default=10)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state", required=True)
    common.add_argument("--seconds", type=float, default=10, help="of ingest (after the sweep: at least)")
    p = sub.add_parser("baseline", parents=[common])
    for name in ("url", "enrollment", "operator"):
        p.add_argument(name)
    p = sub.add_parser("sweep", parents=[common])
    p.add_argument("url")
    p.add_argument("--since", type=float, required=True, help="epoch seconds agent-svc was launched at")
    p.add_argument("--timeout", type=float, default=900, help="time box of the sweep")
    p.add_argument("--vacuum-wait", type=float, default=120, help="then at most this long for autovacuum")
    args = parser.parse_args()
    try:
        {"seed": seed, "baseline": baseline, "sweep": sweep}[args.mode](args)
    except KeyboardInterrupt:
        raise SystemExit(130)  # the wrapper's trap cleans up; no traceback


if __name__ == "__main__":
    main()
