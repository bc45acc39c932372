"""The real fleet-tui, driven through tmux, against a real agent-svc and node-agent."""
import re
import time

from tmux_console import NODE_ID


def to_root(console):
    """Back to the Nodes view from wherever the previous test left the console."""
    for _ in range(4):
        console.keys("Escape")
    console.keys("1")
    console.wait_for("Nodes(", timeout=10)


def run_command(console, cmd):
    to_root(console)
    console.wait_for(NODE_ID, "online", timeout=60)
    console.keys("r")
    console.wait_for("Run command", "→ 1 node: " + NODE_ID, timeout=10)
    console.type(cmd)
    console.keys("Enter")
    console.wait_for("[y] send", timeout=10)
    console.keys("y")
    screen = console.wait_for("Logs ", "submitted", timeout=15)
    return re.search(r"Logs ([0-9a-f]{8})", screen).group(1)


def test_the_node_appears_online(console):
    screen = console.wait_for(NODE_ID, "online", "● connected", timeout=60)
    assert "region=eu-west" in screen
    assert "Nodes(all)[1]" in screen


def test_a_command_from_the_run_form_shows_its_output_in_logs(console):
    run_command(console, "echo hello-from-tui; echo oops-on-stderr >&2")
    screen = console.wait_for("hello-from-tui", "oops-on-stderr", "complete", timeout=60)
    assert "following" in screen
    # the history lists it with its per-state counts
    console.keys("2")
    screen = console.wait_for("echo hello-from-tui", "ok:1", timeout=20)
    assert "RunCommand" in screen


def test_cancel_stops_a_sleep(console, fleet):
    short_id = run_command(console, "sleep 300")
    console.wait_for("live", timeout=10)
    # wait until the node runs it, so cancel has a process to stop
    command_id = next(c["command_id"] for c in fleet.api("/v1/commands?limit=5")["commands"]
                      if c["command_id"].lower().startswith(short_id))
    deadline = time.monotonic() + 30
    while fleet.api(f"/v1/commands/{command_id}")["invocations"][0]["state"] != "running":
        assert time.monotonic() < deadline, "sleep 300 never started"
        time.sleep(0.3)
    console.keys("c")
    console.wait_for("Cancel command", "[y] yes, do it", timeout=10)
    console.keys("y")
    console.wait_for("cancel:", timeout=10)
    # the tail ends when the node reports the cancelled invocation
    console.wait_for("complete", timeout=40)
    detail = fleet.api(f"/v1/commands/{command_id}")
    assert detail["invocations"][0]["state"] == "cancelled"
    console.keys("2")
    console.wait_for("sleep 300", "cxl:1", timeout=20)


def test_the_run_form_offers_every_type_and_refuses_hostile_package_names(console, fleet):
    to_root(console)
    console.wait_for(NODE_ID, "online", timeout=60)
    before = len(fleet.api("/v1/commands?limit=50")["commands"])
    console.keys("r")
    console.wait_for("Run command", timeout=10)
    console.keys("C-t")
    console.wait_for("(•) UpdateAgent", timeout=10)
    console.keys("C-t")
    console.wait_for("(•) UpdatePackage", "Action", "Manager", timeout=10)
    # ctrl-t leaves the focus on the type's own first field: Packages
    console.type("vim; rm -rf /")
    console.keys("Enter")
    screen = console.wait_for("not sent:", timeout=10)
    assert "'vim;' is not a valid package name" in screen
    # nothing reached the server
    assert len(fleet.api("/v1/commands?limit=50")["commands"]) == before
    console.keys("Escape")


def test_a_selector_and_rollout_bounds_from_the_run_form_reach_the_server(console, fleet):
    to_root(console)
    console.wait_for(NODE_ID, "online", timeout=60)
    console.keys("r")
    console.wait_for("Run command", "→ 1 node: " + NODE_ID, timeout=10)
    console.type("echo via-selector")
    console.keys("Up")  # Command → Targets
    console.keys("C-u")
    console.type("region=eu-west,role in (e2e)")
    # the preview: the same parser as agent-svc's, over the nodes the console has
    console.wait_for("→ 1 node match: " + NODE_ID, timeout=10)
    for _ in range(3):  # → Command → Timeout → Max concurrency
        console.keys("Tab")
    console.type("1")
    console.keys("Tab")
    console.type("0")
    console.keys("Enter")
    console.wait_for("1 node matching region=eu-west,role in (e2e)", "at most 1 at once", timeout=10)
    console.keys("y")
    screen = console.wait_for("Logs ", "submitted", timeout=15)
    short_id = re.search(r"Logs ([0-9a-f]{8})", screen).group(1)
    console.wait_for("via-selector", "complete", timeout=60)
    # the selector itself was sent, with the bounds; agent-svc resolved it to the node
    command = next(c for c in fleet.api("/v1/commands?limit=5")["commands"] if c["command_id"].lower().startswith(short_id))
    assert command["selector"] == "region=eu-west,role in (e2e)"
    assert command["target_count"] == 1
    assert (command["rollout"]["max_concurrency"], command["rollout"]["max_errors"]) == (1, 0)
    # the history shows the selector instead of a count, the Command view the rollout's progress
    console.keys("2")
    console.wait_for("TARGETS", "region=eu-west,role in", timeout=20)
    console.keys("g")
    console.keys("Enter")
    console.wait_for("selector  region=eu-west,role in (e2e)  → 1 node",
                     "rollout   0 running of max 1, 0 waiting, 0 errors of max 0", timeout=20)


def test_help_lists_the_keys_and_quit_restores_the_terminal(console):
    to_root(console)
    console.keys("?")
    console.wait_for("Nodes view", "Everywhere", "Revoke", timeout=10)
    console.keys("Escape")
    console.keys("q")
    screen = console.wait_for("fleet-tui exited with status 0", timeout=15, history=True)
    # endwin left the alternate screen: none of the console is on the pane any more
    assert "Nodes(" not in screen and "fleet ▸" not in screen, screen
