"""Fleet-scale targeting and rollouts end to end (issue 11): label selectors resolved by
agent-svc, max_concurrency (a count or a percentage), max_errors, cancel of a throttled
command, deliver_within_sec expiry of an offline node, and the concurrency limit across two
agent-svc replicas on one Postgres.

One module-scoped fleet (one database, one agent-svc, ten real node-agents in pool=main plus
two spares) serves every test except the two-replica one, which builds its own. Each test
uses its own selector and waits for every invocation it made to end, so the tests do not
depend on each other's order.

Each concurrency test runs a command that prints its own start and end time; the intervals
come back through the logs API and are checked for overlap. The figures issue 11 asks to be
reported (submit to first delivery with and without max_concurrency, the hand-off gap from
one invocation's end to the next one's start) are printed as `rollout: ...` lines, with or
without -s, and logged.
"""

from __future__ import annotations

import logging
import re
import statistics
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import SESSION_TAG, E2EFleet
from fleet_harness import AgentService, free_port, wait_until
from harness import Api, kill_tagged

log = logging.getLogger("rollout")

FINAL = {"succeeded", "failed", "timed_out", "cancelled", "expired", "lost"}
ERRORS = {"failed", "timed_out", "lost"}

# The ten nodes of pool=main: 6 web, 4 db, split over two regions.
WEB = [f"web-{i}" for i in range(1, 7)]
DB = [f"db-{i}" for i in range(1, 5)]
MAIN = WEB + DB
REGION = {**{n: ("eu" if i < 3 else "us") for i, n in enumerate(WEB)},
          **{n: ("eu" if i < 2 else "us") for i, n in enumerate(DB)}}
# Outside pool=main: one node the selector test revokes, one the expiry test stops.
REVOKED = "web-revoked"
SPARE = "spare-off"

# The agent-svc reaper runs every 5 s (ServiceConfiguration.reaperIntervalSeconds, not
# configurable by environment when this was written): an expiry may take that much longer.
REAPER_INTERVAL_SEC = 5

STAMP_CMD = "date +%s.%N; sleep {sleep}; date +%s.%N"


# --------------------------------------------------------------------------------------------
# helpers


def report(capsys, message: str) -> None:
    """A measured figure: on the terminal whatever the capture mode, and in the log."""
    log.info(message)
    with capsys.disabled():
        print(f"\nrollout: {message}", flush=True)


