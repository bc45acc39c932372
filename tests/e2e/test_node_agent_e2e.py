"""End-to-end tests of issue 3 (node-agent) with the real agent-svc and node-agent binaries,
a real Postgres cluster and real HTTP.

Each test gets a fresh database, its own agent-svc on a free port and node-agents with their
own STATE_DIR (see conftest.py). Output is always checked through the operator's logs
endpoint, chunk by chunk: every chunk must start where the previous chunk of its stream ended.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import subprocess
import time

from fleet_harness import wait_until
from harness import LogRead, group_members


# A SIGTERMed process must be gone within this many seconds.
SIGTERM_BOUND_SEC = 10


def assert_exact(read: LogRead, stdout: bytes, stderr: bytes) -> None:
    """Both streams byte-exact, every byte exactly once, in order."""
    assert read.problems() == [], "chunks are not contiguous per stream"
    if read.stdout != stdout:
        raise AssertionError(
            f"stdout differs: got {len(read.stdout)} bytes (sha256 {sha(read.stdout)}), "
            f"expected {len(stdout)} (sha256 {sha(stdout)}); first difference at byte "
            f"{first_difference(read.stdout, stdout)}")
    if read.stderr != stderr:
        raise AssertionError(f"stderr differs: got {read.stderr[:200]!r}, expected {stderr[:200]!r}")


def assert_binary_uploads(fleet) -> None:
    """The agent's output came over the binary upload (the JSON one stays for curl and scripts)."""
    uploads = fleet.api.log_uploads()
    assert uploads.get("binary", 0) > 0 and uploads.get("json", 0) == 0, uploads


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def first_difference(a: bytes, b: bytes) -> int:
    for index, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return index
    return min(len(a), len(b))


def received(agent, command_id: str) -> bool:
    """The agent logged that it recorded the assignment (it does so before acknowledging it)."""
    return any(
        "assignment received" in line and command_id.lower() in line.lower() for line in agent.log_text().splitlines())


def seq_bytes(first: int, last: int) -> bytes:
    return "".join(f"{i}\n" for i in range(first, last + 1)).encode()


# --------------------------------------------------------------------------------------------


