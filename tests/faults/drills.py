"""Helpers the drills share: deterministic output, byte-exact reads, timestamps."""

from __future__ import annotations

import hashlib
import time
from datetime import datetime

from fleet_harness import wait_until


def lines_command(count: int, pause: float) -> tuple[str, bytes]:
    """A shell loop printing `count` numbered lines with `pause` s between them, and its exact output."""
    cmd = f"i=0; while [ $i -lt {count} ]; do printf 'line %06d %s\\n' $i {'x' * 90}; i=$((i+1)); sleep {pause}; done"
    expected = b"".join(b"line %06d %s\n" % (i, b"x" * 90) for i in range(count))
    return cmd, expected


def ts(text: str | None) -> float:
    assert text, "missing timestamp"
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def read_until_complete(api, command_id: str, node_id: str, timeout: float):
    """Follows the log with short holds (so the moment of completion is seen within ~0.2 s,
    not at the end of a long hold); returns the LogRead and the wall-clock time it completed."""
    from harness import LogRead
    read = LogRead()
    deadline = time.monotonic() + timeout
    while not read.complete:
        assert time.monotonic() < deadline, f"logs of {command_id} not complete after {timeout:.0f} s ({len(read.stdout)} bytes)"
        before = len(read.chunks)
        api.read_logs_page(command_id, node_id, read, wait=1)
        if len(read.chunks) == before and not read.complete:
            time.sleep(0.1)
    return read, time.time()


def wait_started_line(api, command_id: str, node_id: str, timeout: float) -> float:
    """For a command that prints `date +%s.%N` first: that time (when it started on the node)."""
    def first_line():
        page = api.get(f"/v1/commands/{command_id}/logs", node_id=node_id, wait=2, limit=10).json()
        for chunk in page["chunks"]:
            if chunk["stream"] == "stdout" and chunk.get("encoding", "utf8") == "utf8" and "\n" in chunk["data"]:
                return float(chunk["data"].split("\n", 1)[0])
        return None
    return wait_until(first_line, timeout, f"first line of {command_id}", interval=0.1)