def ts(text: str | None) -> float:
    assert text, "missing timestamp"
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class RolloutFleet(E2EFleet):
    """E2EFleet with extra agent-svc replicas on the same database."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.replicas: list[AgentService] = []

    def start_replica(self) -> AgentService:
        """Another agent-svc on the same database (same secret, enrollment token and tag)."""
        index = len(self.replicas) + 2
        env = dict(self.svc_env, PORT=str(free_port()))
        replica = AgentService(self.binaries["agent-svc"], env, int(env["PORT"]), self.dir / f"agent-svc-{index}.log")
        replica.name = f"agent-svc-{index}"
        self.replicas.append(replica)
        replica.start()
        return replica

    def log_files(self) -> list[Path]:
        return super().log_files() + [r.log_path for r in self.replicas]

    def teardown(self) -> None:
        for replica in self.replicas:
            replica.cleanup()
        super().teardown()


def make_fleet(e2e_root, binaries, pg_cluster, name: str) -> RolloutFleet:
    directory = e2e_root / "tests" / name
    directory.mkdir(parents=True)
    return RolloutFleet(directory, binaries, pg_cluster, f"{SESSION_TAG}-{name}-")


def start_agents(fleet, attrs_by_node: dict[str, str], timeout: float = 60, **extra_env) -> None:
    """Spawns all the agents at once, then waits until each has registered and started."""
    agents = [fleet.add_agent(node_id, attrs, **extra_env) for node_id, attrs in attrs_by_node.items()]
    before = {a.node_id: a.log_text().count("node-agent started") for a in agents}
    for agent in agents:
        agent.spawn()

    def all_started():
        for agent in agents:
            if not agent.running:
                raise AssertionError(f"{agent.name} exited with status {agent.proc.returncode}:\n{agent.log_text()[-3000:]}")
        return all(a.identity_path.exists() and a.log_text().count("node-agent started") > before[a.node_id] for a in agents)
    wait_until(all_started, timeout, f"{len(agents)} node-agents to register and start", interval=0.2)


def submit(api, body: dict) -> dict:
    """POST /v1/commands/submit with a RunCommand payload defaulted in; asserts 201/200."""
    response = post_submit(api, body)
    assert response.status_code in (200, 201), f"submit {body}: {response.status_code} {response.text}"
    return response.json()


def post_submit(api, body: dict):
    full = {"command_type": "RunCommand", **body}
    full.setdefault("payload", {"cmd": "true", "timeout_sec": 60})
    return api.session.post(api.base_url + "/v1/commands/submit", json=full, timeout=15)


def run(cmd: str, timeout_sec: int = 60) -> dict:
    return {"cmd": cmd, "timeout_sec": timeout_sec}


def error_code(response) -> str:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return f"<no error code in {response.text[:300]!r}>"


def detail(api, command_id: str, **params) -> dict:
    response = api.get(f"/v1/commands/{command_id}", **params)
    assert response.status_code == 200, f"GET command {params}: {response.status_code} {response.text[:500]}"
    return response.json()


def invocations(api, command_id: str, state: str | None = None, limit: int | None = None) -> list[dict]:
    """Every invocation of the command, following next_cursor (bounded)."""
    found, cursor = [], None
    for _ in range(1000):
        params = {}
        if state:
            params["state"] = state
        if limit:
            params["limit"] = limit
        if cursor:
            params["cursor"] = cursor
        page = detail(api, command_id, **params)
        found.extend(page["invocations"])
        cursor = page.get("next_cursor")
        if not cursor:
            return found
    raise AssertionError(f"more than 1000 pages of invocations for {command_id}")


def wait_final(api, command_id: str, timeout: float, sample=None) -> list[dict]:
    """Waits until every invocation is final; `sample(detail)` sees each GET on the way."""
    last: list = []

    def done():
        nonlocal last
        page = detail(api, command_id)
        if sample:
            sample(page)
        last = invocations(api, command_id) if page.get("next_cursor") else page["invocations"]
        return last if last and all(i["state"] in FINAL for i in last) else None
    try:
        return wait_until(done, timeout, f"every invocation of {command_id} to end", interval=0.1)
    except AssertionError as error:
        states = sorted((i["node_id"], i["state"]) for i in last)
        raise AssertionError(f"{error}; last seen: {states}") from None


def history_length(api) -> int:
    total, cursor = 0, None
    for _ in range(100):
        params = {"limit": 500}
        if cursor:
            params["cursor"] = cursor
        response = api.get("/v1/commands", **params)
        assert response.status_code == 200, response.text
        page = response.json()
        total += len(page["commands"])
        cursor = page.get("next_cursor")
        if not cursor:
            return total
    raise AssertionError("command history longer than 100 pages")


def get_agents(api, selector: str):
    """GET /v1/agents?selector=…, percent-encoded (a space as %20: agent-svc keeps a `+` in a
    query literal, as selector values may contain `+`, so the form encoding of requests' params
    — space as `+` — would not do)."""
    return api.session.get(f"{api.base_url}/v1/agents?selector={quote(selector, safe='')}", timeout=15)


def listed(api, selector: str) -> list[dict]:
    response = get_agents(api, selector)
    assert response.status_code == 200, f"GET /v1/agents?selector={selector}: {response.status_code} {response.text}"
    return response.json()["nodes"]


def stamps(api, command_id: str, nodes: list[str]) -> dict[str, tuple[float, float]]:
    """Each node's (start, end) as its command printed them."""
    found = {}
    for node in nodes:
        out = api.read_logs(command_id, node, timeout=20).stdout.decode(errors="replace")
        values = re.findall(r"^\d+\.\d+$", out, flags=re.M)
        assert len(values) == 2, f"{node}: expected two timestamps in stdout, got {out!r}"
        found[node] = (float(values[0]), float(values[1]))
    return found


