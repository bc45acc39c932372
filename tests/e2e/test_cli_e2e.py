"""`fleet`, the operator CLI, against a real agent-svc and real node-agents (issue 13).

Each test runs the CLI binary as a script would: environment for the server and token, output
on stdout/stderr, meaning in the exit status.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from fleet_harness import REPO, free_port, wait_until

UUID_LINE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n$")


@pytest.fixture(scope="session")
def fleet_bin(e2e_root) -> Path:
    """A private copy of the debug `fleet` binary (a concurrent build may replace the original)."""
    source = Path(os.environ.get("E2E_BIN_DIR", REPO / ".build" / "debug")) / "fleet"
    if not source.exists():
        pytest.exit(f"{source} is missing: run scripts/e2e.sh (it builds the binaries)", returncode=2)
    target = e2e_root / "bin" / "fleet"
    target.parent.mkdir(exist_ok=True)
    shutil.copy2(source, target)
    return target


class Cli:
    def __init__(self, binary: Path, fleet):
        self.binary = binary
        self.env = dict(fleet.base_env, AGENT_SVC_URL=fleet.svc.url, FLEET_TOKEN=fleet.operator_token)

    def run(self, *args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.binary), *args], env={**self.env, **env}, capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([str(self.binary), *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL)


@pytest.fixture
def cli(fleet, fleet_bin) -> Cli:
    return Cli(fleet_bin, fleet)


def lines(data: bytes) -> list[str]:
    return data.decode().splitlines()


def test_nodes_table_and_json(fleet, cli):
    fleet.start_agent("edge-a", attrs="role=web,region=eu")
    fleet.start_agent("edge-bb", attrs="role=db")

    table = cli.run("nodes")
    assert table.returncode == 0, table.stderr
    rows = lines(table.stdout)
    assert rows[0].split() == ["NODE", "ONLINE", "VERSION", "LAST", "SEEN", "ATTRS"]
    assert rows[1].startswith("edge-a   yes") and rows[1].endswith("region=eu,role=web"), rows
    assert rows[2].startswith("edge-bb  yes") and rows[2].endswith("role=db"), rows

    selected = cli.run("nodes", "--selector", "role=web", "--json")
    assert selected.returncode == 0, selected.stderr
    assert [n["node_id"] for n in json.loads(selected.stdout)["nodes"]] == ["edge-a"]


def test_run_with_selector_prefixes_streams_and_exit_codes(fleet, cli):
    for node in ("edge-a", "edge-b", "edge-c"):
        fleet.start_agent(node, attrs="role=web" if node != "edge-c" else "role=db")

    # both streams of both matching nodes, every line prefixed; stderr lines on stderr, marked
    run = cli.run("run", "--selector", "role=web", "--shell", 'echo "out $NODE_ID"; echo "err $NODE_ID" >&2; echo two')
    assert run.returncode == 0, run.stderr
    assert sorted(lines(run.stdout)) == ["edge-a | out edge-a", "edge-a | two", "edge-b | out edge-b", "edge-b | two"]
    stderr = lines(run.stderr)
    assert "edge-a ! err edge-a" in stderr and "edge-b ! err edge-b" in stderr, stderr
    assert any(re.match(r"^succeeded\s+2\s+edge-a, edge-b$", line) for line in stderr), stderr
    assert not any("edge-c" in line for line in stderr + lines(run.stdout))

    # one target: its exit code; the words are quoted for the node's shell
    single = cli.run("run", "--targets", "edge-c", "--", "sh", "-c", "echo 'it''s'; exit 7")
    assert single.returncode == 7, single.stderr
    assert lines(single.stdout) == ["edge-c | its"]

    # several targets, one failing: 1 (not the node's code)
    mixed = cli.run("run", "--targets", "edge-a,edge-c", "--shell", 'test "$NODE_ID" = edge-a || exit 5')
    assert mixed.returncode == 1, mixed.stderr
    assert any(re.match(r"^failed\s+1\s+edge-c \(exit 5\)$", line) for line in lines(mixed.stderr)), mixed.stderr


def test_detach_and_raw_output_is_byte_exact(fleet, cli):
    fleet.start_agent("edge-a")
    payload = os.urandom(1024 * 1024)
    source = fleet.dir / "random.bin"
    source.write_bytes(payload)

    detached = cli.run("run", "--targets", "edge-a", "--detach", "--", "cat", str(source))
    assert detached.returncode == 0, detached.stderr
    assert UUID_LINE.match(detached.stdout.decode()), detached.stdout
    command_id = detached.stdout.decode().strip()

    raw = cli.run("logs", command_id, "--node", "edge-a", "--raw", "--follow", timeout=90)
    assert raw.returncode == 0, raw.stderr
    assert len(raw.stdout) == len(payload) and raw.stdout == payload
    assert raw.stderr == b""

    # the same bytes through the endpoint, with the length announced
    response = fleet.api.get(f"/v1/commands/{command_id}/output", node_id="edge-a", stream="stdout")
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(payload))
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.content == payload


def test_cancel_and_ctrl_c_without_a_terminal(fleet, cli):
    fleet.start_agent("edge-a")
    detached = cli.run("run", "--targets", "edge-a", "--detach", "--", "sleep", "60")
    command_id = detached.stdout.decode().strip()
    fleet.api.wait_state(command_id, "edge-a", "running", timeout=20)

    cancel = cli.run("cancel", command_id)
    assert cancel.returncode == 0, cancel.stderr
    assert lines(cancel.stdout) == ["cancelled 0 queued, stopping 1 on their nodes"]
    fleet.api.wait_state(command_id, "edge-a", "cancelled", timeout=20)
    shown = cli.run("show", command_id, "--json")
    assert json.loads(shown.stdout)["invocations"][0]["state"] == "cancelled"

    # Ctrl-C in a script: detaches, says how to cancel, leaves the command running
    follower = cli.popen("run", "--targets", "edge-a", "--shell", "echo started; sleep 60")
    try:
        wait_until(lambda: fleet.api.get("/v1/commands").json()["commands"][0]["counts"]["running"] == 1, 20,
                   "the followed command to run")
        time.sleep(0.5)
        follower.send_signal(signal.SIGINT)
        out, err = follower.communicate(timeout=20)
    finally:
        follower.kill()
    assert follower.returncode == 130, err
    followed_id = fleet.api.get("/v1/commands").json()["commands"][0]["command_id"].lower()
    assert f"fleet cancel {followed_id}" in err.decode(), err
    assert fleet.api.invocation(followed_id, "edge-a")["state"] == "running"
    assert cli.run("cancel", followed_id).returncode == 0


def test_bad_token_and_server_down_are_one_line(fleet, cli):
    bad = cli.run("nodes", FLEET_TOKEN="not-a-token")
    assert bad.returncode == 1
    assert len(lines(bad.stderr)) == 1 and bad.stderr.startswith(b"fleet: list nodes failed: 401 "), bad.stderr
    assert bad.stdout == b""

    down = cli.run("run", "--targets", "edge-a", "--", "true", AGENT_SVC_URL=f"http://127.0.0.1:{free_port()}", timeout=60)
    assert down.returncode == 1
    assert len(lines(down.stderr)) == 1, down.stderr
    assert down.stderr.startswith(b"fleet: submit failed: server unreachable: connection refused"), down.stderr

    unknown = cli.run("show", str(uuid.uuid4()))
    assert unknown.returncode == 1 and len(lines(unknown.stderr)) == 1 and b"404 not_found" in unknown.stderr
