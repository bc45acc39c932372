"""UpdateAgent end to end (issue 5): the real agent-svc and node-agent binaries, an artifact
uploaded through the API, a running node replaced by a second agent binary whose version was
stamped differently (scripts/stamp-agent-version.py), a digest that does not match, and a new
binary that exits at once and must be rolled back by the watchdog."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from fleet_harness import REPO, NodeAgentProcess, wait_until
from harness import processes_tagged

sys.path.insert(0, str(REPO / "scripts"))
from importlib import import_module  # noqa: E402

stamp = import_module("stamp-agent-version").stamp

OLD_VERSION = "0.1.0"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def private_agent(fleet, node_id: str, health_timeout: int = 30) -> tuple[NodeAgentProcess, Path]:
    """A node-agent running from its own copy of the binary (an update replaces that file)."""
    bin_dir = fleet.dir / f"bin-{node_id}"
    bin_dir.mkdir()
    binary = bin_dir / "node-agent"
    shutil.copy2(fleet.binaries["node-agent"], binary)
    state_dir = fleet.dir / f"state-{node_id}"
    state_dir.mkdir()
    env = dict(
        fleet.base_env, AGENT_SVC_URL=fleet.svc.url, ENROLLMENT_TOKEN=fleet.enrollment_token, NODE_ID=node_id,
        STATE_DIR=str(state_dir), LOG_LEVEL="info", AGENT_UPDATE_HEALTH_TIMEOUT=str(health_timeout))
    agent = NodeAgentProcess(binary, env, node_id, state_dir, fleet.dir / f"node-agent-{node_id}.log")
    fleet.agents[node_id] = agent
    agent.start()
    return agent, binary


def upload(fleet, path: Path, version: str) -> dict:
    with open(path, "rb") as body:
        response = fleet.api.session.post(
            fleet.svc.url + "/v1/artifacts", params={"name": "node-agent", "version": version}, data=body, timeout=120)
    assert response.status_code == 201, f"upload: {response.status_code} {response.text}"
    artifact = response.json()
    assert artifact["sha256"] == sha256(path)
    return artifact


def submit_update(fleet, node_id: str, artifact: dict) -> str:
    body = {"command_type": "UpdateAgent", "targets": [node_id],
            "payload": {"version": artifact["version"], "sha256": artifact["sha256"], "artifact_id": artifact["artifact_id"],
                        "timeout_sec": 120}}
    response = fleet.api.session.post(fleet.svc.url + "/v1/commands/submit", json=body, timeout=15)
    assert response.status_code == 201, f"submit: {response.status_code} {response.text}"
    return response.json()["command_id"]


def node_version(fleet, node_id: str) -> str:
    return fleet.api.get(f"/v1/agents/{node_id}").json().get("agent_version")


def output_of(fleet, command_id: str, node_id: str) -> str:
    read = fleet.api.read_logs(command_id, node_id, timeout=30)
    return (read.stdout + read.stderr).decode(errors="replace")


def psql(fleet, sql: str) -> None:
    env = fleet.svc_env
    subprocess.run(
        ["psql", "-h", env["DB_HOST"], "-p", env["DB_PORT"], "-U", "postgres", "-d", env["DB_NAME"],
         "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True, capture_output=True, timeout=30)


def fake_agent(path: Path, version: str, *then: str) -> Path:
    """A "new agent binary" that passes the --version check and then runs the `then` lines."""
    path.write_text("\n".join(["#!/bin/sh", f'if [ "$1" = --version ]; then echo {version}; exit 0; fi', *then]) + "\n")
    path.chmod(0o755)
    return path


def agent_processes(fleet) -> list[int]:
    """node-agent processes of this test (a rolled-back agent runs under the watchdog's pid)."""
    return [p for p in processes_tagged(fleet.tag) if _is_agent(p)]


def run_echo(fleet, node_id: str, text: str) -> None:
    command_id = fleet.api.submit([node_id], f"echo {text}")
    fleet.api.wait_state(command_id, node_id, "succeeded", timeout=30)
    assert text in output_of(fleet, command_id, node_id)


def test_update_replaces_the_binary_in_place_and_reports_the_new_version(fleet):
    # setup: the node runs 0.1.0; a second binary stamped 0.1.1-e2e is uploaded
    agent, binary = private_agent(fleet, "edge-up")
    old_sha = sha256(binary)
    new_binary = fleet.dir / "node-agent-new"
    stamp(str(binary), str(new_binary), "0.1.1-e2e")
    artifact = upload(fleet, new_binary, "0.1.1-e2e")
    assert node_version(fleet, "edge-up") == OLD_VERSION
    pid = agent.pid

    # act
    command_id = submit_update(fleet, "edge-up", artifact)

    # check: succeeded, reported by the new binary in the same process
    invocation = fleet.api.wait_state(command_id, "edge-up", {"succeeded", "failed"}, timeout=60)
    assert invocation["state"] == "succeeded", invocation
    assert invocation["result"]["agent_version"] == "0.1.1-e2e"
    assert "updated from 0.1.0 to 0.1.1-e2e" in invocation["reason"]
    assert node_version(fleet, "edge-up") == "0.1.1-e2e"
    assert agent.running and agent.pid == pid, "the agent must exec in place (same pid)"
    assert sha256(binary) == artifact["sha256"]
    assert sha256(binary.with_name("node-agent.previous")) == old_sha
    assert subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout.strip() == "0.1.1-e2e"
    output = output_of(fleet, command_id, "edge-up")
    for line in ("downloaded", "verified", "answers --version with 0.1.1-e2e", "restarting into 0.1.1-e2e",
                 "version 0.1.1-e2e is running and reached the server"):
        assert line in output, output
    assert not list(binary.parent.glob(".node-agent.update-*")), "the download must not be left behind"
    # the updated agent keeps working, and its watchdog has gone
    run_echo(fleet, "edge-up", "after-update")
    wait_until(lambda: all(Path(f"/proc/{p}/exe").resolve() == binary.resolve() and p == pid
                           for p in agent_processes(fleet)), 20, "the watchdog to exit")


def _is_agent(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].endswith(b"node-agent")
    except OSError:
        return False


def test_a_wrong_digest_changes_nothing(fleet):
    # setup: an artifact whose stored bytes no longer match its digest (damaged in storage)
    agent, binary = private_agent(fleet, "edge-digest")
    old_sha = sha256(binary)
    new_binary = fleet.dir / "node-agent-new"
    stamp(str(binary), str(new_binary), "0.1.2-e2e")
    artifact = upload(fleet, new_binary, "0.1.2-e2e")
    psql(fleet, f"UPDATE artifact_blocks SET data = set_byte(data, 100, get_byte(data, 100) # 255) "
                f"WHERE artifact_id = '{artifact['artifact_id']}' AND seq = 0")
    pid = agent.pid

    # act
    command_id = submit_update(fleet, "edge-digest", artifact)

    # check
    invocation = fleet.api.wait_state(command_id, "edge-digest", {"succeeded", "failed"}, timeout=60)
    assert invocation["state"] == "failed", invocation
    assert "sha256 mismatch" in invocation["reason"] and "nothing was replaced" in invocation["reason"]
    assert sha256(binary) == old_sha
    assert not binary.with_name("node-agent.previous").exists()
    assert not list(binary.parent.glob(".node-agent.update-*"))
    assert agent.running and agent.pid == pid
    assert node_version(fleet, "edge-digest") == OLD_VERSION
    run_echo(fleet, "edge-digest", "still-the-old-agent")


def test_a_new_binary_that_exits_at_once_is_rolled_back(fleet):
    # setup: a "new agent" that passes the --version check but dies as soon as it runs
    agent, binary = private_agent(fleet, "edge-broken")
    old_sha = sha256(binary)
    broken = fake_agent(fleet.dir / "node-agent-broken", "0.9.0-broken", 'echo "broken agent: exiting at once" >&2', "exit 3")
    artifact = upload(fleet, broken, "0.9.0-broken")

    # act
    command_id = submit_update(fleet, "edge-broken", artifact)

    # check: the process that was exec'd into the broken binary ends with its status …
    wait_until(lambda: not agent.running, 60, "the broken binary to exit")
    assert agent.proc.returncode == 3, agent.log_text()[-3000:]
    # … the watchdog restores the old binary and starts it, and that agent reports the failure
    invocation = fleet.api.wait_state(command_id, "edge-broken", {"succeeded", "failed"}, timeout=60)
    assert invocation["state"] == "failed", invocation
    assert "rolled back to 0.1.0" in invocation["reason"], invocation
    assert "exited before it reached the server" in invocation["reason"], invocation
    assert invocation["result"]["agent_version"] == OLD_VERSION
    assert sha256(binary) == old_sha
    assert node_version(fleet, "edge-broken") == OLD_VERSION
    relaunched = agent_processes(fleet)
    assert len(relaunched) == 1, f"expected one agent process, found {relaunched}"
    assert Path(f"/proc/{relaunched[0]}/exe").resolve() == binary.resolve()
    assert "broken agent: exiting at once" in agent.log_text()
    assert "rolled back" in output_of(fleet, command_id, "edge-broken")
    run_echo(fleet, "edge-broken", "back-on-the-old-agent")
    fleet.assert_no_secrets_logged()
    os.kill(relaunched[0], 15)
    wait_until(lambda: not Path(f"/proc/{relaunched[0]}").exists() or _zombie(relaunched[0]), 20, "the agent to stop")


def test_a_new_binary_that_never_reaches_the_server_is_stopped_and_rolled_back(fleet):
    # setup: a "new agent" that passes the --version check, then hangs without ever polling
    agent, binary = private_agent(fleet, "edge-hung", health_timeout=3)
    old_sha = sha256(binary)
    hung = fake_agent(fleet.dir / "node-agent-hung", "0.9.1-hung", 'echo "hung agent: never polls" >&2', "exec sleep 300")
    artifact = upload(fleet, hung, "0.9.1-hung")

    # act
    command_id = submit_update(fleet, "edge-hung", artifact)

    # check: after the 3 s health deadline the watchdog stops it and brings the old agent back
    wait_until(lambda: not agent.running, 30, "the hung binary to be stopped")
    invocation = fleet.api.wait_state(command_id, "edge-hung", {"succeeded", "failed"}, timeout=60)
    assert invocation["state"] == "failed", invocation
    assert "did not reach the server within 3 s" in invocation["reason"], invocation
    assert sha256(binary) == old_sha
    assert node_version(fleet, "edge-hung") == OLD_VERSION
    assert "hung agent: never polls" in agent.log_text()
    run_echo(fleet, "edge-hung", "back-after-the-hang")
    relaunched = agent_processes(fleet)
    assert len(relaunched) == 1, f"expected one agent process, found {relaunched}"
    os.kill(relaunched[0], 15)


def _zombie(pid: int) -> bool:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        return text[text.rindex(")") + 2] == "Z"
    except OSError:
        return True
