"""Fixtures: one private Postgres cluster per session, a fresh database, agent-svc and
node-agents per test. Every process is killed at teardown, also when the test failed."""

from __future__ import annotations

import itertools
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))  # fleet_harness, shared with tests/tui

from fleet_harness import (  # noqa: E402
    REPO, Fleet, PostgresCluster, attach_logs_on_failure, hard_timeout, private_binaries, session_cluster,
)
from harness import Api, clean_environment, kill_tagged  # noqa: E402

# Hard limit per test (the tests themselves aim for well under it).
TEST_TIMEOUT_SEC = int(os.environ.get("E2E_TEST_TIMEOUT", "90"))
LOG_LEVEL = os.environ.get("E2E_LOG_LEVEL", "info")
SESSION_TAG = f"fleet-e2e-{uuid.uuid4().hex[:12]}"


class E2ETimeout(Exception):
    pass


@pytest.fixture(scope="session")
def e2e_root():
    """A private directory for the session; the postgres user must be able to reach it."""
    root = Path(tempfile.mkdtemp(prefix="fleet-e2e-"))
    root.chmod(0o755)
    yield root
    kill_tagged(SESSION_TAG)
    if os.environ.get("E2E_KEEP_DIR") != "1":
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"\ne2e: kept {root}")


@pytest.fixture(scope="session")
def binaries(e2e_root):
    source = Path(os.environ.get("E2E_BIN_DIR", REPO / ".build" / "debug"))
    return private_binaries(source, e2e_root / "bin", ("agent-svc", "node-agent"), "run scripts/e2e.sh (it builds the binaries)")


@pytest.fixture(scope="session")
def pg_cluster(e2e_root):
    """A throwaway Postgres cluster (scripts/lib/postgres.sh) on a free port."""
    yield from session_cluster(e2e_root / "pg")


_database_numbers = itertools.count(1)
_test_numbers = itertools.count(1)


def database_name() -> str:
    return f"e2e_{next(_database_numbers)}_{uuid.uuid4().hex[:6]}"


@pytest.fixture(autouse=True)
def per_test_timeout():
    """Fails a test that overruns; the fixtures' finalizers still clean up."""
    yield from hard_timeout(TEST_TIMEOUT_SEC, E2ETimeout)


class E2EFleet(Fleet):
    """One test's world: a database, agent-svc, and the node-agents the test starts; every
    process carries the test's tag, and no secret may reach a log."""

    def __init__(self, directory: Path, binaries: dict, cluster: PostgresCluster, tag: str):
        super().__init__(directory, binaries, cluster, cluster.create_database(database_name()),
                         base_env=clean_environment(tag), log_level=LOG_LEVEL, operator_name="e2e-operator")
        self.tag = tag
        self.api = Api(self.svc.url, self.operator_token)

    def secrets_to_hide(self) -> dict[str, str]:
        found = {
            "JWT signing secret": self.secret,
            "enrollment token": self.enrollment_token,
            "operator token": self.operator_token,
            "operator token signature": self.operator_token.rsplit(".", 1)[-1],
        }
        for node_id, agent in self.agents.items():
            if agent.identity_path.exists():
                token = agent.identity()["token"]
                found[f"node token of {node_id}"] = token
                found[f"node token signature of {node_id}"] = token.rsplit(".", 1)[-1]
        return found

    def assert_no_secrets_logged(self) -> None:
        """No token or secret in anything agent-svc or node-agent wrote to its output."""
        leaks = []
        for path in self.log_files():
            if not path.exists():
                continue
            text = path.read_text(errors="replace")
            for what, value in self.secrets_to_hide().items():
                if value and value in text:
                    line = next(l for l in text.splitlines() if value in l)
                    # Show where, with the (throwaway) value itself marked rather than printed.
                    at = line.index(value)
                    excerpt = line[max(0, at - 200):at] + f"<<{what.upper()}>>" + line[at + len(value):at + len(value) + 80]
                    leaks.append(f"{what} in {path.name}: …{excerpt}…")
        assert not leaks, "secrets written to logs:\n" + "\n".join(leaks)

    def teardown(self) -> None:
        self.api.close()
        super().teardown()
        # Commands that outlived a kill -9 of their agent carry the tag in their environment.
        kill_tagged(self.tag)


@pytest.fixture
def fleet(request, e2e_root, binaries, pg_cluster):
    """A fresh database and a running agent-svc; start agents with fleet.start_agent(id)."""
    directory = e2e_root / "tests" / request.node.name
    directory.mkdir(parents=True)
    # Per-test tag, prefixed by the session's so a final sweep finds everything.
    tag = f"{SESSION_TAG}-t{next(_test_numbers)}-"
    world = E2EFleet(directory, binaries, pg_cluster, tag)
    request.node.fleet_logs = world.log_files
    try:
        world.svc.start()
        yield world
    finally:
        world.teardown()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the tail of every process log to the report."""
    attach_logs_on_failure(item, (yield))
