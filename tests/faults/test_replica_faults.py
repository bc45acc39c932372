"""Two agent-svc replicas on one database; one is SIGKILLed during a burst of submits. Every
command must run exactly once on every target, counted by a side-effect file."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections import Counter

import requests

from conftest import report
from fleet_harness import wait_until

NODES = 4
SUBMITS = 60


def test_replica_sigkilled_during_submit_burst(fleet, capsys):
    api = fleet.api
    replica = fleet.start_replica()
    urls = [fleet.svc.url, replica.url]
    side_effects = fleet.dir / "side-effects"
    side_effects.mkdir()
    # setup: half the nodes on each replica
    nodes = [f"rep-{i}" for i in range(NODES)]
    for index, node in enumerate(nodes):
        agent = fleet.add_agent(node)
        agent.env["AGENT_SVC_URL"] = urls[index % 2]
        agent.start()

    # act: submits alternate between the replicas; replica 1 is SIGKILLed a third of the way in.
    # A submit whose answer is lost is retried with its Idempotency-Key on the other replica.
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {fleet.operator_token}"
    command_ids: list[str] = []
    retried = 0
    killed_at = None
    for n in range(SUBMITS):
        if n == SUBMITS // 3:
            fleet.svc.kill(signal.SIGKILL)
            killed_at = time.time()
        key = str(uuid.uuid4())
        body = {"command_type": "RunCommand", "targets": nodes,
                "payload": {"cmd": f'echo "$FLEET_COMMAND_ID $NODE_ID" >> {side_effects}/all', "timeout_sec": 60}}
        for attempt in range(4):
            url = urls[(n + attempt) % 2]
            try:
                response = session.post(url + "/v1/commands/submit", json=body, headers={"Idempotency-Key": key}, timeout=10)
            except requests.RequestException:
                retried += 1
                continue
            if response.status_code in (200, 201):
                command_ids.append(response.json()["command_id"])
                break
            retried += 1
        else:
            raise AssertionError(f"submit {n} failed on both replicas")
        if killed_at and n == SUBMITS // 3 + 5:
            fleet.svc.start()  # the killed replica comes back on the same port
    restarted_at = time.time()

    def all_final():
        for command_id in set(command_ids):
            detail = api.command(command_id)
            if any(i["state"] not in ("succeeded", "failed", "timed_out", "cancelled", "lost", "expired")
                   for i in detail["invocations"]):
                return False
        return True
    wait_until(all_final, 120, "every invocation to reach a final state", interval=1)
    settled = time.time()

    # check: exactly once per (command, node)
    lines = (side_effects / "all").read_text().splitlines()
    counts = Counter(line.lower() for line in lines)
    states = Counter()
    max_delivery = 0
    for command_id in set(command_ids):
        for invocation in api.command(command_id)["invocations"]:
            states[invocation["state"]] += 1
            max_delivery = max(max_delivery, invocation["delivery_count"])
    report(capsys, f"replica SIGKILL during {SUBMITS} submits to {NODES} nodes: {len(set(command_ids))} commands, "
                   f"{sum(states.values())} invocations {dict(states)}, {len(lines)} executions, "
                   f"{sum(1 for c in counts.values() if c > 1)} duplicated, {retried} submit retries, "
                   f"settled {settled - restarted_at:.1f} s after the last submit, max delivery_count {max_delivery}")
    assert len(set(command_ids)) == SUBMITS
    assert states == Counter({"succeeded": SUBMITS * NODES})
    expected = {f"{command_id.lower()} {node}" for command_id in command_ids for node in nodes}
    assert set(counts) == expected, "a command did not run on some node, or something unknown ran"
    assert all(count == 1 for count in counts.values()), "a command ran more than once on a node"
