"""Fixtures of the edge suite (hostile HTTP and schema fuzzing): the e2e pattern of one
Postgres cluster per session and a fresh database and agent-svc per test, every process
killed at teardown; no node-agent runs here."""

from __future__ import annotations

import itertools
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

_TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_TESTS / "lib"))  # fleet_harness, shared with tests/e2e and tests/faults
sys.path.insert(0, str(_TESTS / "e2e"))  # harness: the operator client and the process sweep

from fleet_harness import (  # noqa: E402
    REPO, Fleet, PostgresCluster, attach_logs_on_failure, hard_timeout, private_binaries, session_cluster,
)
from harness import Api, clean_environment, kill_tagged  # noqa: E402

TEST_TIMEOUT_SEC = int(os.environ.get("EDGE_TEST_TIMEOUT", "400"))
LOG_LEVEL = os.environ.get("EDGE_LOG_LEVEL", "info")
SESSION_TAG = f"fleet-edge-{uuid.uuid4().hex[:12]}"


class EdgeTimeout(Exception):
    pass


def report(capsys, message: str) -> None:
    """A measured figure, printed whatever pytest captures."""
    with capsys.disabled():
        print(f"\nedge: {message}", flush=True)


@pytest.fixture(scope="session")
def edge_root():
    root = Path(tempfile.mkdtemp(prefix="fleet-edge-"))
    root.chmod(0o755)  # the postgres user must reach its cluster below
    yield root
    kill_tagged(SESSION_TAG)
    if os.environ.get("EDGE_KEEP_DIR") != "1":
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"\nedge: kept {root}")


@pytest.fixture(scope="session")
def binaries(edge_root):
    source = Path(os.environ.get("EDGE_BIN_DIR", REPO / ".build" / "debug"))
    return private_binaries(source, edge_root / "bin", ("agent-svc",), "build agent-svc first (scripts/fuzz.sh does)")


@pytest.fixture(scope="session")
def pg_cluster(edge_root):
    yield from session_cluster(edge_root / "pg")


_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def per_test_timeout():
    yield from hard_timeout(TEST_TIMEOUT_SEC, EdgeTimeout)


class EdgeFleet(Fleet):
    def __init__(self, directory: Path, binaries: dict, cluster: PostgresCluster, tag: str, **env: str):
        number = next(_numbers)
        super().__init__(directory, binaries, cluster, cluster.create_database(f"edge_{number}_{uuid.uuid4().hex[:6]}"),
                         base_env=dict(clean_environment(tag), **env), log_level=LOG_LEVEL, operator_name="edge-operator")
        self.api = Api(self.svc.url, self.operator_token)

    def teardown(self) -> None:
        self.api.close()
        super().teardown()


@pytest.fixture
def make_fleet(request, edge_root, binaries, pg_cluster):
    """Starts agent-svc with extra environment; killed at teardown, its log attached on failure."""
    made: list[EdgeFleet] = []
    request.node.fleet_logs = lambda: [path for fleet in made for path in fleet.log_files()]

    def make(**env: str) -> EdgeFleet:
        directory = edge_root / f"t{next(_numbers)}"
        directory.mkdir()
        fleet = EdgeFleet(directory, binaries, pg_cluster, SESSION_TAG, **env)
        made.append(fleet)
        fleet.svc.start()
        return fleet

    yield make
    for fleet in made:
        fleet.teardown()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    attach_logs_on_failure(item, outcome)