def max_overlap(intervals) -> int:
    """Most intervals open at one instant; an interval ending exactly when another starts does not overlap it."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    current = peak = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


def handoff_gaps(intervals: list[tuple[float, float]], limit: int) -> list[float]:
    """For every start after the first `limit`: seconds since the latest end before it (the slot it took)."""
    starts = sorted(start for start, _ in intervals)[limit:]
    ends = sorted(end for _, end in intervals)
    gaps = []
    for start in starts:
        before = [end for end in ends if end <= start]
        if before:
            gaps.append(start - before[-1])
    return gaps


def figures(values: list[float]) -> str:
    if not values:
        return "n/a"
    ms = [v * 1000 for v in values]
    return f"min {min(ms):.0f} ms, median {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms (n={len(ms)})"


def first_delivery_latency(api, command_id: str) -> float:
    page = detail(api, command_id)
    created = ts(page["command"]["created_at"])
    delivered = [ts(i["delivered_at"]) for i in invocations(api, command_id) if i.get("delivered_at")]
    assert delivered, f"no invocation of {command_id} was delivered"
    return min(delivered) - created


class InFlightSampler:
    """Records the most invocations delivered or running at once, from the command's counts."""

    def __init__(self):
        self.peak = 0
        self.samples = 0

    def __call__(self, page: dict) -> None:
        counts = page["command"]["counts"]
        self.peak = max(self.peak, counts["delivered"] + counts["running"])
        self.samples += 1


def throttled_run(api, selector: str, max_concurrency, nodes: list[str], sleep: float, timeout: float):
    """Submits the stamping command with max_concurrency, waits for the end; returns
    (command id, submit response, invocations, stamps, sampler)."""
    body = {"selector": selector, "max_concurrency": max_concurrency, "payload": run(STAMP_CMD.format(sleep=sleep))}
    submitted = submit(api, body)
    assert sorted(submitted["targets"]) == sorted(nodes), submitted
    command_id = submitted["command_id"]
    sampler = InFlightSampler()
    final = wait_final(api, command_id, timeout, sample=sampler)
    assert {i["state"] for i in final} == {"succeeded"}, sorted((i["node_id"], i["state"], i.get("reason")) for i in final)
    return command_id, submitted, final, stamps(api, command_id, nodes), sampler


def server_intervals(final: list[dict]) -> list[tuple[float, float]]:
    """(delivered_at, finished_at) per invocation: the server's view of each slot's use."""
    return [(ts(i["delivered_at"]), ts(i["finished_at"])) for i in final]


# --------------------------------------------------------------------------------------------
# fixtures


def main_attrs() -> dict[str, str]:
    attrs = {n: f"pool=main,role=web,region={REGION[n]}" for n in WEB}
    attrs.update({n: f"pool=main,role=db,region={REGION[n]}" for n in DB})
    return attrs


@pytest.fixture(scope="module")
def rollout_fleet(e2e_root, binaries, pg_cluster):
    world = make_fleet(e2e_root, binaries, pg_cluster, "rollout-module")
    try:
        world.svc.start()
        started = time.monotonic()
        start_agents(world, {**main_attrs(),
                             REVOKED: "pool=extra,role=web,region=eu,doomed=yes",
                             SPARE: "pool=extra,role=spare,region=ap"})
        log.info("12 node-agents started in %.1f s", time.monotonic() - started)
        # Warm-up: every agent has polled and is in its long-poll before the tests measure.
        warm = world.api.submit(list(world.agents), "true", timeout_sec=30)
        wait_final(world.api, warm, timeout=40)
        yield world
    finally:
        world.teardown()


@pytest.fixture
def fleet10(request, rollout_fleet):
    request.node.fleet_logs = rollout_fleet.log_files
    return rollout_fleet


# --------------------------------------------------------------------------------------------
# tests


