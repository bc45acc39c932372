"""Fixtures: one private Postgres cluster per session, a fresh database, agent-svc and
node-agents per test. Every process is killed at teardown, also when the test failed."""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from harness import (
    REPO, AgentService, Api, NodeAgentProcess, clean_environment, free_port, kill_tagged, tail,
)

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
    """Private copies of the debug binaries: a concurrent `swift build` may replace the
    originals, and must not be blocked by them being executed."""
    source = Path(os.environ.get("E2E_BIN_DIR", REPO / ".build" / "debug"))
    target = e2e_root / "bin"
    target.mkdir()
    copies = {}
    for name in ("agent-svc", "node-agent"):
        original = source / name
        if not original.exists():
            pytest.exit(f"{original} is missing: run scripts/e2e.sh (it builds the binaries)", returncode=2)
        shutil.copy2(original, target / name)
        copies[name] = target / name
    return copies


@pytest.fixture(scope="session")
def pg_cluster(e2e_root):
    """A throwaway Postgres cluster (scripts/lib/postgres.sh) on a free port."""
    directory = e2e_root / "pg"
    helper = REPO / "scripts" / "lib" / "postgres.sh"
    script = '. "$1" && pg_start "$2" && echo "PGPORT=$PGPORT"'
    result = subprocess.run(
        ["bash", "-c", script, "_", str(helper), str(directory)], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        pytest.exit(f"could not start Postgres:\n{result.stdout}\n{result.stderr}", returncode=2)
    port = int([line for line in result.stdout.splitlines() if line.startswith("PGPORT=")][-1].split("=", 1)[1])
    yield {"host": "127.0.0.1", "port": port, "dir": directory}
    subprocess.run(["bash", "-c", '. "$1" && pg_stop "$2"', "_", str(helper), str(directory)], timeout=60)


_database_numbers = itertools.count(1)
_test_numbers = itertools.count(1)


def create_database(cluster: dict) -> str:
    name = f"e2e_{next(_database_numbers)}_{uuid.uuid4().hex[:6]}"
    subprocess.run(
        ["psql", "-h", cluster["host"], "-p", str(cluster["port"]), "-U", "postgres", "-v", "ON_ERROR_STOP=1",
         "-qc", f"CREATE DATABASE {name}"],
        check=True, capture_output=True, timeout=60)
    return name


@pytest.fixture(autouse=True)
def per_test_timeout():
    """Fails a test that overruns; the fixtures' finalizers still clean up."""
    def expired(signum, frame):
        raise E2ETimeout(f"test exceeded {TEST_TIMEOUT_SEC} s")
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TEST_TIMEOUT_SEC)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


class Fleet:
    """One test's world: a database, agent-svc, and the node-agents the test starts."""

    def __init__(self, directory: Path, binaries: dict, cluster: dict, tag: str):
        self.dir = directory
        self.binaries = binaries
        self.tag = tag
        self.secret = secrets.token_hex(32)
        self.enrollment_token = secrets.token_hex(16)
        self.database = create_database(cluster)
        self.base_env = clean_environment(tag)
        self.svc_env = dict(
            self.base_env,
            JWT_SIGNING_SECRET=self.secret, ENROLLMENT_TOKEN=self.enrollment_token,
            DB_HOST=cluster["host"], DB_PORT=str(cluster["port"]), DB_USER="postgres", DB_NAME=self.database,
            PORT=str(free_port()), HOST="127.0.0.1", MIGRATIONS_DIR=str(REPO / "migrations"), LOG_LEVEL=LOG_LEVEL)
        self.svc = AgentService(binaries["agent-svc"], self.svc_env, int(self.svc_env["PORT"]), directory / "agent-svc.log")
        self.agents: dict[str, NodeAgentProcess] = {}
        self.operator_token = self._operator_token()
        self.api = Api(self.svc.url, self.operator_token)

    def _operator_token(self) -> str:
        result = subprocess.run(
            [str(self.binaries["agent-svc"]), "operator-token", "--name", "e2e-operator"],
            env=self.svc_env, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, f"operator-token failed: {result.stderr}"
        return result.stdout.strip()

    def start_agent(self, node_id: str, attrs: str = "role=e2e", **extra_env: str) -> NodeAgentProcess:
        state_dir = self.dir / f"state-{node_id}"
        state_dir.mkdir(exist_ok=True)
        env = dict(
            self.base_env, AGENT_SVC_URL=self.svc.url, ENROLLMENT_TOKEN=self.enrollment_token, NODE_ID=node_id,
            NODE_ATTRS=attrs, STATE_DIR=str(state_dir), LOG_LEVEL=LOG_LEVEL)
        env.update(extra_env)
        agent = NodeAgentProcess(self.binaries["node-agent"], env, node_id, state_dir, self.dir / f"node-agent-{node_id}.log")
        self.agents[node_id] = agent
        agent.start()
        return agent

    def log_files(self) -> list[Path]:
        return [self.svc.log_path] + [agent.log_path for agent in self.agents.values()]

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
        for agent in self.agents.values():
            agent.cleanup()
        # Commands that outlived a kill -9 of their agent carry the tag in their environment.
        kill_tagged(self.tag)
        self.svc.cleanup()


@pytest.fixture
def fleet(request, e2e_root, binaries, pg_cluster):
    """A fresh database and a running agent-svc; start agents with fleet.start_agent(id)."""
    directory = e2e_root / "tests" / request.node.name
    directory.mkdir(parents=True)
    # Per-test tag, prefixed by the session's so a final sweep finds everything.
    tag = f"{SESSION_TAG}-t{next(_test_numbers)}-"
    world = Fleet(directory, binaries, pg_cluster, tag)
    request.node.fleet_logs = world.log_files
    try:
        world.svc.start()
        yield world
    finally:
        world.teardown()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the tail of every process log to the report."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and hasattr(item, "fleet_logs"):
        for path in item.fleet_logs():
            if path.exists():
                report.sections.append((f"log {path.name}", tail(path.read_text(errors="replace"), 80)))
