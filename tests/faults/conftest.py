"""Fixtures of the fault drills: the e2e suite's pattern (one Postgres cluster per session, a
fresh database and agent-svc per test, every process killed at teardown) plus the faults'
own needs: a small tmpfs, a network namespace with an impaired link, a restartable cluster."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

_TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_TESTS / "lib"))  # fleet_harness, shared with tests/e2e and tests/tui
sys.path.insert(0, str(_TESTS / "e2e"))  # harness: the operator client and the process sweep

from fleet_harness import (  # noqa: E402
    REPO, AgentService, Fleet, PostgresCluster, attach_logs_on_failure, free_port, hard_timeout, private_binaries,
    session_cluster,
)
from harness import Api, clean_environment, kill_tagged  # noqa: E402

TEST_TIMEOUT_SEC = int(os.environ.get("FAULTS_TEST_TIMEOUT", "150"))
LOG_LEVEL = os.environ.get("FAULTS_LOG_LEVEL", "info")
SESSION_TAG = f"fleet-faults-{uuid.uuid4().hex[:12]}"


class FaultTimeout(Exception):
    pass


def report(capsys, message: str) -> None:
    """A measured figure: printed whatever pytest captures, so CI logs show the recovery times."""
    with capsys.disabled():
        print(f"\nfaults: {message}", flush=True)


@pytest.fixture(scope="session")
def faults_root():
    root = Path(tempfile.mkdtemp(prefix="fleet-faults-"))
    root.chmod(0o755)  # the postgres user must reach its cluster below
    yield root
    kill_tagged(SESSION_TAG)
    if os.environ.get("FAULTS_KEEP_DIR") != "1":
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"\nfaults: kept {root}")


@pytest.fixture(scope="session")
def binaries(faults_root):
    source = Path(os.environ.get("FAULTS_BIN_DIR", REPO / ".build" / "debug"))
    return private_binaries(source, faults_root / "bin", ("agent-svc", "node-agent"), "build the products first (scripts/faults.sh does)")


@pytest.fixture(scope="session")
def pg_cluster(faults_root):
    """A throwaway Postgres cluster (scripts/lib/postgres.sh) on a free port."""
    yield from session_cluster(faults_root / "pg")


_database_numbers = itertools.count(1)
_test_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def per_test_timeout():
    """Fails a test that overruns; the fixtures' finalizers still clean up."""
    yield from hard_timeout(TEST_TIMEOUT_SEC, FaultTimeout)


class FaultFleet(Fleet):
    """One drill's world: a database, agent-svc (plus replicas on demand), node-agents."""

    def __init__(self, directory: Path, binaries: dict, cluster: PostgresCluster, tag: str, host: str = "127.0.0.1"):
        database = cluster.create_database(f"faults_{next(_database_numbers)}_{uuid.uuid4().hex[:6]}")
        # The shared test cluster runs with synchronous_commit=off (fast, but an immediate stop
        # then loses commits it already acknowledged). A drill that crashes Postgres must not
        # measure that: this database commits durably, as a real deployment does.
        subprocess.run(
            ["psql", "-h", cluster.host, "-p", str(cluster.port), "-U", "postgres", "-v", "ON_ERROR_STOP=1",
             "-qc", f"ALTER DATABASE {database} SET synchronous_commit = on"],
            check=True, capture_output=True, timeout=60)
        super().__init__(directory, binaries, cluster, database, base_env=clean_environment(tag), log_level=LOG_LEVEL,
                         operator_name="faults-operator")
        self.tag = tag
        self.cluster = cluster
        self.replicas: list[AgentService] = []
        self.set_host(host)
        self.api = Api(self.svc.url, self.operator_token)

    def set_host(self, host: str) -> None:
        """Serve on `host` (a link test's own address) instead of loopback."""
        self.svc_env["HOST"] = host
        self.svc.url = f"http://{host}:{self.svc.port}"

    def start_replica(self) -> AgentService:
        """Another agent-svc on the same database, secret and enrollment token."""
        env = dict(self.svc_env, PORT=str(free_port()))
        replica = AgentService(self.binaries["agent-svc"], env, int(env["PORT"]),
                               self.dir / f"agent-svc-{len(self.replicas) + 2}.log")
        replica.url = f"http://{env['HOST']}:{replica.port}"
        replica.name = f"agent-svc-{len(self.replicas) + 2}"
        self.replicas.append(replica)
        replica.start()
        return replica

    def log_files(self) -> list[Path]:
        return super().log_files() + [r.log_path for r in self.replicas]

    def teardown(self) -> None:
        self.api.close()
        for replica in self.replicas:
            replica.cleanup()
        super().teardown()
        kill_tagged(self.tag)


@pytest.fixture
def make_fleet(request, faults_root, binaries, pg_cluster):
    """Builds a fleet (agent-svc started) on `host`; torn down after the test."""
    made: list[FaultFleet] = []

    def make(host: str = "127.0.0.1") -> FaultFleet:
        directory = faults_root / "tests" / f"{request.node.name}-{len(made)}"
        directory.mkdir(parents=True)
        world = FaultFleet(directory, binaries, pg_cluster, f"{SESSION_TAG}-t{next(_test_numbers)}-", host=host)
        made.append(world)
        request.node.fleet_logs = lambda: [p for w in made for p in w.log_files()]
        world.svc.start()
        return world

    try:
        yield make
    finally:
        for world in made:
            world.teardown()


@pytest.fixture
def fleet(make_fleet):
    return make_fleet()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the tail of every process log to the report."""
    attach_logs_on_failure(item, (yield))