def test_rollout_selector_targets_matching_nodes(fleet10, capsys):
    """Selectors: the listing and the submit resolve the same nodes; malformed and empty
    selectors are refused without queueing anything; a revoked node is never selected."""
    api = fleet10.api

    # Revoke one role=web node (its agent stopped first, so it does not retry with a dead token).
    fleet10.agents[REVOKED].stop()
    response = api.session.post(f"{api.base_url}/v1/agents/{REVOKED}/revoke", timeout=15)
    assert response.status_code == 200, f"revoke: {response.status_code} {response.text}"

    nodes = listed(api, "role=web")
    active = sorted(n["node_id"] for n in nodes if n.get("status", "active") != "revoked")
    assert active == sorted(WEB), nodes
    assert {n["node_id"] for n in nodes} <= set(WEB) | {REVOKED}, nodes
    assert sorted(n["node_id"] for n in listed(api, "role=db,region in (eu)")) == ["db-1", "db-2"]
    assert sorted(n["node_id"] for n in listed(api, "pool=main,region=us,role!=db")) == ["web-4", "web-5", "web-6"]
    assert sorted(n["node_id"] for n in listed(api, "pool=main,role notin (web)")) == sorted(DB)
    assert listed(api, "pool=main,!role") == []
    bad_listing = get_agents(api, "role in (web")
    assert bad_listing.status_code == 400, f"GET /v1/agents with a malformed selector: {bad_listing.status_code} {bad_listing.text}"

    # Refusals queue nothing.
    before = history_length(api)
    for malformed in ("role in (web", "=web", "role=web,", "role=(web)"):
        response = post_submit(api, {"selector": malformed})
        assert response.status_code == 400 and error_code(response) == "invalid_selector", (
            f"selector {malformed!r}: {response.status_code} {response.text}")
    for nothing in ("role=nosuch", "doomed=yes"):  # doomed=yes matches only the revoked node
        response = post_submit(api, {"selector": nothing})
        assert response.status_code == 400 and error_code(response) == "no_targets", (
            f"selector {nothing!r}: {response.status_code} {response.text}")
    both = post_submit(api, {"selector": "role=web", "targets": ["web-1"]})
    assert both.status_code == 400, f"targets and selector together: {both.status_code} {both.text}"
    assert history_length(api) == before, "a refused submit queued a command"

    # The selector resolves to the six active web nodes, and they all run it.
    submitted = submit(api, {"selector": "role=web", "payload": run("true")})
    assert sorted(submitted["targets"]) == sorted(WEB), submitted
    command_id = submitted["command_id"]
    final = wait_final(api, command_id, timeout=30)
    assert sorted((i["node_id"], i["state"]) for i in final) == [(n, "succeeded") for n in sorted(WEB)]
    command = detail(api, command_id)["command"]
    assert command.get("selector") == "role=web", command
    assert command["target_count"] == 6 and command["counts"]["succeeded"] == 6, command

    # `*`: every registered, non-revoked node (the spare included, whatever its state).
    everything = submit(api, {"selector": "*", "payload": run("true"), "deliver_within_sec": 20})
    assert sorted(everything["targets"]) == sorted(MAIN + [SPARE]), everything
    assert REVOKED not in everything["targets"]
    final = wait_final(api, everything["command_id"], timeout=30)
    assert all(i["state"] in ("succeeded", "expired") for i in final), final
    assert history_length(api) == before + 2


def test_rollout_invalid_rollout_values_refused(fleet10):
    """Out-of-range rollout controls → 400 invalid_rollout; junk that is not a number or a
    percentage at all → 400 (invalid_body: it fails to decode); nothing queued."""
    api = fleet10.api
    before = history_length(api)
    for bad in ({"max_concurrency": 0}, {"max_concurrency": -1}, {"max_concurrency": "0%"},
                {"max_concurrency": "101%"}, {"max_errors": -1}, {"max_errors": "101%"},
                {"max_errors": "-1%"}, {"deliver_within_sec": 0}, {"deliver_within_sec": -5}):
        response = post_submit(api, {"selector": "pool=main", **bad})
        assert response.status_code == 400 and error_code(response) == "invalid_rollout", (
            f"{bad}: {response.status_code} {response.text}")
    for junk in ({"max_concurrency": "abc"}, {"max_errors": "x%"}, {"max_concurrency": 1.5},
                 {"deliver_within_sec": "soon"}):
        response = post_submit(api, {"selector": "pool=main", **junk})
        assert response.status_code == 400 and error_code(response) in ("invalid_rollout", "invalid_body"), (
            f"{junk}: {response.status_code} {response.text}")
    assert history_length(api) == before


