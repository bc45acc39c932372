"""Fixtures for driving the real fleet-tui in tmux against a real agent-svc and node-agent.

Everything runs in a temp dir on free ports: a private Postgres cluster (scripts/lib/postgres.sh),
agent-svc, one node-agent, and fleet-tui inside its own tmux server. Every wait is bounded and
everything is stopped at the end, also when a test fails.
"""
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NODE_ID = "edge-tui-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bin_dir():
    if os.environ.get("FLEET_BIN"):
        return os.environ["FLEET_BIN"]
    for product in ("agent-svc", "node-agent", "fleet-tui"):
        subprocess.run(["swift", "build", "--product", product], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, timeout=1800)
    return subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, check=True, text=True,
                          capture_output=True, timeout=120).stdout.strip()


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Fleet:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fleet-tui-e2e-")
        os.chmod(self.dir, 0o755)  # the postgres user must reach the cluster dir when we are root
        self.procs = []
        self.pg_dir = os.path.join(self.dir, "pg")
        self.bin = bin_dir()
        self.pg_port = free_port()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, JWT_SIGNING_SECRET=secrets.token_hex(32), ENROLLMENT_TOKEN=secrets.token_hex(16),
                        LOG_LEVEL="info")
        self.token = None

    def sh(self, script, timeout=120):
        return subprocess.run(["bash", "-c", script], cwd=ROOT, check=True, timeout=timeout, text=True, capture_output=True)

    def start(self):
        self.sh(f'. scripts/lib/postgres.sh && pg_start "{self.pg_dir}" {self.pg_port} && '
                f'psql -q -h 127.0.0.1 -p {self.pg_port} -U postgres -c "CREATE DATABASE fleet"')
        svc_env = dict(self.env, DB_HOST="127.0.0.1", DB_PORT=str(self.pg_port), DB_USER="postgres", DB_NAME="fleet",
                       PORT=str(self.port), HOST="127.0.0.1", MIGRATIONS_DIR=os.path.join(ROOT, "migrations"))
        self.spawn([os.path.join(self.bin, "agent-svc")], svc_env, "agent-svc.log")
        wait_until(self.ready, 60, "agent-svc /readyz")
        state = os.path.join(self.dir, "node")
        os.makedirs(state, mode=0o700)
        node_env = dict(self.env, AGENT_SVC_URL=self.url, NODE_ID=NODE_ID, NODE_ATTRS="region=eu-west,role=e2e",
                        STATE_DIR=state)
        self.spawn([os.path.join(self.bin, "node-agent")], node_env, "node-agent.log")
        self.token = subprocess.run([os.path.join(self.bin, "agent-svc"), "operator-token", "--name", "tui-e2e"],
                                    env=self.env, check=True, text=True, capture_output=True, timeout=60).stdout.strip()

    def spawn(self, argv, env, log):
        with open(os.path.join(self.dir, log), "ab") as out:
            self.procs.append(subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                               start_new_session=True))

    def ready(self):
        try:
            with urllib.request.urlopen(self.url + "/readyz", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def api(self, path):
        req = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    def logs(self):
        out = []
        for name in ("agent-svc.log", "node-agent.log"):
            path = os.path.join(self.dir, name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    out.append(f"--- {name}\n" + "".join(f.readlines()[-30:]))
        return "\n".join(out)

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in reversed(self.procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        try:
            self.sh(f'. scripts/lib/postgres.sh && pg_stop "{self.pg_dir}"', timeout=60)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class Console:
    """fleet-tui in a private tmux server, 120×40, UTF-8."""

    def __init__(self, fleet):
        self.socket = f"fleet-tui-e2e-{os.getpid()}"
        self.target = "tui:0.0"
        env = {"LANG": "C.UTF-8", "TERM": "xterm-256color", "AGENT_SVC_URL": fleet.url, "FLEET_TOKEN": fleet.token}
        command = " ".join(f"{k}={v}" for k, v in env.items()) + " " + os.path.join(fleet.bin, "fleet-tui") + " --refresh 1"
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


@pytest.fixture(scope="module")
def fleet():
    f = Fleet()
    try:
        f.start()
        yield f
    except Exception:
        print(f.logs())
        raise
    finally:
        f.stop()


@pytest.fixture(scope="module")
def console(fleet):
    c = Console(fleet)
    try:
        yield c
    finally:
        c.close()
