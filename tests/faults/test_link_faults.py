"""One node behind a link the test controls (namespace + TUN pair + forwarder): a 30 s
partition, then healed; and a slow, lossy link. Measures seconds from heal to complete
output and to the start of a command submitted during the partition."""

from __future__ import annotations

import time

import pytest

from conftest import report
from drills import lines_command, read_until_complete, sha, wait_started_line
from netlink import ImpairedLink, NamespaceRefused

PARTITION_SEC = 30


@pytest.fixture
def link():
    try:
        made = ImpairedLink()
    except NamespaceRefused as error:
        pytest.skip(f"!!! LINK DRILLS SKIPPED: the kernel refused a network namespace or TUN device: {error} !!!")
    yield made
    made.close()


@pytest.fixture
def edge(make_fleet, link):
    """A fleet served on the link's host address, with node `edge` inside the namespace."""
    fleet = make_fleet(host=link.server_ip)
    agent = fleet.add_agent("edge", ALLOW_INSECURE_HTTP="1")
    agent.argv = link.wrap(agent.argv)
    agent.start()
    yield fleet, agent
    agent.cleanup()  # before the namespace goes


def test_partition_30s_then_heal(edge, link, capsys):
    fleet, agent = edge
    api = fleet.api
    # setup: a command that prints for ~8 s; the partition starts once its first bytes are in
    cmd, expected = lines_command(160, 0.05)
    first = api.submit(["edge"], cmd, timeout_sec=120)
    api.wait_state(first, "edge", {"running"}, timeout=20)
    time.sleep(1)

    # act: a 30 s blackhole; a second command is submitted during it
    link.blackhole()
    cut = time.time()
    time.sleep(5)
    second = api.submit(["edge"], "date +%s.%N; echo second", timeout_sec=60)
    time.sleep(PARTITION_SEC - 5)
    link.heal()
    healed = time.time()

    # check: complete and byte-exact, and the second command ran once
    read, completed = read_until_complete(api, first, "edge", timeout=90)
    complete_after = completed - healed
    started_at = wait_started_line(api, second, "edge", timeout=60)
    start_after = started_at - healed
    final = api.wait_state(second, "edge", {"succeeded"}, timeout=30)
    first_final = api.invocation(first, "edge")
    report(capsys, f"partition {PARTITION_SEC} s (cut at {cut:.1f}, healed {healed - cut:.1f} s later): "
                   f"heal→output complete {complete_after:.1f} s ({len(read.stdout)} bytes, sha {sha(read.stdout)}), "
                   f"heal→new command started {start_after:.1f} s; delivery_count {final['delivery_count']}; "
                   f"forwarded {link.forwarded} / dropped {link.dropped} packets")
    assert read.problems() == []
    assert read.stdout == expected
    assert first_final["state"] == "succeeded"
    assert final["delivery_count"] <= 3


def test_impaired_link_delay_and_loss(edge, link, capsys):
    fleet, agent = edge
    api = fleet.api
    size = 512 * 1024
    expected_file = fleet.dir / "impaired-expected.bin"
    # setup: 100 ± 30 ms each way and 5 % loss each way
    link.impair(delay=0.1, jitter=0.03, loss=0.05)
    started = time.time()
    # act: random (not UTF-8) bytes, a copy kept for the comparison
    command = api.submit(["edge"], f"head -c {size} /dev/urandom | tee {expected_file}", timeout_sec=120)
    read = api.read_logs(command, "edge", timeout=130)
    took = time.time() - started
    final = api.wait_state(command, "edge", {"succeeded"}, timeout=30)
    expected = expected_file.read_bytes()
    report(capsys, f"impaired link (100±30 ms, 5 % loss): {len(read.stdout)} of {len(expected)} bytes in {took:.1f} s, "
                   f"byte-exact={read.stdout == expected}, delivery_count {final['delivery_count']}, "
                   f"dropped {link.dropped} of {link.forwarded + link.dropped} packets")
    # check
    assert len(expected) == size
    assert read.problems() == []
    assert read.stdout == expected
