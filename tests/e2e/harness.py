"""Processes and HTTP helpers for the end-to-end tests.

Everything here talks to the real binaries: agent-svc (HTTP API over Postgres) and
node-agent (SQLite + identity file under its STATE_DIR). Every process is started in its
own session (so a whole process group can be killed), writes its output to a log file in
the test's directory, and every wait is bounded.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import requests

REPO = Path(__file__).resolve().parents[2]

# Variables of the caller's environment that would change what the binaries do.
_SCRUBBED_PREFIXES = ("DB_", "JWT_", "ENROLLMENT", "AGENT_", "NODE_", "FLEET_", "PG")
_SCRUBBED_NAMES = {
    "DATABASE_URL", "PORT", "HOST", "STATE_DIR", "LOG_LEVEL", "MIGRATIONS_DIR", "LEASE_SEC",
    "DELIVERY_TIMEOUT_SEC", "ONLINE_WINDOW_SEC", "LOST_AFTER_SEC", "MAX_BODY_BYTES",
}


def clean_environment(tag: str) -> dict[str, str]:
    """The caller's environment without Fleet settings, plus a tag that marks our processes.

    node-agent passes its environment (minus secrets) on to the commands it runs, so the tag
    also marks every command process: the teardown finds leftovers by it.
    """
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(_SCRUBBED_PREFIXES) and k not in _SCRUBBED_NAMES
    }
    env["FLEET_E2E_TAG"] = tag
    return env


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


# --------------------------------------------------------------------------------------------
# processes


def processes_tagged(tag: str) -> list[int]:
    """Pids whose environment has FLEET_E2E_TAG starting with `tag` (our binaries and their
    commands; a session's tag is a prefix of its tests' tags)."""
    needle = f"FLEET_E2E_TAG={tag}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        if pid == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read().split(b"\0")
        except OSError:
            continue
        if any(variable.startswith(needle) for variable in environ):
            found.append(pid)
    return found


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group `pgid`."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                text = f.read()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


def kill_tagged(tag: str) -> list[int]:
    """SIGKILLs every process carrying the tag; returns their pids."""
    pids = processes_tagged(tag)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


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


def tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------------------------
# HTTP


@dataclass
class LogRead:
    """What a reader got from GET /v1/commands/{id}/logs, chunk by chunk."""
    chunks: list[tuple[str, int, bytes]] = field(default_factory=list)  # (stream, offset, data)
    cursor: str = ""
    complete: bool = False
    pages: int = 0

    def stream(self, name: str) -> bytes:
        return b"".join(data for s, _, data in self.chunks if s == name)

    @property
    def stdout(self) -> bytes:
        return self.stream("stdout")

    @property
    def stderr(self) -> bytes:
        return self.stream("stderr")

    def problems(self) -> list[str]:
        """Gaps, duplicates or reordering within a stream: each chunk must start where the
        previous chunk of its stream ended (every byte exactly once, in order)."""
        found = []
        position = {"stdout": 0, "stderr": 0}
        for index, (stream, offset, data) in enumerate(self.chunks):
            if stream not in position:
                found.append(f"chunk {index}: unknown stream {stream!r}")
                continue
            if offset != position[stream]:
                kind = "gap" if offset > position[stream] else "overlap/duplicate"
                found.append(
                    f"chunk {index}: {stream} offset {offset}, expected {position[stream]} ({kind}, {len(data)} bytes)")
            position[stream] = max(position[stream], offset + len(data))
            if len(found) >= 10:
                found.append("…")
                break
        return found


def decode_chunk(chunk: dict) -> bytes:
    encoding = chunk.get("encoding", "utf8")
    if encoding == "base64":
        return base64.b64decode(chunk["data"], validate=True)
    if encoding == "utf8":
        return chunk["data"].encode("utf-8")
    raise AssertionError(f"unknown chunk encoding {encoding!r}")


class Api:
    """The operator's view of agent-svc."""

    def __init__(self, base_url: str, operator_token: str):
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {operator_token}"

    def close(self) -> None:
        self.session.close()

    def get(self, path: str, timeout: float = 15, **params) -> requests.Response:
        return self.session.get(self.base_url + path, params=params or None, timeout=timeout)

    def submit(self, targets: Iterable[str], cmd: str, timeout_sec: int = 60) -> str:
        body = {"command_type": "RunCommand", "targets": list(targets), "payload": {"cmd": cmd, "timeout_sec": timeout_sec}}
        response = self.session.post(self.base_url + "/v1/commands/submit", json=body, timeout=15)
        assert response.status_code in (200, 201), f"submit: {response.status_code} {response.text}"
        return response.json()["command_id"]

    def command(self, command_id: str) -> dict:
        response = self.get(f"/v1/commands/{command_id}")
        assert response.status_code == 200, f"GET command: {response.status_code} {response.text}"
        return response.json()

    def invocation(self, command_id: str, node_id: str) -> dict:
        invocations = [i for i in self.command(command_id)["invocations"] if i["node_id"] == node_id]
        assert len(invocations) == 1, f"expected one invocation on {node_id}, got {invocations}"
        return invocations[0]

    def wait_state(self, command_id: str, node_id: str, states: set[str] | str, timeout: float) -> dict:
        states = {states} if isinstance(states, str) else set(states)
        last: dict = {}

        def reached():
            nonlocal last
            last = self.invocation(command_id, node_id)
            return last if last["state"] in states else None
        try:
            return wait_until(reached, timeout, f"invocation {command_id} on {node_id} to become {sorted(states)}",
                              interval=0.2)
        except WaitTimeout as error:
            raise WaitTimeout(f"{error}; last seen: {last}") from None

    def read_logs_page(self, command_id: str, node_id: str, read: LogRead, wait: int = 5, limit: int = 1000) -> LogRead:
        """Reads one page after `read.cursor` and appends it to `read`."""
        response = self.get(
            f"/v1/commands/{command_id}/logs", timeout=wait + 30, node_id=node_id, cursor=read.cursor, limit=limit,
            wait=wait)
        assert response.status_code == 200, f"GET logs: {response.status_code} {response.text[:500]}"
        page = response.json()
        for chunk in page["chunks"]:
            read.chunks.append((chunk["stream"], int(chunk["offset"]), decode_chunk(chunk)))
        read.cursor = page["next_cursor"]
        read.complete = bool(page["complete"])
        read.pages += 1
        return read

    def read_logs(self, command_id: str, node_id: str, timeout: float, read: LogRead | None = None) -> LogRead:
        """Follows next_cursor until the endpoint says complete."""
        read = read or LogRead()
        deadline = time.monotonic() + timeout
        while not read.complete:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeout(
                    f"logs of {command_id} on {node_id} not complete after {timeout:.0f} s: "
                    f"{len(read.stdout)} stdout + {len(read.stderr)} stderr bytes in {read.pages} pages; "
                    f"invocation: {self.invocation(command_id, node_id)}")
            self.read_logs_page(command_id, node_id, read, wait=max(1, min(5, int(remaining))))
        return read
