#!/usr/bin/env python3
"""Fan-out benchmark for agent-svc: one `true` to many nodes, and the single-node round trip.

Modes (scripts/bench-fanout.sh drives them; figures are printed, nothing is asserted):

  bench_fanout.py run URL OPERATOR --nodes N --selector S [--rounds R] [--latency K --latency-node ID]
                      [--svc-pids P,P] [--idle SECONDS]
      The operator's side: waits until N nodes matching S are online, measures the round trip
      to one node K times, then R fan-outs (submit -> every invocation `succeeded` visible),
      with the server CPU (agent-svc pids + every postgres process) each one cost.

  bench_fanout.py simulate URL ENROLLMENT --nodes N [--prefix P] [--attrs k=v]
      A load generator speaking the node protocol: registers N nodes, holds one long-poll per
      node on its own keep-alive connection, and answers each assignment like an agent running
      `true` (`running`, then `succeeded` with exit 0). Prints `ready N` once every poll is held.

Uses uvloop when it is installed (the generator then costs a third of the CPU).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import time
import urllib.parse

try:
    import uvloop  # type: ignore
except ImportError:  # pragma: no cover - optional speed-up
    uvloop = None

HZ = os.sysconf("SC_CLK_TCK")


class Conn:
    """One keep-alive HTTP/1.1 connection with Content-Length bodies (what agent-svc answers)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 22)
        head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {len(body)}\r\n"
        if body:
            head += "Content-Type: application/json\r\n"
        for key, value in (headers or {}).items():
            head += f"{key}: {value}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readline()
        if not status_line:
            self.close()
            raise ConnectionError(f"{method} {path}: connection closed")
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        payload = await self.reader.readexactly(length) if length else b""
        return status, payload

    async def json(self, method: str, path: str, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else b""
        status, payload = await self.request(method, path, data, headers)
        if status >= 300:
            raise RuntimeError(f"{method} {path}: {status} {payload[:300]!r}")
        return json.loads(payload) if payload else None

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def host_port(url: str) -> tuple[str, int]:
    parsed = urllib.parse.urlparse(url)
    return parsed.hostname, parsed.port or 80


# ---- the simulated fleet -------------------------------------------------------------------


async def simulated_node(url, enrollment, node_id, attrs, counters, registered, stop):
    host, port = host_port(url)
    conn = Conn(host, port)
    async with registered["gate"]:
        answer = await conn.json("POST", "/v1/agents/register", {"node_id": node_id, "attrs": attrs},
                                 {"X-Enrollment-Token": enrollment})
    auth = {"Authorization": f"Bearer {answer['token']}"}
    registered["count"] += 1
    poll = json.dumps({"wait_sec": 25, "active": []}).encode()
    first = True
    while not stop.is_set():
        if first:
            counters["held"] += 1
            first = False
        status, payload = await conn.request("POST", "/v1/agents/poll", poll, auth)
        counters["polls"] += 1
        if status != 200:
            counters["errors"] += 1
            await asyncio.sleep(1)
            continue
        answer = json.loads(payload)
        for assignment in answer["assignments"]:
            command_id = assignment["command_id"]
            for report in ({"command_id": command_id, "state": "running"},
                           {"command_id": command_id, "state": "succeeded", "exit_code": 0,
                            "stdout_bytes": 0, "stderr_bytes": 0}):
                status, _ = await conn.request("POST", "/v1/agents/status", json.dumps(report).encode(), auth)
                counters["reports"] += 1
                if status != 200:
                    counters["errors"] += 1
            counters["assignments"] += 1


async def simulate(args):
    counters = {"held": 0, "polls": 0, "reports": 0, "assignments": 0, "errors": 0}
    registered = {"count": 0, "gate": asyncio.Semaphore(64)}
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    attrs = dict(pair.split("=", 1) for pair in args.attrs.split(",") if pair)
    tasks = [asyncio.create_task(simulated_node(args.url, args.enrollment, f"{args.prefix}-{i:05d}", attrs, counters,
                                                registered, stop)) for i in range(args.nodes)]
    while counters["held"] < args.nodes:
        done = [t for t in tasks if t.done()]
        for t in done:
            if t.exception():
                print(f"simulated node failed: {t.exception()!r}", file=sys.stderr, flush=True)
                os._exit(1)
        await asyncio.sleep(0.1)
    print(f"ready {args.nodes}", flush=True)
    await stop.wait()
    print(f"simulator: {counters}", file=sys.stderr, flush=True)
    os._exit(0)  # held polls need not be answered


# ---- the operator's side -------------------------------------------------------------------


def ticks_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def postgres_ticks() -> int:
    """CPU of every process owned by the postgres user (the cluster's backends and workers)."""
    import pwd
    try:
        uid = pwd.getpwnam("postgres").pw_uid
    except KeyError:
        uid = os.getuid()
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid != uid:
                continue
            with open(f"/proc/{entry}/comm") as f:
                if not f.read().startswith("postgres"):
                    continue
            total += ticks_of(int(entry))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


class CPUMeter:
    def __init__(self, svc_pids: list[int]):
        self.svc_pids = svc_pids

    def sample(self) -> tuple[int, int]:
        return sum(ticks_of(p) for p in self.svc_pids), postgres_ticks()


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def spread(values: list[float], unit: str, digits: int = 1) -> str:
    values = sorted(values)
    return (f"median {statistics.median(values):.{digits}f} {unit} (min {values[0]:.{digits}f}, "
            f"max {values[-1]:.{digits}f}, n={len(values)})")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


async def wait_online(op: Conn, auth, selector: str, count: int, timeout: float):
    deadline = time.monotonic() + timeout
    query = urllib.parse.urlencode({"selector": selector, "limit": 1000})
    while True:
        online, cursor = 0, None
        while True:
            page = await op.json("GET", f"/v1/agents?{query}" + (f"&cursor={cursor}" if cursor else ""), headers=auth)
            online += sum(1 for node in page["nodes"] if node.get("online"))
            cursor = page.get("next_cursor")
            if not cursor:
                break
        if online >= count:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"only {online} of {count} nodes online after {timeout:.0f} s")
        await asyncio.sleep(0.5)


