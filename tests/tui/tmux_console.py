"""fleet-tui in a private tmux server: keys in, screen text out, every wait bounded."""
import os
import subprocess
import time

# The one node-agent the tui suite runs (conftest.py starts it; the tests look for it).
NODE_ID = "edge-tui-1"


class Console:
    """fleet-tui in a private tmux server, 120×40, UTF-8."""

    def __init__(self, fleet):
        self.socket = f"fleet-tui-e2e-{os.getpid()}"
        self.target = "tui:0.0"
        env = {"LANG": "C.UTF-8", "TERM": "xterm-256color", "AGENT_SVC_URL": fleet.svc.url, "FLEET_TOKEN": fleet.operator_token}
        command = " ".join(f"{k}={v}" for k, v in env.items()) + " " + str(fleet.binaries["fleet-tui"]) + " --refresh 1"
        # The shell reports the console's exit status after it has restored the terminal.
        self.tmux("-u", "new-session", "-d", "-s", "tui", "-x", "120", "-y", "40",
                  f"env {command}; echo fleet-tui exited with status $?; sleep 600")

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True, text=True, capture_output=True,
                              timeout=20, env=dict(os.environ, LANG="C.UTF-8")).stdout

    def screen(self, history=False):
        return self.tmux("capture-pane", "-p", "-t", self.target, *(["-S", "-200"] if history else []))

    def keys(self, *keys):
        self.tmux("send-keys", "-t", self.target, *keys)
        time.sleep(0.15)

    def type(self, text):
        self.tmux("send-keys", "-t", self.target, "-l", text)
        time.sleep(0.15)

    def wait_for(self, *texts, timeout=30, history=False):
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen(history)
            if all(t in screen for t in texts):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout}s waiting for {texts!r}; screen:\n{screen}")

    def pane(self, field):
        return self.tmux("display-message", "-p", "-t", self.target, "#{" + field + "}").strip()

    def close(self):
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=20)
