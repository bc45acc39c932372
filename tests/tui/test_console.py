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


def test_help_lists_the_keys_and_quit_restores_the_terminal(console):
    to_root(console)
    console.keys("?")
    console.wait_for("Nodes view", "Everywhere", "Revoke", timeout=10)
    console.keys("Escape")
    console.keys("q")
    screen = console.wait_for("fleet-tui exited with status 0", timeout=15, history=True)
    # endwin left the alternate screen: none of the console is on the pane any more
    assert "Nodes(" not in screen and "fleet ▸" not in screen, screen
