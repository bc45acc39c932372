"""What only the end-to-end tests need: process tagging and sweeping, and the operator's
HTTP client with a byte-exact log reader. Ports, waits, Postgres and the agent-svc and
node-agent processes come from tests/lib/fleet_harness.py (shared with tests/tui).
"""

from __future__ import annotations

import base64
import os
import signal
import time
from dataclasses import dataclass, field
from typing import Iterable

import requests

from fleet_harness import WaitTimeout, wait_until

# Variables of the caller's environment that would change what the binaries do.
_SCRUBBED_PREFIXES = ("DB_", "JWT_", "ENROLLMENT", "AGENT_", "NODE_", "FLEET_", "PG")
_SCRUBBED_NAMES = {
    "DATABASE_URL", "PORT", "HOST", "STATE_DIR", "LOG_LEVEL", "MIGRATIONS_DIR", "LEASE_SEC",
    "DELIVERY_TIMEOUT_SEC", "ONLINE_WINDOW_SEC", "LOST_AFTER_SEC", "MAX_BODY_BYTES",
    # TLS: a shell's certificate or opt-in must not turn every test's agent-svc or agent into another one.
    "TLS_CERT_FILE", "TLS_KEY_FILE", "ALLOW_INSECURE_HTTP",
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

    def log_uploads(self) -> dict[str, int]:
        """Log uploads agent-svc stored since it started, per body form (`binary`, `json`), from /metrics."""
        counts = {}
        for line in requests.get(self.base_url + "/metrics", timeout=15).text.splitlines():
            if line.startswith("fleet_log_uploads_total{"):
                labels, value = line.rsplit(" ", 1)
                counts[labels.split('form="', 1)[1].split('"', 1)[0]] = int(float(value))
        return counts

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
