"""What every suite that runs the real binaries needs: free ports, bounded waits, a private
Postgres cluster, agent-svc and node-agent processes, and a `Fleet` that ties them together.

Used by tests/e2e (agent-svc + node-agent) and tests/tui (fleet-tui in tmux); each suite's
conftest.py puts this directory on sys.path. Every process is started in its own session (so
a whole process group can be killed) and writes its output to a log file; every wait is
bounded.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable

import requests

REPO = Path(__file__).resolve().parents[2]
POSTGRES_HELPER = REPO / "scripts" / "lib" / "postgres.sh"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WaitTimeout(AssertionError):
    pass


def wait_until(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.1):
    """Calls `predicate` until it returns something truthy; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last_error = None
        except (requests.RequestException, OSError, ValueError) as error:
            last_error = error
        if time.monotonic() >= deadline:
            extra = f" (last error: {last_error!r})" if last_error else ""
            raise WaitTimeout(f"timed out after {timeout:.0f} s waiting for {what}{extra}")
        time.sleep(interval)


def tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------------------------
# Postgres


class PostgresCluster:
    """A throwaway cluster in `directory` (scripts/lib/postgres.sh), on a port it picks."""

    host = "127.0.0.1"

    def __init__(self, directory: Path):
        self.dir = directory
        self.port = 0

    def _helper(self, script: str, timeout: float) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-c", f'. "$1" && {script}', "_", str(POSTGRES_HELPER), str(self.dir)],
            capture_output=True, text=True, timeout=timeout)

    def start(self) -> None:
        """Starts the cluster; raises RuntimeError with the helper's output if it cannot."""
        result = self._helper('pg_start "$2" && echo "PGPORT=$PGPORT"', timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"could not start Postgres:\n{result.stdout}\n{result.stderr}")
        self.port = int([line for line in result.stdout.splitlines() if line.startswith("PGPORT=")][-1].split("=", 1)[1])

    def stop(self) -> None:
        self._helper('pg_stop "$2"', timeout=60)

    def create_database(self, name: str) -> str:
        subprocess.run(
            ["psql", "-h", self.host, "-p", str(self.port), "-U", "postgres", "-v", "ON_ERROR_STOP=1",
             "-qc", f"CREATE DATABASE {name}"],
            check=True, capture_output=True, timeout=60)
        return name


def private_binaries(source: Path, target: Path, names: tuple[str, ...], missing_hint: str) -> dict[str, Path]:
    """Copies the binaries a suite runs into `target`: a concurrent `swift build` may replace
    the originals, and must not be blocked by them being executed. Ends the session with
    `missing_hint` when one is not built."""
    import pytest

    target.mkdir()
    copies = {}
    for name in names:
        original = source / name
        if not original.exists():
            pytest.exit(f"{original} is missing: {missing_hint}", returncode=2)
        shutil.copy2(original, target / name)
        copies[name] = target / name
    return copies


def session_cluster(directory: Path):
    """A session fixture's body: a started cluster, stopped when the session ends; a cluster
    that cannot start ends the session loudly (never a silent skip)."""
    import pytest

    cluster = PostgresCluster(directory)
    try:
        cluster.start()
    except RuntimeError as error:
        pytest.exit(str(error), returncode=2)
    yield cluster
    cluster.stop()


def hard_timeout(seconds: int, error: type[BaseException]):
    """An autouse fixture's body: `error` is raised in a test that runs past `seconds`."""
    def expired(signum, frame):
        raise error(f"test exceeded {seconds} s")
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def attach_logs_on_failure(item, outcome) -> None:
    """For a `pytest_runtest_makereport` hook wrapper: a failed test's report gets the tail of
    every log its fleet wrote (`item.fleet_logs`, set by the suite's fleet fixture)."""
    report = outcome.get_result()
    if report.when == "call" and report.failed and hasattr(item, "fleet_logs"):
        for path in item.fleet_logs():
            if path.exists():
                report.sections.append((f"log {path.name}", tail(path.read_text(errors="replace"), 80)))


# --------------------------------------------------------------------------------------------
# processes


