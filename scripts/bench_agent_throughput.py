#!/usr/bin/env python3
"""Output throughput end to end, for the figures of scripts/bench-agent.sh.

For each run (base64 text, then raw random bytes) it submits `head -c N /dev/urandom [| base64] | tee FILE`
to one node and times until every byte is in Postgres (invocation terminal, stored bytes == reported
total), sampling the node-agent's RSS meanwhile; then reads the output back through the raw output
endpoint and the paged logs, and compares both with FILE byte for byte. Ends with the agent's RSS
60 s after the last run. With PERF_STOP_PIDS set, SIGINTs those perf recorders once the first
run's output is all in Postgres.

Usage: bench_agent_throughput.py URL TOKEN NODE AGENT_PID WORKDIR TEXT_BYTES BINARY_BYTES [SETTLE_S]
"""
import base64, hashlib, json, os, signal, subprocess, sys, threading, time, urllib.request

url, token, node, agent_pid, work, text_bytes, binary_bytes = sys.argv[1:8]
settle = float(sys.argv[8]) if len(sys.argv) > 8 else 60


def call(method, path, body=None):
    request = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)


def uploads():
    """Upload requests agent-svc stored so far (its /metrics), both body forms."""
    with urllib.request.urlopen(url + "/metrics", timeout=30) as response:
        text = response.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("fleet_log_uploads_total{"))


def rss_mb():
    with open(f"/proc/{agent_pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


class RSSSampler(threading.Thread):
    """The agent's peak RSS, sampled every 20 ms."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.running = 0.0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.02)


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def one_run(label, cmd_tail, size):
    tee = f"{work}/{label}.out"
    local_cmd = f"head -c {size} /dev/urandom {cmd_tail} > {work}/{label}.local"
    start = time.perf_counter(); subprocess.run(["sh", "-c", local_cmd], check=True); local_s = time.perf_counter() - start
    cmd = f"head -c {size} /dev/urandom {cmd_tail} | tee {tee}"
    sampler = RSSSampler(); sampler.start()
    uploads_before = uploads()
    start = time.perf_counter()
    command_id = call("POST", "/v1/commands/submit", {"command_type": "RunCommand", "targets": [node],
                                                      "payload": {"cmd": cmd, "timeout_sec": 3600}})["command_id"]
    while True:
        invocation = call("GET", f"/v1/commands/{command_id}")["invocations"][0]
        if invocation["state"] not in ("queued", "delivered", "running") and \
                invocation["stdout_bytes"] >= invocation.get("stdout_total", 0):
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    sampler.running = False; sampler.join()
    # perf (PERF_STOP_PIDS) profiles only the upload phase of the first run.
    for pid in os.environ.pop("PERF_STOP_PIDS", "").split():
        os.kill(int(pid), signal.SIGINT)
    stored = invocation["stdout_bytes"]
    print(f"{label}: {stored / 1e6:.0f} MB of output in Postgres {elapsed:.2f} s after submit: "
          f"{stored / 1e6 / elapsed:.1f} MB/s (state {invocation['state']}); the command alone takes {local_s:.2f} s; "
          f"node-agent peak RSS while streaming {sampler.peak:.1f} MB")
    batches = uploads() - uploads_before
    print(f"{label}: {batches:.0f} upload requests, {stored / max(batches, 1) / 1024:.0f} KiB each on average")
    expected = sha256_file(tee)

    # Raw output endpoint: one stream's bytes as they are stored.
    digest, read = hashlib.sha256(), 0
    start = time.perf_counter()
    request = urllib.request.Request(f"{url}/v1/commands/{command_id}/output?node_id={node}&stream=stdout",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=300) as response:
        while block := response.read(1 << 20):
            digest.update(block); read += len(block)
    raw_s = time.perf_counter() - start
    print(f"{label}: read back {read / 1e6:.0f} MB through /output in {raw_s:.2f} s ({read / 1e6 / raw_s:.1f} MB/s); "
          f"byte-exact: {'yes' if digest.hexdigest() == expected else 'NO'}")

    # Paged logs (JSON, base64 where not UTF-8), the reader of the console.
    digest, read, cursor = hashlib.sha256(), 0, ""
    start = time.perf_counter()
    while True:
        page = call("GET", f"/v1/commands/{command_id}/logs?node_id={node}&limit=1000&cursor={cursor}")
        for chunk in page["chunks"]:
            data = chunk["data"].encode() if chunk["encoding"] == "utf8" else base64.b64decode(chunk["data"])
            digest.update(data); read += len(data)
        cursor = page["next_cursor"]
        if page["complete"] and not page["chunks"]:
            break
    paged_s = time.perf_counter() - start
    print(f"{label}: read back {read / 1e6:.0f} MB through paged /logs in {paged_s:.2f} s ({read / 1e6 / paged_s:.1f} MB/s); "
          f"byte-exact: {'yes' if digest.hexdigest() == expected else 'NO'}")


one_run("base64-text", "| base64", int(text_bytes))
one_run("binary", "", int(binary_bytes))
print(f"node-agent RSS right after the runs: {rss_mb():.1f} MB")
time.sleep(settle)
print(f"node-agent RSS {settle:.0f} s after the runs: {rss_mb():.1f} MB")