def test_rollout_max_concurrency_3_never_exceeded_and_used(fleet10, capsys):
    """max_concurrency=3 over ten nodes: never more than 3 commands running at once, 3 at
    some point; all ten succeed. Also measures the latency figures of issue 11."""
    api = fleet10.api

    # Unthrottled reference for submit → first delivery.
    plain = submit(api, {"selector": "pool=main", "payload": run("true")})
    wait_final(api, plain["command_id"], timeout=30)
    unthrottled = first_delivery_latency(api, plain["command_id"])

    started = time.monotonic()
    command_id, submitted, final, stamped, sampler = throttled_run(api, "pool=main", 3, MAIN, sleep=0.6, timeout=45)
    elapsed = time.monotonic() - started

    intervals = list(stamped.values())
    assert max_overlap(intervals) <= 3, f"more than 3 ran at once: {sorted(intervals)}"
    assert max_overlap(intervals) == 3, f"never 3 at once: {sorted(intervals)}"
    assert max_overlap(server_intervals(final)) <= 3, f"server timestamps show >3 in flight: {server_intervals(final)}"
    assert sampler.peak <= 3, f"counts showed {sampler.peak} delivered+running"

    rollout = detail(api, command_id)["command"].get("rollout") or {}
    assert rollout.get("max_concurrency") == 3, rollout
    assert not rollout.get("stopped_reason"), rollout

    # Paging: limit 4 over ten invocations, and the state filter.
    paged = invocations(api, command_id, limit=4)
    assert sorted(i["node_id"] for i in paged) == sorted(MAIN), paged
    assert len(invocations(api, command_id, state="succeeded")) == 10
    assert invocations(api, command_id, state="failed") == []

    throttled = first_delivery_latency(api, command_id)
    report(capsys, f"submit → first delivery: unthrottled {unthrottled * 1000:.0f} ms, "
                   f"max_concurrency=3 {throttled * 1000:.0f} ms (ratio {throttled / max(unthrottled, 1e-3):.1f}×)")
    report(capsys, f"max_concurrency=3 × 10 × sleep 0.6: {elapsed:.1f} s wall; peak overlap {max_overlap(intervals)}; "
                   f"counts peak {sampler.peak} over {sampler.samples} samples")
    report(capsys, f"slot hand-off, server finished_at → next delivered_at: {figures(handoff_gaps(server_intervals(final), 3))}")
    report(capsys, f"slot hand-off, command end → next command start: {figures(handoff_gaps(intervals, 3))}")


def test_rollout_max_concurrency_percentage(fleet10, capsys):
    """max_concurrency "20%" of ten nodes → at most 2 at once (and 2 are used)."""
    api = fleet10.api
    command_id, _, final, stamped, sampler = throttled_run(api, "pool=main,region in (eu,us)", "20%", MAIN,
                                                          sleep=0.4, timeout=45)
    intervals = list(stamped.values())
    assert max_overlap(intervals) <= 2, f"more than 2 ran at once: {sorted(intervals)}"
    assert max_overlap(intervals) == 2, f"never 2 at once: {sorted(intervals)}"
    assert max_overlap(server_intervals(final)) <= 2
    assert sampler.peak <= 2
    rollout = detail(api, command_id)["command"]["rollout"]
    assert rollout["max_concurrency"] == 2, rollout
    assert str(rollout.get("max_concurrency_spec")) == "20%", rollout
    report(capsys, f"max_concurrency=20% of 10: peak overlap {max_overlap(intervals)}; "
                   f"hand-off command end → next start {figures(handoff_gaps(intervals, 2))}")