class ManagedProcess:
    """A binary in its own session, its output appended to `log_path`."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path, cwd: Path = REPO):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def spawn(self) -> None:
        assert not self.running, f"{self.name} is already running"
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== e2e: start #{self.starts} of {self.name} at {time.strftime('%H:%M:%S')} =====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.argv, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal_group(self, sig: int) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self, sig: int = signal.SIGKILL, timeout: float = 15) -> int | None:
        """Sends `sig` to the process group and waits for the process to exit."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.signal_group(sig)
            if sig == signal.SIGKILL:
                self.signal_group(signal.SIGCONT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.proc.wait(timeout=10)
                raise AssertionError(f"{self.name} did not exit within {timeout} s of signal {sig}; killed it")
        return self.proc.returncode

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit in time; returns the exit status."""
        return self.kill(signal.SIGTERM, timeout=timeout)

    def terminate(self, timeout: float) -> tuple[int | None, float]:
        """SIGTERM and wait up to `timeout` s; SIGKILL if it is still running then.

        Returns (exit status, or None when it had to be killed; seconds waited)."""
        assert self.proc is not None and self.proc.poll() is None, f"{self.name} is not running"
        started = time.monotonic()
        self.signal_group(signal.SIGTERM)
        try:
            status = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
            return None, time.monotonic() - started
        return status, time.monotonic() - started

    def cleanup(self) -> None:
        """Teardown: whatever state it is in, the whole group dies."""
        if self.proc is None:
            return
        self.signal_group(signal.SIGKILL)
        self.signal_group(signal.SIGCONT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


class AgentService(ManagedProcess):
    """agent-svc on a fixed port and database; can be killed and restarted on both."""

    def __init__(self, binary: Path, env: dict[str, str], port: int, log_path: Path):
        super().__init__("agent-svc", [str(binary)], env, log_path)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def start(self, timeout: float = 40) -> None:
        self.spawn()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 40) -> None:
        def ready():
            if not self.running:
                raise AssertionError(
                    f"agent-svc exited with status {self.proc.returncode} during start-up:\n{tail(self.log_text())}")
            return requests.get(self.url + "/readyz", timeout=2).status_code == 200
        wait_until(ready, timeout, "agent-svc /readyz", interval=0.1)

    def pause(self) -> None:
        self.signal_group(signal.SIGSTOP)

    def resume(self) -> None:
        self.signal_group(signal.SIGCONT)


class NodeAgentProcess(ManagedProcess):
    def __init__(self, binary: Path, env: dict[str, str], node_id: str, state_dir: Path, log_path: Path):
        super().__init__(f"node-agent {node_id}", [str(binary)], env, log_path)
        self.node_id = node_id
        self.state_dir = state_dir

    @property
    def identity_path(self) -> Path:
        return self.state_dir / "identity.json"

    def identity(self) -> dict:
        return json.loads(self.identity_path.read_text())

    def start(self, timeout: float = 30) -> None:
        """Starts the agent and waits until it has an identity and says it started."""
        before = self.log_text().count("node-agent started")

        def started():
            if not self.running:
                raise AssertionError(
                    f"{self.name} exited with status {self.proc.returncode}:\n{tail(self.log_text())}")
            return self.identity_path.exists() and self.log_text().count("node-agent started") > before
        self.spawn()
        wait_until(started, timeout, f"{self.name} to register and start")

    def wait_log(self, text: str, timeout: float, after: int = 0) -> None:
        """Waits until `text` appears in the agent's log after character position `after`."""
        def seen():
            if text in self.log_text()[after:]:
                return True
            if not self.running:
                raise AssertionError(f"{self.name} exited while waiting for {text!r}:\n{tail(self.log_text())}")
            return False
        wait_until(seen, timeout, f"{text!r} in the log of {self.name}")


# --------------------------------------------------------------------------------------------
# a fleet


class Fleet:
    """A database on a running cluster, agent-svc on a free port (not started yet), an
    operator token, and the node-agents added with `add_agent`/`start_agent`."""

    def __init__(self, directory: Path, binaries: dict[str, Path], cluster: PostgresCluster, database: str,
                 base_env: dict[str, str], log_level: str, operator_name: str):
        self.dir = directory
        self.binaries = binaries
        self.log_level = log_level
        self.secret = secrets.token_hex(32)
        self.enrollment_token = secrets.token_hex(16)
        self.database = database
        self.base_env = base_env
        self.svc_env = dict(
            self.base_env,
            JWT_SIGNING_SECRET=self.secret, ENROLLMENT_TOKEN=self.enrollment_token,
            DB_HOST=cluster.host, DB_PORT=str(cluster.port), DB_USER="postgres", DB_NAME=self.database,
            PORT=str(free_port()), HOST="127.0.0.1", MIGRATIONS_DIR=str(REPO / "migrations"), LOG_LEVEL=log_level)
        self.svc = AgentService(binaries["agent-svc"], self.svc_env, int(self.svc_env["PORT"]), directory / "agent-svc.log")
        self.agents: dict[str, NodeAgentProcess] = {}
        self.operator_token = self._operator_token(operator_name)

    def _operator_token(self, name: str) -> str:
        result = subprocess.run(
            # admin: the suites upload artifacts and revoke nodes as well as run commands.
            [str(self.binaries["agent-svc"]), "operator-token", "--name", name, "--role", "admin"],
            env=self.svc_env, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, f"operator-token failed: {result.stderr}"
        return result.stdout.strip()

    def add_agent(self, node_id: str, attrs: str = "role=e2e", **extra_env: str) -> NodeAgentProcess:
        """A node-agent with its own state dir and log, registered with this agent-svc; not started."""
        state_dir = self.dir / f"state-{node_id}"
        state_dir.mkdir(exist_ok=True)
        env = dict(
            self.base_env, AGENT_SVC_URL=self.svc.url, ENROLLMENT_TOKEN=self.enrollment_token, NODE_ID=node_id,
            NODE_ATTRS=attrs, STATE_DIR=str(state_dir), LOG_LEVEL=self.log_level)
        env.update(extra_env)
        agent = NodeAgentProcess(self.binaries["node-agent"], env, node_id, state_dir, self.dir / f"node-agent-{node_id}.log")
        self.agents[node_id] = agent
        return agent

    def start_agent(self, node_id: str, attrs: str = "role=e2e", **extra_env: str) -> NodeAgentProcess:
        """add_agent, then waits until the agent has registered and started."""
        agent = self.add_agent(node_id, attrs, **extra_env)
        agent.start()
        return agent

    def log_files(self) -> list[Path]:
        return [self.svc.log_path] + [agent.log_path for agent in self.agents.values()]

    def teardown(self) -> None:
        """Kills every node-agent, then agent-svc (whole process groups)."""
        for agent in self.agents.values():
            agent.cleanup()
        self.svc.cleanup()
