#!/usr/bin/env python3
"""Benchmarks agent-svc over loopback HTTP: submit -> long-poll latency and log ingest throughput.

Usage: bench_service.py URL ENROLLMENT_TOKEN OPERATOR_TOKEN [--submits N] [--ingest-mib M]
Prints figures; asserts nothing (targets live in the issue notes, not in tests).
"""
import argparse, base64, http.client, json, os, statistics, threading, time, urllib.parse, uuid


class Client:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, url, token=None):
        parsed = urllib.parse.urlparse(url)
        self.conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        self.token = token

    def call(self, method, path, body=None, headers=None):
        all_headers = {"Content-Type": "application/json"}
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        all_headers.update(headers or {})
        data = body if isinstance(body, (bytes, bytearray)) else (json.dumps(body).encode() if body is not None else None)
        self.conn.request(method, path, body=data, headers=all_headers)
        response = self.conn.getresponse()
        payload = response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {payload[:200]!r}")
        return json.loads(payload) if payload else None


def register(url, enrollment, node_id):
    return Client(url).call("POST", "/v1/agents/register", {"node_id": node_id, "attrs": {"bench": "1"}},
                            {"X-Enrollment-Token": enrollment})["token"]


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def bench_latency(url, enrollment, operator, submits):
    node_id = f"bench-lat-{uuid.uuid4().hex[:8]}"
    node = Client(url, register(url, enrollment, node_id))
    op = Client(url, operator)
    received = {}
    polling = threading.Event()
    got = threading.Event()
    stop = False

    def poller():
        while not stop:
            polling.set()
            result = node.call("POST", "/v1/agents/poll", {"wait_sec": 25})
            now = time.perf_counter()
            for assignment in result["assignments"]:
                received[assignment["command_id"].lower()] = now
                if assignment["command_id"].lower() in received:
                    got.set()

    thread = threading.Thread(target=poller, daemon=True)
    thread.start()
    latencies = []
    body = {"command_type": "RunCommand", "targets": [node_id], "payload": {"cmd": "true", "timeout_sec": 10}}
    for _ in range(submits):
        polling.wait()
        polling.clear()
        time.sleep(0.003)  # let the poll reach the server and subscribe
        got.clear()
        start = time.perf_counter()
        command_id = op.call("POST", "/v1/commands/submit", body)["command_id"].lower()
        while command_id not in received:
            got.wait(5)
            got.clear()
        latencies.append((received[command_id] - start) * 1000)
    stop = True
    return latencies


def bench_ingest(url, enrollment, operator, total_mib, chunk_kib=64, per_request=16):
    node_id = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    node = Client(url, register(url, enrollment, node_id))
    op = Client(url, operator)
    body = {"command_type": "RunCommand", "targets": [node_id], "payload": {"cmd": "bench", "timeout_sec": 3600}}
    command_id = op.call("POST", "/v1/commands/submit", body)["command_id"]
    node.call("POST", "/v1/agents/poll", {"wait_sec": 0})
    chunk_bytes = chunk_kib * 1024
    # Text output (base64 of random bytes, like `head -c N /dev/urandom | base64`), sent as utf8.
    raw = base64.b64encode(os.urandom(chunk_bytes))[:chunk_bytes].decode()
    total = total_mib * 1024 * 1024
    offset = 0
    chunks = 0
    start = time.perf_counter()
    while offset < total:
        batch = []
        for _ in range(per_request):
            if offset >= total:
                break
            batch.append({"offset": offset, "stream": "stdout", "data": raw})
            offset += chunk_bytes
        request = json.dumps({"command_id": command_id, "chunks": batch}).encode()
        node.call("POST", "/v1/commands/logs", request)
        chunks += len(batch)
    elapsed = time.perf_counter() - start
    node.call("POST", "/v1/agents/status", {"command_id": command_id, "state": "succeeded", "exit_code": 0,
                                            "stdout_bytes": offset, "stderr_bytes": 0})
    return offset, chunks, elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("enrollment")
    parser.add_argument("operator")
    parser.add_argument("--submits", type=int, default=1000)
    parser.add_argument("--ingest-mib", type=int, default=512)
    parser.add_argument("--streams", type=int, default=1, help="concurrent uploading invocations (one process each)")
    args = parser.parse_args()

    latencies = bench_latency(args.url, args.enrollment, args.operator, min(50, args.submits))  # warm-up
    latencies = bench_latency(args.url, args.enrollment, args.operator, args.submits)
    print(f"submit -> long-poll return over {len(latencies)} submits: "
          f"p50 {statistics.median(latencies):.2f} ms, p90 {percentile(latencies, 0.90):.2f} ms, "
          f"p99 {percentile(latencies, 0.99):.2f} ms, max {max(latencies):.2f} ms")

    bench_ingest(args.url, args.enrollment, args.operator, 32)  # warm-up
    from multiprocessing import Pool
    per_stream = args.ingest_mib // args.streams
    start = time.perf_counter()
    with Pool(args.streams) as pool:
        results = pool.starmap(bench_ingest, [(args.url, args.enrollment, args.operator, per_stream)] * args.streams)
    elapsed = time.perf_counter() - start
    size = sum(r[0] for r in results)
    chunks = sum(r[1] for r in results)
    print(f"log ingest ({args.streams} stream{'s' if args.streams > 1 else ''}): {size / 1e6:.0f} MB in {chunks} chunks "
          f"of 64 KiB (16 per request) in {elapsed:.2f} s: {size / 1e6 / elapsed:.1f} MB/s, {chunks / elapsed:.0f} chunks/s")


if __name__ == "__main__":
    main()
