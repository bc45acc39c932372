"""Postgres restarted under a command that is streaming output: `-m fast` and `-m immediate`
(with 5 s down). Output must arrive byte-exact through the same agent-svc process."""

from __future__ import annotations

import subprocess
import time

import pytest

from conftest import report
from drills import lines_command, sha
from fleet_harness import wait_until


def pg_ctl(cluster, *args: str, timeout: float = 60) -> None:
    bindir = subprocess.run(["bash", "-c", f'. "$1" && pg_bindir', "_", "scripts/lib/postgres.sh"],
                            capture_output=True, text=True, cwd=str(cluster_repo())).stdout.strip()
    result = subprocess.run(["runuser", "-u", "postgres", "--", f"{bindir}/pg_ctl", "-D", str(cluster.dir / "data"), *args],
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"pg_ctl {' '.join(args)}: {result.stdout} {result.stderr}"


def cluster_repo():
    from fleet_harness import REPO
    return REPO


def start_options(cluster) -> str:
    # The options scripts/lib/postgres.sh starts it with (pg_ctl start does not remember them).
    return (f"-p {cluster.port} -k {cluster.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300")


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_restart_mid_stream(fleet, pg_cluster, mode, capsys):
    api = fleet.api
    fleet.start_agent("pg-node")
    svc_pid = fleet.svc.pid
    # setup: ~12 s of output
    cmd, expected = lines_command(240, 0.05)
    command = api.submit(["pg-node"], cmd, timeout_sec=120)
    api.wait_state(command, "pg-node", {"running"}, timeout=20)
    time.sleep(2)

    # act
    down = time.time()
    if mode == "fast":
        pg_ctl(pg_cluster, "-m", "fast", "-w", "restart", "-l", str(pg_cluster.dir / "server.log"))
    else:
        pg_ctl(pg_cluster, "-m", "immediate", "-w", "stop")
        time.sleep(5)
        pg_ctl(pg_cluster, "-w", "-t", "60", "-l", str(pg_cluster.dir / "server.log"), "-o", start_options(pg_cluster), "start")
    back = time.time()
    wait_until(lambda: api.get("/readyz").status_code == 200, 60, "agent-svc ready again after the restart")
    ready = time.time()
    read = api.read_logs(command, "pg-node", timeout=90)
    complete = time.time()
    final = api.wait_state(command, "pg-node", {"succeeded"}, timeout=30)

    # check
    report(capsys, f"postgres restart -m {mode}: down {back - down:.1f} s, agent-svc ready {ready - back:.1f} s after, "
                   f"output complete {complete - back:.1f} s after Postgres was back; {len(read.stdout)} bytes "
                   f"(sha {sha(read.stdout)}), same agent-svc process={fleet.svc.running and fleet.svc.pid == svc_pid}, "
                   f"delivery_count {final['delivery_count']}")
    assert read.problems() == []
    assert read.stdout == expected
    assert final["stdout_bytes"] == len(expected)
    assert fleet.svc.running and fleet.svc.pid == svc_pid