def test_rollout_max_errors_stops_and_cancels_rest(fleet10, capsys):
    """max_errors=1, max_concurrency=2, every invocation fails: at most 3 fail (two in flight
    plus the one that took the first failure's slot), the rest are cancelled with the reason."""
    api = fleet10.api
    submitted = submit(api, {"selector": "pool=main,role in (web,db)", "max_concurrency": 2, "max_errors": 1,
                             "payload": run("sleep 0.3; exit 3")})
    assert sorted(submitted["targets"]) == sorted(MAIN)
    command_id = submitted["command_id"]
    final = wait_final(api, command_id, timeout=30)
    by_state: dict[str, list[dict]] = {}
    for invocation in final:
        by_state.setdefault(invocation["state"], []).append(invocation)
    summary = {state: len(items) for state, items in by_state.items()}
    assert set(by_state) <= {"failed", "cancelled"}, summary
    failed, cancelled = by_state.get("failed", []), by_state.get("cancelled", [])
    assert 2 <= len(failed) <= 3, summary
    assert len(cancelled) == 10 - len(failed), summary
    assert all(i["exit_code"] == 3 for i in failed), failed
    for invocation in cancelled:
        assert re.search(r"max[ _-]errors", invocation.get("reason") or "", re.I), invocation
        assert not invocation.get("delivered_at") and invocation["delivery_count"] == 0, invocation
    command = detail(api, command_id)["command"]
    assert command["rollout"].get("stopped_reason"), command["rollout"]
    assert command["rollout"]["max_errors"] == 1, command["rollout"]
    assert command["counts"]["failed"] == len(failed) and command["counts"]["cancelled"] == len(cancelled), command
    assert sorted(i["node_id"] for i in invocations(api, command_id, state="cancelled")) == sorted(
        i["node_id"] for i in cancelled)
    report(capsys, f"max_errors=1/max_concurrency=2: {summary}; stopped_reason {command['rollout']['stopped_reason']!r}")


def test_rollout_cancel_throttled_command(fleet10, capsys):
    """max_concurrency=1 with `sleep 5`: once the first runs, cancel ends the nine waiting at
    once and the running one soon; none of the waiting ones is ever delivered."""
    api = fleet10.api
    submitted = submit(api, {"selector": "pool=main,region", "max_concurrency": 1, "payload": run("sleep 5")})
    command_id = submitted["command_id"]

    def one_running():
        counts = detail(api, command_id)["command"]["counts"]
        return counts if counts["running"] == 1 else None
    counts = wait_until(one_running, 20, "the first invocation to run", interval=0.1)
    assert counts["queued"] == 9, counts

    started = time.monotonic()
    response = api.session.post(f"{api.base_url}/v1/commands/{command_id}/cancel", timeout=15)
    assert response.status_code == 200, f"cancel: {response.status_code} {response.text}"
    answer = response.json()
    assert (answer["cancelled"], answer["cancelling"]) == (9, 1), answer

    now = invocations(api, command_id)
    waiting = [i for i in now if i["state"] == "cancelled"]
    assert len(waiting) == 9, sorted((i["node_id"], i["state"]) for i in now)
    running_node = next(i["node_id"] for i in now if i["state"] != "cancelled")

    final = wait_final(api, command_id, timeout=15)
    stop_seconds = time.monotonic() - started
    states = {i["node_id"]: i for i in final}
    assert states[running_node]["state"] == "cancelled", states[running_node]
    for node, invocation in states.items():
        if node != running_node:
            assert invocation["delivery_count"] == 0 and not invocation.get("delivered_at"), invocation
    assert stop_seconds < 10, f"the running invocation took {stop_seconds:.1f} s to end after cancel"
    report(capsys, f"cancel of max_concurrency=1: 9 waiting cancelled at once, running one ended in {stop_seconds:.1f} s")