async def submit(op: Conn, auth, body) -> str:
    return (await op.json("POST", "/v1/commands/submit", body, auth))["command_id"]


async def round_trip(op: Conn, auth, node: str) -> float:
    """Submit `true` to one node, then long-poll its log page until the invocation is complete."""
    start = time.perf_counter()
    command_id = await submit(op, auth, {"command_type": "RunCommand", "targets": [node],
                                         "payload": {"cmd": "true", "timeout_sec": 30}})
    cursor = ""
    while True:
        page = await op.json("GET", f"/v1/commands/{command_id}/logs?node_id={node}&wait=10"
                                    + (f"&cursor={cursor}" if cursor else ""), headers=auth)
        if page["complete"]:
            return (time.perf_counter() - start) * 1000
        cursor = page["next_cursor"]


async def fan_out(op: Conn, auth, selector: str, count: int, interval: float) -> tuple[float, dict]:
    start = time.perf_counter()
    command_id = await submit(op, auth, {"command_type": "RunCommand", "selector": selector,
                                         "payload": {"cmd": "true", "timeout_sec": 60}})
    while True:
        detail = await op.json("GET", f"/v1/commands/{command_id}?limit=1", headers=auth)
        counts = detail["command"]["counts"]
        finished = sum(counts.get(k, 0) for k in ("succeeded", "failed", "timed_out", "cancelled", "expired", "lost"))
        if finished >= count:
            elapsed = time.perf_counter() - start
            if counts.get("succeeded", 0) != count:
                raise SystemExit(f"fan-out ended with {counts}")
            return elapsed, counts
        await asyncio.sleep(interval)


