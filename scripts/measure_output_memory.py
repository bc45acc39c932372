#!/usr/bin/env python3
"""agent-svc's memory while GET /v1/commands/{id}/output streams a large stream (issue 13).

A throwaway Postgres cluster, agent-svc and one node-agent (the binaries in BIN_DIR, default
.build/debug); the node runs `head -c SIZE /dev/urandom`; once it is stored, the raw output is
downloaded with curl (rate-limited, so the transfer lasts long enough to sample) while
agent-svc's VmRSS is read from /proc every 100 ms. Prints the RSS before, the peak during and
the bytes/sha256 check; asserts nothing about time.

    python3 scripts/measure_output_memory.py [--mib 200] [--rate 40M]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "lib"))
from fleet_harness import REPO, Fleet, PostgresCluster, wait_until  # noqa: E402


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=200, help="output size in MiB (default 200)")
    parser.add_argument("--rate", default="40M", help="curl --limit-rate for the download (default 40M)")
    args = parser.parse_args()
    bin_dir = Path(os.environ.get("BIN_DIR", REPO / ".build" / "debug"))
    size = args.mib * 1024 * 1024

    root = Path(tempfile.mkdtemp(prefix="fleet-output-mem-"))
    root.chmod(0o755)
    cluster = PostgresCluster(root / "pg")
    cluster.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "JWT_", "FLEET_", "AGENT_", "NODE_"))}
    fleet = Fleet(root, {"agent-svc": bin_dir / "agent-svc", "node-agent": bin_dir / "node-agent"}, cluster,
                  cluster.create_database("measure"), base_env=env, log_level="notice", operator_name="measure")
    try:
        fleet.svc.start()
        fleet.start_agent("edge-1")
        cli_env = dict(env, FLEET_TOKEN=fleet.operator_token, AGENT_SVC_URL=fleet.svc.url)
        started = time.monotonic()
        command_id = subprocess.run(
            [str(bin_dir / "fleet"), "run", "--targets", "edge-1", "--detach", "--timeout", "3600", "--",
             "head", "-c", str(size), "/dev/urandom"], env=cli_env, capture_output=True, text=True, check=True).stdout.strip()
        url = f"{fleet.svc.url}/v1/commands/{command_id}/output?node_id=edge-1&stream=stdout"
        headers = {"Authorization": f"Bearer {fleet.operator_token}"}
        import requests

        def complete():
            detail = requests.get(f"{fleet.svc.url}/v1/commands/{command_id}", headers=headers, timeout=10).json()
            invocation = detail["invocations"][0]
            if invocation["state"] not in ("queued", "delivered", "running", "succeeded"):
                raise SystemExit(f"the command ended {invocation['state']}: {invocation.get('reason')}")
            return invocation["state"] == "succeeded" and invocation["stdout_bytes"] == invocation.get("stdout_total")
        wait_until(complete, 1800, "the output to be stored", interval=1)
        print(f"stored {args.mib} MiB in {time.monotonic() - started:.1f} s (debug binaries)")

        pid = fleet.svc.pid
        time.sleep(1)
        before = rss_kib(pid)
        peak = before
        samples = []
        done = threading.Event()

        def sample():
            nonlocal peak
            while not done.is_set():
                value = rss_kib(pid)
                samples.append(value)
                peak = max(peak, value)
                time.sleep(0.1)
        sampler = threading.Thread(target=sample)
        sampler.start()
        out = root / "out.bin"
        began = time.monotonic()
        subprocess.run(["curl", "-sS", "--fail", "--limit-rate", args.rate, "-H", f"Authorization: Bearer {fleet.operator_token}",
                        "-o", str(out), url], check=True)
        took = time.monotonic() - began
        done.set()
        sampler.join()
        after = rss_kib(pid)
        got = out.stat().st_size
        digest = hashlib.sha256(out.read_bytes()).hexdigest()
        print(f"downloaded {got} bytes in {took:.1f} s ({got / took / 1e6:.1f} MB/s, curl --limit-rate {args.rate})")
        print(f"agent-svc VmRSS: before {before / 1024:.1f} MiB, peak during {peak / 1024:.1f} MiB "
              f"(+{(peak - before) / 1024:.1f} MiB), after {after / 1024:.1f} MiB; {len(samples)} samples")
        ok = got == size
        print(f"size {'ok' if ok else 'WRONG'} ({got} of {size}); sha256 {digest[:16]}…")
        return 0 if ok else 1
    finally:
        fleet.teardown()
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