def test_rollout_deliver_within_expires_offline_node(fleet10, capsys):
    """deliver_within_sec=2 to a registered node whose agent is stopped → `expired` within
    2 s + the reaper interval; a longer deadline is still delivered once the agent is back."""
    api = fleet10.api
    spare = fleet10.agents[SPARE]
    if spare.running:
        assert spare.stop() == 0, "node-agent did not stop cleanly on SIGTERM"
    assert not spare.running

    started = time.monotonic()
    short = submit(api, {"selector": "role=spare", "deliver_within_sec": 2, "payload": run("echo short")})
    assert short["targets"] == [SPARE], short  # an offline node is selected
    longer = submit(api, {"selector": "role=spare", "deliver_within_sec": 60, "payload": run("echo longer")})
    assert longer["targets"] == [SPARE], longer
    assert detail(api, short["command_id"])["command"]["rollout"]["deliver_within_sec"] == 2

    bound = 2 + REAPER_INTERVAL_SEC + 3
    invocation = api.wait_state(short["command_id"], SPARE, FINAL, timeout=bound)
    expired_after = time.monotonic() - started
    assert invocation["state"] == "expired", invocation
    assert expired_after >= 1.9, f"expired after {expired_after:.1f} s, before its 2 s deadline"
    assert api.invocation(longer["command_id"], SPARE)["state"] == "queued"

    spare.start()
    done = api.wait_state(longer["command_id"], SPARE, FINAL, timeout=30)
    assert done["state"] == "succeeded", done
    assert api.read_logs(longer["command_id"], SPARE, timeout=15).stdout == b"longer\n"
    assert api.invocation(short["command_id"], SPARE)["state"] == "expired"
    report(capsys, f"deliver_within_sec=2 on a stopped node: expired after {expired_after:.1f} s "
                   f"(bound {bound} s with a {REAPER_INTERVAL_SEC} s reaper)")


def test_rollout_two_replicas_hold_the_limit(request, e2e_root, binaries, pg_cluster, capsys):
    """Two agent-svc replicas on one database, eight nodes split between them:
    max_concurrency=3 never has more than 3 running, and max_concurrency=1 is strictly serial."""
    world = make_fleet(e2e_root, binaries, pg_cluster, "rollout-replicas")
    request.node.fleet_logs = world.log_files
    try:
        world.svc.start()
        second = world.start_replica()
        first_half = {f"r1-{i}": f"pool=rep,side=one,n={i}" for i in range(1, 5)}
        second_half = {f"r2-{i}": f"pool=rep,side=two,n={i}" for i in range(1, 5)}
        start_agents(world, first_half)
        start_agents(world, second_half, AGENT_SVC_URL=second.url)
        nodes = sorted(first_half) + sorted(second_half)
        warm = world.api.submit(nodes, "true", timeout_sec=30)
        wait_final(world.api, warm, timeout=30)

        api = world.api
        command_id, _, final, stamped, sampler = throttled_run(api, "pool=rep", 3, nodes, sleep=0.5, timeout=45)
        intervals = list(stamped.values())
        assert max_overlap(intervals) <= 3, f"more than 3 ran at once across replicas: {sorted(intervals)}"
        assert max_overlap(server_intervals(final)) <= 3, server_intervals(final)
        assert sampler.peak <= 3, sampler.peak

        # Through the second replica's API, strictly one at a time.
        second_api = Api(second.url, world.operator_token)
        try:
            serial_id, _, serial_final, serial_stamps, serial_sampler = throttled_run(
                second_api, "pool=rep", 1, nodes, sleep=0.2, timeout=45)
        finally:
            second_api.close()
        serial = list(serial_stamps.values())
        assert max_overlap(serial) == 1, f"max_concurrency=1 overlapped across replicas: {sorted(serial)}"
        assert max_overlap(server_intervals(serial_final)) == 1, server_intervals(serial_final)
        assert serial_sampler.peak <= 1

        report(capsys, f"two replicas, max_concurrency=3 × 8: peak overlap {max_overlap(intervals)}; "
                       f"hand-off {figures(handoff_gaps(intervals, 3))}")
        report(capsys, f"two replicas, max_concurrency=1 × 8: hand-off command end → next start "
                       f"{figures(handoff_gaps(serial, 1))}")
    finally:
        world.teardown()
        kill_tagged(world.tag)