async def operate(args):
    host, port = host_port(args.url)
    op = Conn(host, port)
    auth = {"Authorization": f"Bearer {args.operator}"}
    meter = CPUMeter([int(p) for p in args.svc_pids.split(",") if p])
    await wait_online(op, auth, args.selector, args.nodes, timeout=args.online_timeout)
    print(f"{args.nodes} nodes online ({args.label})", flush=True)

    if args.latency:
        samples = []
        for _ in range(3):
            await round_trip(op, auth, args.latency_node)  # warm-up
        for _ in range(args.latency):
            samples.append(await round_trip(op, auth, args.latency_node))
        print(f"round trip `true` to 1 node, submit -> complete visible: p50 {percentile(samples, 0.5):.1f} ms, "
              f"p99 {percentile(samples, 0.99):.1f} ms (min {min(samples):.1f}, max {max(samples):.1f}, "
              f"n={len(samples)}) [{args.label}]", flush=True)

    durations, per_invocation_ms, svc_shares = [], [], []
    interval = 0.005 if args.nodes <= 500 else 0.05
    for _ in range(args.rounds):
        svc0, pg0 = meter.sample()
        elapsed, _ = await fan_out(op, auth, args.selector, args.nodes, interval)
        svc1, pg1 = meter.sample()
        cpu_s = ((svc1 - svc0) + (pg1 - pg0)) / HZ
        durations.append(elapsed * 1000)
        per_invocation_ms.append(cpu_s * 1000 / args.nodes)
        svc_shares.append((svc1 - svc0) / max(1, (svc1 - svc0) + (pg1 - pg0)))
        print(f"  fan-out {elapsed * 1000:.0f} ms; server CPU {cpu_s:.2f} s (agent-svc {svc1 - svc0} ticks, "
              f"postgres {pg1 - pg0} ticks)", flush=True)
        await asyncio.sleep(args.pause)
    if durations:
        print(f"fan-out `true` to {args.nodes} nodes, submit -> all succeeded visible: {spread(durations, 'ms', 0)} "
              f"[{args.label}]", flush=True)
        print(f"server CPU per invocation (agent-svc + postgres): {spread(per_invocation_ms, 'ms', 3)}; "
              f"agent-svc's share {statistics.median(svc_shares) * 100:.0f} % [{args.label}]", flush=True)

    if args.idle:
        svc0, pg0 = meter.sample()
        await asyncio.sleep(args.idle)
        svc1, pg1 = meter.sample()
        svc_pct = (svc1 - svc0) / HZ / args.idle * 100
        pg_pct = (pg1 - pg0) / HZ / args.idle * 100
        rss = ", ".join(f"{rss_mb(p):.0f} MB" for p in meter.svc_pids)
        print(f"{args.nodes} idle long-polling nodes over {args.idle} s: agent-svc {svc_pct:.1f} % of a core, "
              f"postgres {pg_pct:.1f} %; agent-svc RSS {rss} [{args.label}]", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    run = sub.add_parser("run")
    run.add_argument("url")
    run.add_argument("operator")
    run.add_argument("--nodes", type=int, required=True)
    run.add_argument("--selector", required=True)
    run.add_argument("--rounds", type=int, default=10)
    run.add_argument("--latency", type=int, default=0, help="round trips to one node")
    run.add_argument("--latency-node")
    run.add_argument("--svc-pids", default="")
    run.add_argument("--idle", type=int, default=0, help="seconds of idle CPU measurement after the rounds")
    run.add_argument("--pause", type=float, default=0.5, help="seconds between fan-outs")
    run.add_argument("--online-timeout", type=float, default=300)
    run.add_argument("--label", default="fleet")
    sim = sub.add_parser("simulate")
    sim.add_argument("url")
    sim.add_argument("enrollment")
    sim.add_argument("--nodes", type=int, required=True)
    sim.add_argument("--prefix", default="sim")
    sim.add_argument("--attrs", default="bench=sim")
    args = parser.parse_args()
    if uvloop is not None:
        uvloop.install()
    asyncio.run(operate(args) if args.mode == "run" else simulate(args))


if __name__ == "__main__":
    main()