def test_readme_flow_with_curl(fleet):
    """register → submit with curl → both streams through the logs endpoint, failed with exit 3."""
    agent = fleet.start_agent("edge-1", attrs="region=eu-west,os=linux")

    # The identity file holds the node token: owner-only.
    mode = stat.S_IMODE(os.stat(agent.identity_path).st_mode)
    assert mode == 0o600, f"identity file mode is {oct(mode)}, expected 0o600"
    identity = agent.identity()
    assert identity["node_id"] == "edge-1" and identity["token"]

    nodes = fleet.api.get("/v1/agents").json()["nodes"]
    assert [n["node_id"] for n in nodes] == ["edge-1"], nodes
    assert nodes[0]["attrs"].get("region") == "eu-west", nodes[0]

    body = json.dumps({
        "command_type": "RunCommand", "targets": ["edge-1"],
        "payload": {"cmd": "echo hello; echo oops >&2; exit 3", "timeout_sec": 30}})
    result = subprocess.run(
        ["curl", "-sS", "--max-time", "20", "-X", "POST", f"{fleet.svc.url}/v1/commands/submit",
         "-H", f"Authorization: Bearer {fleet.operator_token}", "-H", "Content-Type: application/json",
         "-d", body, "-w", "\n%{http_code}"],
        capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    text, status = result.stdout.rsplit("\n", 1)
    assert status in ("200", "201"), f"submit via curl: HTTP {status} {text}"
    submitted = json.loads(text)
    command_id = submitted["command_id"]
    assert submitted["targets"] == ["edge-1"]

    # Read it the way an operator with curl would: long-poll and follow next_cursor.
    stdout, stderr, cursor, complete = b"", b"", "", False
    deadline = time.monotonic() + 30
    while not complete:
        assert time.monotonic() < deadline, f"logs not complete after 30 s; got {stdout!r} {stderr!r}"
        page_result = subprocess.run(
            ["curl", "-sS", "--max-time", "20", "-G", f"{fleet.svc.url}/v1/commands/{command_id}/logs",
             "-H", f"Authorization: Bearer {fleet.operator_token}",
             "--data-urlencode", "node_id=edge-1", "--data-urlencode", f"cursor={cursor}",
             "--data-urlencode", "wait=5"],
            capture_output=True, text=True, timeout=30)
        assert page_result.returncode == 0, page_result.stderr
        page = json.loads(page_result.stdout)
        for chunk in page["chunks"]:
            assert chunk.get("encoding", "utf8") == "utf8", chunk  # plain text stays readable
            data = chunk["data"].encode()
            if chunk["stream"] == "stdout":
                assert chunk["offset"] == len(stdout), chunk
                stdout += data
            else:
                assert chunk["stream"] == "stderr" and chunk["offset"] == len(stderr), chunk
                stderr += data
        cursor, complete = page["next_cursor"], page["complete"]
    assert stdout == b"hello\n"
    assert stderr == b"oops\n"

    invocation = fleet.api.invocation(command_id, "edge-1")
    assert invocation["state"] == "failed", invocation
    assert invocation["exit_code"] == 3, invocation
    assert (invocation["stdout_bytes"], invocation["stderr_bytes"]) == (6, 5), invocation
    assert (invocation["stdout_total"], invocation["stderr_total"]) == (6, 5), invocation

    # The same through the generic reader (checks contiguity per stream).
    assert_exact(fleet.api.read_logs(command_id, "edge-1", timeout=10), b"hello\n", b"oops\n")

    assert stat.S_IMODE(os.stat(agent.identity_path).st_mode) == 0o600
    fleet.assert_no_secrets_logged()


def test_20_mb_of_random_bytes_byte_exact(fleet):
    """Binary output (not UTF-8) arrives byte-exact: sha256 of what the command printed."""
    agent = fleet.start_agent("edge-bin")
    source = fleet.dir / "random.bin"
    printed = fleet.dir / "printed.bin"
    subprocess.run(["sh", "-c", f"head -c 20000000 /dev/urandom > '{source}'"], check=True, timeout=30)
    # What the command printed, as the command saw it (tee), to compare with what arrived.
    command_id = fleet.api.submit(["edge-bin"], f"cat '{source}' | tee '{printed}'; printf 'done\\n' >&2", timeout_sec=120)

    read = fleet.api.read_logs(command_id, "edge-bin", timeout=75)
    expected = printed.read_bytes()
    assert len(expected) == 20_000_000
    assert hashlib.sha256(expected).digest() == hashlib.sha256(source.read_bytes()).digest()
    assert read.problems() == []
    assert len(read.stdout) == len(expected), f"got {len(read.stdout)} bytes, expected {len(expected)}"
    assert hashlib.sha256(read.stdout).hexdigest() == hashlib.sha256(expected).hexdigest(), (
        f"sha256 differs; first difference at byte {first_difference(read.stdout, expected)}")
    assert read.stderr == b"done\n"

    invocation = fleet.api.invocation(command_id, "edge-bin")
    assert invocation["state"] == "succeeded" and invocation["exit_code"] == 0, invocation
    assert invocation["stdout_total"] == 20_000_000 and invocation["stdout_bytes"] == 20_000_000, invocation
    assert_binary_uploads(fleet)
    assert agent.running
    fleet.assert_no_secrets_logged()


def test_agent_svc_killed_mid_stream_every_byte_once(fleet):
    """SIGKILL agent-svc while output is streaming, restart it on the same port and database:
    the reader resumes from its cursor and gets every byte exactly once."""
    agent = fleet.start_agent("edge-seq")
    # 2,000,000 numbered lines (14.9 MB); the pause makes the second half come while the
    # service is down or just back.
    command_id = fleet.api.submit(["edge-seq"], "seq 1 1000000; sleep 3; seq 1000001 2000000", timeout_sec=120)

    read = LogRead()
    deadline = time.monotonic() + 30
    while not read.chunks:
        assert time.monotonic() < deadline, "no output arrived within 30 s"
        fleet.api.read_logs_page(command_id, "edge-seq", read, wait=5)
    assert not read.complete, "the command finished before the service could be killed mid-stream"

    fleet.svc.kill(signal.SIGKILL)
    time.sleep(1.5)
    fleet.svc.start()

    fleet.api.read_logs(command_id, "edge-seq", timeout=70, read=read)
    assert_exact(read, seq_bytes(1, 2_000_000), b"")
    invocation = fleet.api.invocation(command_id, "edge-seq")
    assert invocation["state"] == "succeeded" and invocation["exit_code"] == 0, invocation
    assert invocation["stdout_total"] == len(seq_bytes(1, 2_000_000)) == invocation["stdout_bytes"], invocation
    assert_binary_uploads(fleet)
    assert agent.running
    fleet.assert_no_secrets_logged()


def test_agent_kill_9_mid_command_reports_lost_and_delivers_chunks(fleet):
    """kill -9 of node-agent while its command runs: the restarted agent reports the
    invocation lost, kills what is left of the command, and delivers the output the
    command printed before the kill (which only ever reached the agent's SQLite)."""
    agent = fleet.start_agent("edge-crash")
    pid_file, go_file, never_file = fleet.dir / "cmd.pid", fleet.dir / "go", fleet.dir / "never"
    command_id = fleet.api.submit(
        ["edge-crash"],
        f"echo $$ > '{pid_file}'; echo started; "
        f"while [ ! -e '{go_file}' ]; do sleep 0.05; done; "
        f"echo before-kill; echo err-before >&2; sleep 30; touch '{never_file}'; echo never",
        timeout_sec=120)

    fleet.api.wait_state(command_id, "edge-crash", "running", timeout=20)
    read = LogRead()
    while b"started\n" not in read.stdout:
        fleet.api.read_logs_page(command_id, "edge-crash", read, wait=5)
        assert read.pages < 10, "the first output line never arrived"
    command_pgid = int(pid_file.read_text())

    # Freeze the service so that what comes next can only be kept in the agent's store.
    fleet.svc.pause()
    try:
        go_file.touch()
        time.sleep(2.0)  # well over the 250 ms flush interval: the chunks are in SQLite
        agent.kill(signal.SIGKILL)
    finally:
        fleet.svc.resume()
    assert group_members(command_pgid), "the command should outlive its agent's kill -9"

    agent.start()
    invocation = fleet.api.wait_state(command_id, "edge-crash", {"lost", "failed", "succeeded", "timed_out"}, timeout=30)
    assert invocation["state"] == "lost", invocation
    assert invocation.get("reason"), invocation

    fleet.api.read_logs(command_id, "edge-crash", timeout=30, read=read)
    assert_exact(read, b"started\nbefore-kill\n", b"err-before\n")
    assert_binary_uploads(fleet)

    # The restarted agent killed the rest of the command's process group.
    wait_until(lambda: not group_members(command_pgid), 15, f"the orphaned command group {command_pgid} to be killed")
    assert not never_file.exists()
    assert agent.running
    fleet.assert_no_secrets_logged()


def test_server_down_for_the_whole_run(fleet):
    """agent-svc stops right after the agent received the command; the command runs and
    finishes while it is down; once it is back the output and the final state arrive."""
    agent = fleet.start_agent("edge-offline")
    go_file, done_file = fleet.dir / "go", fleet.dir / "done"
    command_id = fleet.api.submit(
        ["edge-offline"],
        f"while [ ! -e '{go_file}' ]; do sleep 0.05; done; "
        f"echo first-line; seq 1 100000; echo to-stderr >&2; touch '{done_file}'; exit 7",
        timeout_sec=120)
    wait_until(lambda: received(agent, command_id), 20, "the agent to receive the command")

    # Stopped the way an operator or an orchestrator stops it. A graceful stop must not be
    # held up by the agent's pending long-poll; if it is, it is killed and the test goes on
    # (the slow stop is reported at the end, after the output checks).
    status, seconds = fleet.svc.terminate(timeout=SIGTERM_BOUND_SEC)
    assert not fleet.svc.running
    go_file.touch()
    wait_until(done_file.exists, 20, "the command to finish while agent-svc is down")
    time.sleep(1.5)  # the process exits, the agent records the final state locally
    assert agent.running

    fleet.svc.start()
    read = fleet.api.read_logs(command_id, "edge-offline", timeout=60)
    assert_exact(read, b"first-line\n" + seq_bytes(1, 100000), b"to-stderr\n")
    invocation = fleet.api.invocation(command_id, "edge-offline")
    assert invocation["state"] == "failed" and invocation["exit_code"] == 7, invocation
    assert invocation["stdout_total"] == len(read.stdout) and invocation["stderr_total"] == 10, invocation
    assert_binary_uploads(fleet)
    assert status == 0, (
        f"agent-svc did not stop within {SIGTERM_BOUND_SEC} s of SIGTERM (it had to be killed after {seconds:.1f} s)"
        if status is None else f"agent-svc exited with status {status} after SIGTERM")
    fleet.assert_no_secrets_logged()


def test_two_agents_each_see_only_their_own_work(fleet):
    """Commands for one node never run on another; GET shows only the target's invocation."""
    alpha = fleet.start_agent("edge-alpha")
    beta = fleet.start_agent("edge-beta")
    assert alpha.identity()["token"] != beta.identity()["token"]
    markers = fleet.dir / "markers"
    markers.mkdir()
    cmd = f"touch '{markers}'/\"$NODE_ID-$FLEET_COMMAND_ID\"; echo \"ran on $NODE_ID\""

    for_alpha = fleet.api.submit(["edge-alpha"], cmd)
    for_beta = fleet.api.submit(["edge-beta"], cmd)
    # A third command for alpha only, submitted after beta is known to be polling.
    fleet.api.wait_state(for_beta, "edge-beta", "succeeded", timeout=30)
    for_alpha_again = fleet.api.submit(["edge-alpha"], cmd)
    for command_id in (for_alpha, for_alpha_again):
        fleet.api.wait_state(command_id, "edge-alpha", "succeeded", timeout=30)

    # Give a misrouted delivery time to show up (beta long-polls and would get it at once).
    time.sleep(2)
    ran = sorted(os.listdir(markers))
    expected = sorted([
        f"edge-alpha-{for_alpha.lower()}", f"edge-beta-{for_beta.lower()}", f"edge-alpha-{for_alpha_again.lower()}"])
    assert ran == expected

    for command_id, node in ((for_alpha, "edge-alpha"), (for_beta, "edge-beta"), (for_alpha_again, "edge-alpha")):
        detail = fleet.api.command(command_id)
        assert [i["node_id"] for i in detail["invocations"]] == [node], detail
        other = "edge-beta" if node == "edge-alpha" else "edge-alpha"
        assert fleet.api.get(f"/v1/commands/{command_id}/logs", node_id=other).status_code == 404
        assert_exact(fleet.api.read_logs(command_id, node, timeout=15), f"ran on {node}\n".encode(), b"")

    assert for_alpha.lower() not in beta.log_text().lower()
    assert for_alpha_again.lower() not in beta.log_text().lower()
    assert for_beta.lower() not in alpha.log_text().lower()
    fleet.assert_no_secrets_logged()

    # node-agent stops cleanly on SIGTERM (its long-poll is pending): exit status 0.
    for agent in (alpha, beta):
        status, seconds = agent.terminate(timeout=SIGTERM_BOUND_SEC)
        assert status == 0, f"{agent.name}: status {status} after SIGTERM ({seconds:.1f} s; None = had to be killed)"


def test_no_secret_in_debug_logs(fleet):
    """Even at debug level neither binary writes a token or secret to its log (the other
    tests check the default level): restart agent-svc at debug, run a node-agent at debug
    through registration, a command with output, and a clean stop."""
    fleet.svc.stop()
    fleet.svc.env["LOG_LEVEL"] = "debug"
    fleet.svc.start()
    agent = fleet.start_agent("edge-debug", LOG_LEVEL="debug")
    command_id = fleet.api.submit(["edge-debug"], "echo visible; echo also >&2")
    assert_exact(fleet.api.read_logs(command_id, "edge-debug", timeout=20), b"visible\n", b"also\n")
    assert fleet.api.invocation(command_id, "edge-debug")["state"] == "succeeded"
    assert agent.stop() == 0
    assert " debug " in agent.log_text() and " debug " in fleet.svc.log_text(), "debug logging was not on"
    fleet.assert_no_secrets_logged()
