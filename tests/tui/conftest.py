"""Fixtures for driving the real fleet-tui in tmux against a real agent-svc and node-agent.

Everything runs in a temp dir on free ports: a private Postgres cluster (scripts/lib/postgres.sh),
agent-svc, one node-agent, and fleet-tui inside its own tmux server. Every wait is bounded and
everything is stopped at the end, also when a test fails. The processes, the cluster and the
fleet come from tests/lib/fleet_harness.py (shared with tests/e2e).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))  # fleet_harness, shared with tests/e2e

from fleet_harness import REPO, Fleet, PostgresCluster, tail  # noqa: E402
from tmux_console import NODE_ID, Console  # noqa: E402


def bin_dir():
    if os.environ.get("FLEET_BIN"):
        return os.environ["FLEET_BIN"]
    for product in ("agent-svc", "node-agent", "fleet-tui"):
        subprocess.run(["swift", "build", "--product", product], cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL, timeout=1800)
    return subprocess.run(["swift", "build", "--show-bin-path"], cwd=REPO, check=True, text=True,
                          capture_output=True, timeout=120).stdout.strip()


class ConsoleFleet(Fleet):
    """The fleet the console talks to: database `fleet`, agent-svc, and (once started) one node."""

    def __init__(self, directory: Path, binaries: dict[str, Path], cluster: PostgresCluster):
        super().__init__(directory, binaries, cluster, cluster.create_database("fleet"),
                         base_env=dict(os.environ), log_level="info", operator_name="tui-e2e")

    def api(self, path):
        req = urllib.request.Request(self.svc.url + path, headers={"Authorization": f"Bearer {self.operator_token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    def logs(self):
        return "\n".join(f"--- {path.name}\n" + tail(path.read_text(errors="replace"), 30)
                         for path in self.log_files() if path.exists())

    def teardown(self):
        """SIGTERM, the node first; SIGKILL whatever has not exited after 15 s."""
        for process in [*self.agents.values(), self.svc]:
            if process.running:
                process.terminate(timeout=15)


@pytest.fixture(scope="module")
def fleet():
    folder = Path(bin_dir())
    binaries = {name: folder / name for name in ("agent-svc", "node-agent", "fleet-tui")}
    directory = Path(tempfile.mkdtemp(prefix="fleet-tui-e2e-"))
    directory.chmod(0o755)  # the postgres user must reach the cluster dir when we are root
    cluster = PostgresCluster(directory / "pg")
    world = None
    try:
        cluster.start()
        world = ConsoleFleet(directory, binaries, cluster)
        world.svc.start(timeout=60)
        world.add_agent(NODE_ID, attrs="region=eu-west,role=e2e").spawn()
        yield world
    except Exception:
        if world is not None:
            print(world.logs())
        raise
    finally:
        try:
            if world is not None:
                world.teardown()
            cluster.stop()
        finally:
            shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def console(fleet):
    c = Console(fleet)
    try:
        yield c
    finally:
        c.close()
