"""A node whose state dir fills up (a small tmpfs): a full disk must be back-pressure, not a
failure. Output larger than the disk completes byte-exact; when space never comes back the
command ends `failed` ("state dir full (N bytes free)") with what was stored delivered; a
start on a full disk waits instead of exiting; delivery_count stays bounded."""

from __future__ import annotations

import time

import pytest

from conftest import report
from fleet_harness import tail, wait_until
from drills import sha
from smallfs import SmallFilesystem, SmallFilesystemRefused

DISK_MB = 16


@pytest.fixture
def small_node(fleet):
    """Node `tight` whose STATE_DIR is a 16 MB filesystem of its own."""
    try:
        disk = SmallFilesystem(fleet.dir / "tight-state", DISK_MB)
    except SmallFilesystemRefused as error:
        pytest.skip(f"!!! FULL-DISK DRILLS SKIPPED: cannot mount a small filesystem: {error} !!!")
    agent = fleet.add_agent("tight")
    agent.state_dir = disk.path
    agent.env["STATE_DIR"] = str(disk.path)
    yield fleet, agent, disk
    agent.cleanup()
    disk.close()


def agent_log_lines(agent, text: str) -> int:
    return sum(1 for line in agent.log_text().splitlines() if text in line)


def test_output_larger_than_the_state_dir(small_node, capsys):
    fleet, agent, disk = small_node
    agent.start()
    api = fleet.api
    size = 40 << 20
    expected_file = fleet.dir / "big-expected.bin"
    # act: 40 MB of random bytes through a 16 MB state dir, default buffer cap (256 MiB)
    started = time.time()
    command = api.submit(["tight"], f"head -c {size} /dev/urandom | tee {expected_file}", timeout_sec=150)
    lowest = [disk.free_bytes()]

    def done():
        lowest[0] = min(lowest[0], disk.free_bytes())
        return api.invocation(command, "tight")["state"] in ("succeeded", "failed", "timed_out", "lost", "cancelled")
    try:
        wait_until(done, 120, "the 40 MB command to finish", interval=0.2)
    finally:
        report(capsys, f"full state dir, 40 MB through {DISK_MB} MB ({disk.kind}): state "
                       f"{api.invocation(command, 'tight')['state']} after {time.time() - started:.1f} s, "
                       f"lowest free {lowest[0]} bytes, agent running={agent.running}")
    read = api.read_logs(command, "tight", timeout=90)
    final = api.invocation(command, "tight")
    expected = expected_file.read_bytes()
    report(capsys, f"full state dir: {len(read.stdout)} of {len(expected)} bytes delivered in {time.time() - started:.1f} s, "
                   f"byte-exact={read.stdout == expected} (sha {sha(read.stdout)}), state {final['state']}, "
                   f"delivery_count {final['delivery_count']}")
    # check
    assert final["state"] == "succeeded", final
    assert read.problems() == []
    assert read.stdout == expected


def test_space_never_returns(small_node, capsys):
    fleet, agent, disk = small_node
    agent.start()
    api = fleet.api
    # setup: something else takes the whole disk
    filler = disk.fill()
    # act: a noisy command on the full disk, with a short timeout
    started = time.time()
    command = api.submit(["tight"], "head -c 20000000 /dev/zero | tr '\\0' 'y'", timeout_sec=8)
    try:
        final = api.wait_state(command, "tight", {"failed", "succeeded", "timed_out", "lost", "cancelled"}, timeout=60)
    finally:
        invocation = api.invocation(command, "tight")
        report(capsys, f"space never returns: state {invocation['state']} ({invocation.get('reason')!r}) after "
                       f"{time.time() - started:.1f} s, delivery_count {invocation['delivery_count']}, "
                       f"'could not record' log lines {agent_log_lines(agent, 'could not record')}, "
                       f"agent running={agent.running}")
    read = api.read_logs(command, "tight", timeout=60)
    report(capsys, f"space never returns: {len(read.stdout)} bytes stored before the stop were delivered "
                   f"(stdout_bytes {final['stdout_bytes']})")
    # check: the reason, the bytes stored so far delivered, bounded redelivery
    assert final["state"] == "failed"
    assert (final.get("reason") or "").startswith("state dir full (")
    assert read.problems() == []
    assert read.stdout == b"y" * len(read.stdout)
    assert len(read.stdout) == final["stdout_bytes"]
    assert final["delivery_count"] <= 2
    # and once space is back, the node works again
    filler.unlink()
    again = api.submit(["tight"], "echo back", timeout_sec=30)
    assert api.wait_state(again, "tight", {"succeeded"}, timeout=30)["state"] == "succeeded"


def test_start_on_a_full_disk_waits(small_node, capsys):
    fleet, agent, disk = small_node
    agent.start()
    api = fleet.api
    warmup = api.submit(["tight"], "echo warm", timeout_sec=30)
    api.wait_state(warmup, "tight", {"succeeded"}, timeout=30)
    agent.stop()
    # setup: the disk is full, the agent's reserve already used up by someone else's file
    filler = disk.fill("filler-1.bin")
    (disk.path / "agent.reserve").unlink(missing_ok=True)
    disk.fill("filler-2.bin")
    before = len(agent.log_text())
    # act
    agent.spawn()
    time.sleep(8)
    still_running = agent.running
    waiting_lines = sum(1 for line in agent.log_text()[before:].splitlines() if "state dir full" in line)
    report(capsys, f"start on a full disk: running after 8 s={still_running} (exit {agent.proc.returncode}), "
                   f"'state dir full' log lines {waiting_lines}")
    if not still_running:
        print(tail(agent.log_text()[before:], 20))
    # check: it waits, logging once; with space back it starts and runs work
    assert still_running
    assert 1 <= waiting_lines <= 2
    filler.unlink()
    (disk.path / "filler-2.bin").unlink()
    freed = time.time()
    agent.wait_log("node-agent started", timeout=30, after=before)
    command = api.submit(["tight"], "echo after", timeout_sec=30)
    final = api.wait_state(command, "tight", {"succeeded"}, timeout=30)
    report(capsys, f"start on a full disk: started {time.time() - freed:.1f} s after space came back; "
                   f"a new command {final['state']}")
