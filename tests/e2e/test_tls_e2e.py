"""TLS end to end (issue 17): the real agent-svc serving HTTPS from TLS_CERT_FILE/TLS_KEY_FILE,
node-agent and `fleet` trusting only FLEET_CA_FILE, certificates rotated with SIGHUP, plain
http refused towards a host that is not loopback, and UpdateAgent fetching an https URL with
the same trust.

Certificates come from tests/e2e/tls_certs.py (openssl in the test's own directory). The host
that is not loopback is the far end of a veth pair into a network namespace the test makes
itself (10.214.x.0/30, removed at teardown); nothing else on the machine is touched.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import uuid
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from conftest import SESSION_TAG, E2EFleet
from fleet_harness import REPO, free_port, tail, wait_until
from harness import Api
from test_update_agent_e2e import OLD_VERSION, node_version, output_of, private_agent, sha256, stamp
from tls_certs import CertificateAuthority, ServerCert

RANDOM_BYTES = 2 * 1024 * 1024
# Variables of the caller's environment that would change what these tests set up.
_TLS_SETTINGS = ("TLS_CERT_FILE", "TLS_KEY_FILE", "ALLOW_INSECURE_HTTP")
_fleet_numbers = itertools.count(1)


# --------------------------------------------------------------------------------------------
# fixtures


@dataclasses.dataclass
class Pki:
    root: CertificateAuthority       # what clients trust (FLEET_CA_FILE)
    intermediate: CertificateAuthority
    server: ServerCert               # 127.0.0.1 + localhost, issued by the intermediate
    other: CertificateAuthority      # an unrelated root nobody here trusts


@pytest.fixture
def pki(tmp_path) -> Pki:
    root = CertificateAuthority(tmp_path / "pki", "fleet-root")
    intermediate = root.intermediate("fleet-intermediate")
    return Pki(root, intermediate, intermediate.server("agent-svc"), CertificateAuthority(tmp_path / "other", "other-root"))


@pytest.fixture(scope="session")
def cli_binary(e2e_root) -> Path:
    """A private copy of the debug `fleet` binary (a concurrent build may replace the original)."""
    source = Path(os.environ.get("E2E_BIN_DIR", REPO / ".build" / "debug")) / "fleet"
    if not source.exists():
        pytest.exit(f"{source} is missing: run scripts/e2e.sh (it builds the binaries)", returncode=2)
    target = e2e_root / "bin-tls" / "fleet"
    target.parent.mkdir(exist_ok=True)
    shutil.copy2(source, target)
    return target


@pytest.fixture
def make_fleet(request, e2e_root, binaries, pg_cluster):
    """Builds a fleet whose agent-svc serves `cert` (HTTPS) or plain HTTP on `host`; `ca` goes
    to every client as FLEET_CA_FILE. Torn down after the test."""
    made: list[E2EFleet] = []

    def make(cert: ServerCert | None = None, ca: Path | None = None, host: str = "127.0.0.1",
             start: bool = True, verify_ready: bool = True) -> E2EFleet:
        directory = e2e_root / "tests" / f"{request.node.name}-{len(made)}"
        directory.mkdir(parents=True)
        world = E2EFleet(directory, binaries, pg_cluster, f"{SESSION_TAG}-tls{next(_fleet_numbers)}-")
        made.append(world)
        request.node.fleet_logs = lambda: [p for w in made for p in w.log_files()]
        for name in _TLS_SETTINGS:
            world.base_env.pop(name, None)
            world.svc_env.pop(name, None)
        world.svc_env["HOST"] = host
        if cert is not None:
            world.svc_env.update(TLS_CERT_FILE=str(cert.chain), TLS_KEY_FILE=str(cert.key))
        if ca is not None:
            world.base_env["FLEET_CA_FILE"] = str(ca)
        world.svc.url = f"{'https' if cert else 'http'}://{host}:{world.svc.port}"
        world.api.close()
        world.api = Api(world.svc.url, world.operator_token)
        world.api.session.verify = str(ca) if ca else True
        world.api.session.trust_env = False  # else REQUESTS_CA_BUNDLE in the caller's env wins over `verify`
        if start:
            start_service(world, verify=world.api.session.verify if verify_ready else False)
        return world

    try:
        yield make
    finally:
        for world in made:
            world.teardown()


def start_service(fleet: E2EFleet, verify: str | bool, timeout: float = 40) -> None:
    """Starts agent-svc and waits for /readyz over its own scheme (HTTPS verified with `verify`)."""
    svc = fleet.svc
    svc.spawn()

    def ready():
        if not svc.running:
            raise AssertionError(f"agent-svc exited with status {svc.proc.returncode} during start-up:\n{tail(svc.log_text())}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # urllib3's InsecureRequestWarning when verify is False
            return requests.get(svc.url + "/readyz", timeout=2, verify=verify).status_code == 200
    wait_until(ready, timeout, f"agent-svc {svc.url}/readyz")


@pytest.fixture
def https_server():
    """Starts HTTPS file servers on 127.0.0.1; all are shut down after the test."""
    servers: list[HttpsFileServer] = []

    def start(path: Path, cert: ServerCert) -> HttpsFileServer:
        servers.append(HttpsFileServer(path, cert))
        return servers[-1]
    yield start
    for server in servers:
        server.close()


@pytest.fixture
def netns():
    """A namespace and a veth pair to it. Without root or ip netns the drill is skipped with a
    loud message, as the fault drills do (scripts/faults.sh), never silently."""
    try:
        made = VethNamespace()
    except NamespaceRefused as error:
        pytest.skip(f"!!! PLAIN-HTTP REFUSAL TEST SKIPPED: no network namespace / veth pair: {error} !!!")
    yield made
    made.close()


# --------------------------------------------------------------------------------------------
# helpers


def cli(binary: Path, fleet: E2EFleet, *args: str, without: tuple[str, ...] = (), wrap=None, timeout: float = 60,
        **env: str) -> subprocess.CompletedProcess:
    """`fleet ARGS` as a script runs it: the fleet's URL, token and FLEET_CA_FILE, plus `env`, minus `without`."""
    full = dict(fleet.base_env, AGENT_SVC_URL=fleet.svc.url, FLEET_TOKEN=fleet.operator_token, **env)
    for name in without:
        full.pop(name, None)
    argv = [str(binary), *args]
    return subprocess.run(wrap(argv) if wrap else argv, env=full, capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def served_serial(port: int, ca: Path, host: str = "127.0.0.1") -> int:
    """The serial of the certificate a new TLS connection is given, verified against `ca`."""
    context = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection((host, port), timeout=5) as raw, context.wrap_socket(raw, server_hostname=host) as tls:
        return int(tls.getpeercert()["serialNumber"], 16)


def tls_lines(text: str, host: str = "127.0.0.1") -> list[str]:
    """Lines that say TLS and name the host."""
    return [line for line in text.splitlines() if "TLS" in line and host in line]


def assert_one_tls_line(result: subprocess.CompletedProcess, host: str = "127.0.0.1") -> None:
    """The CLI failed with exactly one stderr line, a TLS one naming `host`, and printed nothing else."""
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode not in (0, None), f"expected a failure, got {result.returncode}: {stderr}"
    assert len(stderr.splitlines()) == 1 and tls_lines(stderr, host), f"expected one TLS line naming {host}: {stderr!r}"
    assert result.stdout == b"", result.stdout[:500]


def node_ids(fleet: E2EFleet) -> list[str]:
    return sorted(node["node_id"] for node in fleet.api.get("/v1/agents").json()["nodes"])


def install(cert: ServerCert, cert_file: Path, key_file: Path) -> None:
    """Puts `cert` where agent-svc reads it; each file replaced whole (rename), as a deploy tool does."""
    for source, target in ((cert.chain, cert_file), (cert.key, key_file)):
        staging = target.with_name(f".{target.name}.new")
        shutil.copyfile(source, staging)
        os.replace(staging, target)


def submit_url_update(fleet: E2EFleet, node_id: str, version: str, digest: str, url: str) -> str:
    body = {"command_type": "UpdateAgent", "targets": [node_id],
            "payload": {"version": version, "sha256": digest, "url": url, "timeout_sec": 120}}
    response = fleet.api.session.post(fleet.svc.url + "/v1/commands/submit", json=body, timeout=15)
    assert response.status_code == 201, f"submit: {response.status_code} {response.text}"
    return response.json()["command_id"]


def run_echo(fleet: E2EFleet, node_id: str, text: str) -> None:
    command_id = fleet.api.submit([node_id], f"echo {text}")
    fleet.api.wait_state(command_id, node_id, "succeeded", timeout=30)
    assert text in output_of(fleet, command_id, node_id)


class CountingProxy:
    """Forwards TCP connections from a port of its own to `target` and counts them: how a test
    sees a client retry when the client's log says a failure only once."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept, name="counting-proxy", daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            source.close()
            sink.close()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()


class HttpsFileServer:
    """One file over HTTPS at `url` (127.0.0.1, the given certificate); records every request
    that got past the handshake, and every handshake or handler failure."""

    def __init__(self, path: Path, cert: ServerCert):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert.chain), str(cert.key))
        body = path.read_bytes()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.failures: list[str] = []
        seen, failures = self.requests, self.failures

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                self.request.settimeout(15)
                self.request.do_handshake()  # here, in the handler's thread, so a failure is recorded
                super().setup()

            def do_GET(self):
                seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                found = self.path == "/node-agent"
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body) if found else 0))
                self.send_header("Connection", "close")
                self.end_headers()
                if found:
                    self.wfile.write(body)

            def log_message(self, format, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):
                raw, address = super().get_request()
                return context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False), address

            def handle_error(self, request, client_address):
                failures.append(repr(sys.exc_info()[1]))

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}/node-agent"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class NamespaceRefused(Exception):
    """No root, no `ip netns`, or the kernel will not make a veth pair."""


def _ip(*argv: str) -> None:
    result = subprocess.run(["ip", *argv], capture_output=True, text=True, timeout=20)
    if result.returncode != 0:
        raise NamespaceRefused(f"ip {' '.join(argv)}: {result.stderr.strip() or result.returncode}")


class VethNamespace:
    """A network namespace joined to this one by a veth pair: `host_ip` is our end (agent-svc
    listens there), `ns_ip` the namespace's. A /30 from 10.214.0.0/16 that no interface here
    uses yet; the pair and the namespace are deleted at close."""

    def __init__(self):
        if os.geteuid() != 0:
            raise NamespaceRefused("needs root")
        if shutil.which("ip") is None:
            raise NamespaceRefused("no ip command (iproute2)")
        in_use = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, timeout=20).stdout
        number = next((n for n in range(1, 250) if f" 10.214.{n}." not in in_use), None)
        if number is None:
            raise NamespaceRefused("no free /30 in 10.214.0.0/16")
        suffix = uuid.uuid4().hex[:6]
        self.name = f"fleettls-{suffix}"
        self.host_dev, self.ns_dev = f"tlsh{suffix}", f"tlsn{suffix}"
        self.host_ip, self.ns_ip = f"10.214.{number}.1", f"10.214.{number}.2"
        self._made_namespace = self._made_link = False
        try:
            _ip("netns", "add", self.name)
            self._made_namespace = True
            _ip("link", "add", self.host_dev, "type", "veth", "peer", "name", self.ns_dev, "netns", self.name)
            self._made_link = True
            _ip("addr", "add", f"{self.host_ip}/30", "dev", self.host_dev)
            _ip("link", "set", self.host_dev, "up")
            _ip("-n", self.name, "link", "set", "lo", "up")
            _ip("-n", self.name, "addr", "add", f"{self.ns_ip}/30", "dev", self.ns_dev)
            _ip("-n", self.name, "link", "set", self.ns_dev, "up")
        except NamespaceRefused:
            self.close()
            raise

    def wrap(self, argv: list[str]) -> list[str]:
        """`argv` run inside the namespace (`ip netns exec` execs it: same pid, same exit status)."""
        return ["ip", "netns", "exec", self.name, *argv]

    def close(self) -> None:
        if self._made_link:
            subprocess.run(["ip", "link", "del", self.host_dev], capture_output=True, timeout=20)  # and its peer
            self._made_link = False
        if self._made_namespace:
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=20)
            self._made_namespace = False


# --------------------------------------------------------------------------------------------
# 1. the whole path over TLS


def test_agent_and_cli_work_over_tls_and_output_stays_byte_exact(make_fleet, pki, cli_binary):
    # setup: agent-svc serves leaf + intermediate; every client trusts the root alone
    fleet = make_fleet(cert=pki.server, ca=pki.root.cert)
    assert served_serial(fleet.svc.port, pki.root.cert) == pki.server.serial, "the served chain must verify to the root"
    try:
        plain = requests.get(f"http://127.0.0.1:{fleet.svc.port}/readyz", timeout=5).status_code
    except requests.RequestException:
        plain = None
    assert plain != 200, "agent-svc with a certificate must not answer plain HTTP"
    fleet.start_agent("edge-tls")

    # act: 2 MB of random bytes through the agent's TLS upload
    source = fleet.dir / "random.bin"
    command_id = fleet.api.submit(["edge-tls"], f"head -c {RANDOM_BYTES} /dev/urandom > '{source}' && cat '{source}'")
    read = fleet.api.read_logs(command_id, "edge-tls", timeout=45)

    # check: every byte once, in order, as the command wrote it
    expected = source.read_bytes()
    assert len(expected) == RANDOM_BYTES
    assert read.problems() == []
    assert hashlib.sha256(read.stdout).hexdigest() == hashlib.sha256(expected).hexdigest(), (
        f"got {len(read.stdout)} bytes, expected {len(expected)}")
    invocation = fleet.api.invocation(command_id, "edge-tls")
    assert invocation["state"] == "succeeded" and invocation["exit_code"] == 0, invocation

    # check: the CLI over https with FLEET_CA_FILE runs a command and reads the same bytes back
    run = cli(cli_binary, fleet, "run", "--targets", "edge-tls", "--", "echo", "over-tls")
    assert run.returncode == 0, run.stderr
    assert run.stdout.decode().splitlines() == ["edge-tls | over-tls"]
    raw = cli(cli_binary, fleet, "logs", command_id, "--node", "edge-tls", "--raw", "--follow")
    assert raw.returncode == 0, raw.stderr
    assert raw.stdout == expected, f"fleet logs --raw gave {len(raw.stdout)} bytes, expected {len(expected)}"
    fleet.assert_no_secrets_logged()
    for path in fleet.log_files():
        assert "PRIVATE KEY" not in path.read_text(errors="replace"), f"key material in {path.name}"


# --------------------------------------------------------------------------------------------
# 2. certificates that do not verify


def test_an_untrusted_certificate_is_refused_by_the_agent_and_the_cli(make_fleet, pki, cli_binary):
    # setup: the agent trusts another CA; a proxy in front of agent-svc counts its attempts
    fleet = make_fleet(cert=pki.server, ca=pki.root.cert)
    proxy = CountingProxy(("127.0.0.1", fleet.svc.port))
    try:
        agent = fleet.add_agent("edge-wrong-ca", FLEET_CA_FILE=str(pki.other.cert),
                                AGENT_SVC_URL=f"https://127.0.0.1:{proxy.port}")

        # act
        agent.spawn()

        # check: one TLS line naming the host, retries with backoff, still running, never registered
        wait_until(lambda: tls_lines(agent.log_text()) or not agent.running, 30, "a TLS line in the agent's log")
        assert agent.running, f"the agent exited ({agent.proc.returncode}):\n{tail(agent.log_text())}"
        wait_until(lambda: proxy.connections >= 4 or not agent.running, 40, "the agent to retry three times")
        assert agent.running, f"the agent exited ({agent.proc.returncode}):\n{tail(agent.log_text())}"
    finally:
        proxy.close()
    assert not agent.identity_path.exists()
    assert node_ids(fleet) == []

    # the CLI: the wrong CA, and no FLEET_CA_FILE at all (the system store has never seen our root)
    assert_one_tls_line(cli(cli_binary, fleet, "nodes", FLEET_CA_FILE=str(pki.other.cert)))
    assert_one_tls_line(cli(cli_binary, fleet, "nodes", without=("FLEET_CA_FILE",)))
    trusted = cli(cli_binary, fleet, "nodes")
    assert trusted.returncode == 0, trusted.stderr


def test_a_certificate_for_another_name_is_refused(make_fleet, pki, cli_binary):
    # setup: a certificate from the trusted root, but for other.invalid only
    elsewhere = pki.root.server("other-name", hosts=("other.invalid",))
    fleet = make_fleet(cert=elsewhere, ca=pki.root.cert, verify_ready=False)
    agent = fleet.add_agent("edge-other-name")

    # act
    agent.spawn()

    # check
    wait_until(lambda: tls_lines(agent.log_text()) or not agent.running, 30, "a TLS line in the agent's log")
    assert agent.running, f"the agent exited ({agent.proc.returncode}):\n{tail(agent.log_text())}"
    assert not agent.identity_path.exists()
    assert_one_tls_line(cli(cli_binary, fleet, "nodes"))


# --------------------------------------------------------------------------------------------
# 3. rotation and start-up checks


def test_sighup_rotates_the_certificate_and_a_bad_one_keeps_the_old(make_fleet, pki, tmp_path):
    # setup: agent-svc reads live.pem/live.key, which hold certificate A
    a, b, c = (pki.root.server(f"rotate-{n}") for n in "abc")
    cert_file, key_file = tmp_path / "live.pem", tmp_path / "live.key"
    install(a, cert_file, key_file)
    fleet = make_fleet(cert=dataclasses.replace(a, chain=cert_file, key=key_file), ca=pki.root.cert)
    port, ca, svc = fleet.svc.port, pki.root.cert, fleet.svc
    assert served_serial(port, ca) == a.serial

    # act + check: B installed, SIGHUP, new connections get B
    install(b, cert_file, key_file)
    os.kill(svc.pid, signal.SIGHUP)
    wait_until(lambda: served_serial(port, ca) == b.serial or not svc.running, 20, "certificate B after SIGHUP")
    assert svc.running, f"agent-svc exited on SIGHUP ({svc.proc.returncode}):\n{tail(svc.log_text())}"

    # act + check: a garbage certificate, then a missing one: an error line each, B still served
    for damage in (lambda: cert_file.write_text("this is not a certificate\n"), cert_file.unlink):
        mark = len(svc.log_text())
        damage()
        os.kill(svc.pid, signal.SIGHUP)
        error = wait_until(lambda: error_lines(svc.log_text()[mark:]) or not svc.running, 20, "an error line after SIGHUP")
        assert svc.running, f"agent-svc exited on a bad certificate ({svc.proc.returncode}):\n{tail(svc.log_text())}"
        assert all(served_serial(port, ca) == b.serial for _ in range(3)), f"after {error}"
        assert fleet.api.get("/readyz").status_code == 200

    # act + check: a good pair again is taken
    install(c, cert_file, key_file)
    os.kill(svc.pid, signal.SIGHUP)
    wait_until(lambda: served_serial(port, ca) == c.serial or not svc.running, 20, "certificate C after SIGHUP")
    assert svc.running


def error_lines(text: str) -> list[str]:
    """swift-log lines at level error or critical (`<timestamp> <level> <label>: …`)."""
    return [line for line in text.splitlines() if re.match(r"^\S+ (error|critical) ", line)]


def test_a_certificate_without_its_key_is_a_startup_error(make_fleet, pki, binaries):
    fleet = make_fleet(start=False)
    for alone in ({"TLS_CERT_FILE": str(pki.server.chain)}, {"TLS_KEY_FILE": str(pki.server.key)}):
        # act
        result = subprocess.run([str(binaries["agent-svc"])], env=dict(fleet.svc_env, PORT=str(free_port()), **alone),
                                capture_output=True, text=True, timeout=30, cwd=REPO, stdin=subprocess.DEVNULL)
        # check: refuses to start, saying which two settings go together
        output = result.stdout + result.stderr
        assert result.returncode != 0, f"agent-svc with only {list(alone)} exited {result.returncode}:\n{tail(output)}"
        assert any("TLS_CERT_FILE" in line and "TLS_KEY_FILE" in line for line in output.splitlines()), tail(output)


# --------------------------------------------------------------------------------------------
# 4. plain http to a host that is not loopback


def test_plain_http_to_another_host_needs_allow_insecure_http(netns, make_fleet, cli_binary):
    # setup: agent-svc on our end of the veth; nodes and the CLI run in the namespace
    fleet = make_fleet(host=netns.host_ip)
    refused = fleet.add_agent("edge-refused")
    refused.argv = netns.wrap(refused.argv)

    # act + check: without the opt-in the agent and the CLI stop with 78 and say how to opt in
    refused.spawn()
    try:
        status = refused.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"node-agent did not refuse http://{netns.host_ip}:\n{tail(refused.log_text())}") from None
    assert status == 78, f"exit {status}:\n{tail(refused.log_text())}"
    assert "ALLOW_INSECURE_HTTP" in refused.log_text(), tail(refused.log_text())
    nodes = cli(cli_binary, fleet, "nodes", wrap=netns.wrap)
    assert nodes.returncode == 78 and b"ALLOW_INSECURE_HTTP" in nodes.stderr, (nodes.returncode, nodes.stderr)

    # act + check: with ALLOW_INSECURE_HTTP=1 the node registers across the veth and runs work
    agent = fleet.add_agent("edge-insecure", ALLOW_INSECURE_HTTP="1")
    agent.argv = netns.wrap(agent.argv)
    agent.start()
    run_echo(fleet, "edge-insecure", "across-the-veth")
    registrations = fleet.api.get("/v1/audit", action="register").json()["events"]
    assert [(e["actor"], e.get("address")) for e in registrations] == [("node:edge-insecure", netns.ns_ip)], registrations
    allowed = cli(cli_binary, fleet, "nodes", "--json", wrap=netns.wrap, ALLOW_INSECURE_HTTP="1")
    assert allowed.returncode == 0, allowed.stderr
    assert [n["node_id"] for n in json.loads(allowed.stdout)["nodes"]] == ["edge-insecure"]
    # (netns is set up before make_fleet, so the agents are killed before the namespace goes)


# --------------------------------------------------------------------------------------------
# 5. UpdateAgent from an https URL


def test_update_agent_from_an_https_url_trusted_through_fleet_ca(make_fleet, pki, https_server):
    # setup: the node runs 0.1.0; 0.1.1-tls is served over HTTPS with a certificate of the fleet's root
    fleet = make_fleet(cert=pki.server, ca=pki.root.cert)
    agent, binary = private_agent(fleet, "edge-url")
    new_binary = fleet.dir / "node-agent-new"
    stamp(str(binary), str(new_binary), "0.1.1-tls")
    server = https_server(new_binary, pki.root.server("artifacts"))
    pid = agent.pid

    # act
    command_id = submit_url_update(fleet, "edge-url", "0.1.1-tls", sha256(new_binary), server.url)

    # check: fetched once, without any Fleet credential, and running in the same process
    invocation = fleet.api.wait_state(command_id, "edge-url", {"succeeded", "failed"}, timeout=60)
    assert invocation["state"] == "succeeded", invocation
    assert invocation["result"]["agent_version"] == "0.1.1-tls"
    assert node_version(fleet, "edge-url") == "0.1.1-tls"
    assert agent.running and agent.pid == pid
    assert sha256(binary) == sha256(new_binary)
    assert [path for path, _ in server.requests] == ["/node-agent"], (server.requests, server.failures)
    assert "authorization" not in server.requests[0][1], "the node's token must not go to the artifact host"
    run_echo(fleet, "edge-url", "after-the-https-update")


def test_update_agent_from_https_refuses_a_wrong_digest_and_an_untrusted_host(make_fleet, pki, https_server):
    # setup: the same new binary on a trusted server and on one whose certificate is from another root
    fleet = make_fleet(cert=pki.server, ca=pki.root.cert)
    agent, binary = private_agent(fleet, "edge-url-bad")
    old_sha, pid = sha256(binary), agent.pid
    new_binary = fleet.dir / "node-agent-new"
    stamp(str(binary), str(new_binary), "0.1.2-tls")
    trusted = https_server(new_binary, pki.root.server("artifacts"))
    untrusted = https_server(new_binary, pki.other.server("artifacts-elsewhere"))

    # act + check: the right bytes under the wrong digest
    wrong = submit_url_update(fleet, "edge-url-bad", "0.1.2-tls", hashlib.sha256(b"other bytes").hexdigest(), trusted.url)
    invocation = fleet.api.wait_state(wrong, "edge-url-bad", {"succeeded", "failed"}, timeout=60)
    assert invocation["state"] == "failed", invocation
    assert "sha256" in invocation["reason"] or "digest" in invocation["reason"], invocation

    # act + check: the right digest from a host the node does not trust
    untrusted_id = submit_url_update(fleet, "edge-url-bad", "0.1.2-tls", sha256(new_binary), untrusted.url)
    invocation = fleet.api.wait_state(untrusted_id, "edge-url-bad", {"succeeded", "failed"}, timeout=60)
    assert invocation["state"] == "failed", invocation
    assert tls_lines(invocation["reason"]), f"expected the TLS message naming 127.0.0.1: {invocation}"
    assert untrusted.requests == [], "no request may be sent over a connection that did not verify"

    # check: nothing replaced, the old agent carries on
    assert sha256(binary) == old_sha
    assert not binary.with_name("node-agent.previous").exists()
    assert not list(binary.parent.glob(".node-agent.update-*"))
    assert agent.running and agent.pid == pid
    assert node_version(fleet, "edge-url-bad") == OLD_VERSION
    run_echo(fleet, "edge-url-bad", "still-the-old-agent")
