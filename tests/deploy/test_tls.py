"""TLS in the compose stack: Kong's 8443 listener, the nodes' https URL and CA bundle, and
deploy/tls/make-dev-ca.sh run for real into temp dirs and checked with openssl and an
actual TLS handshake."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import stat
import subprocess
import threading
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest

from conftest import DEPLOY, REPO

MAKE_DEV_CA = DEPLOY / "tls" / "make-dev-ca.sh"
REQUIRE_TLS = DEPLOY / "kong" / "require-tls.sh"
TLS_DIR = DEPLOY / "env" / "tls"
LOOPBACK = {"localhost", "127.0.0.1", "::1"}
TIMEOUT = 60


def make_dev_ca(out: Path | None, *args: str, env: dict[str, str] | None = None,
                script: Path = MAKE_DEV_CA) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "KONG_CONTAINER_UID": str(os.getuid())}
    argv = ["bash", str(script), *args] if out is None else ["bash", str(script), "--out", str(out), *args]
    return subprocess.run(argv, env={**base, **(env or {})}, capture_output=True, text=True, timeout=TIMEOUT)


def openssl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=TIMEOUT)


def verify(ca: Path, cert: Path, *options: str) -> subprocess.CompletedProcess:
    return openssl("verify", "-CAfile", str(ca), "-purpose", "sslserver", *options, str(cert))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tls") / "tls"
    result = make_dev_ca(out, "--name", "fleet.example.test", "--name", "10.1.2.3")
    assert result.returncode == 0, result.stderr
    return out


# --- compose ------------------------------------------------------------------------------

def host_path(service: dict, container_path: str) -> Path:
    """The host file behind container_path, through the service's read-only bind mounts."""
    for volume in service.get("volumes") or []:
        parts = volume.split(":")
        if len(parts) < 2 or not parts[0].startswith("."):
            continue
        source, target = parts[0], parts[1]
        inside = PurePosixPath(container_path)
        if inside == PurePosixPath(target) or PurePosixPath(target) in inside.parents:
            assert parts[2:] == ["ro"], f"{volume}: TLS material is mounted read-only"
            return (DEPLOY / source / inside.relative_to(target)).resolve()
    raise AssertionError(f"{container_path} is not on a bind mount of {service.get('volumes')}")


def listeners(value: str) -> list[list[str]]:
    return [entry.split() for entry in value.split(",") if entry.strip()]


def test_kong_listens_on_8443_with_tls_and_8000_without(compose):
    env = compose["services"]["kong"]["environment"]
    found = {words[0]: words[1:] for words in listeners(env["KONG_PROXY_LISTEN"])}
    assert found == {"0.0.0.0:8000": [], "0.0.0.0:8443": ["ssl"]}, env["KONG_PROXY_LISTEN"]
    ports = [str(p) for p in compose["services"]["kong"]["ports"]]
    assert any(p.endswith(":8443") for p in ports), ports


def test_kong_certificate_comes_from_deploy_env(compose, tls):
    kong = compose["services"]["kong"]
    env = kong["environment"]
    for name, written in (("KONG_SSL_CERT", "kong/server.crt"), ("KONG_SSL_CERT_KEY", "kong/server.key")):
        path = host_path(kong, env[name])
        assert path == (TLS_DIR / written).resolve(), f"{name} is {path}, make-dev-ca.sh writes {written}"
        assert (tls / written).is_file()


def test_node_agents_use_https_and_only_the_dev_ca(compose, tls):
    agent = compose["services"]["node-agent"]
    env = agent["environment"]
    url = urlsplit(env["AGENT_SVC_URL"])
    assert (url.scheme, url.hostname, url.port) == ("https", "kong", 8443), env["AGENT_SVC_URL"]
    assert "ALLOW_INSECURE_HTTP" not in env
    bundle = host_path(agent, env["FLEET_CA_FILE"])
    assert bundle == (TLS_DIR / "trust" / "ca.crt").resolve(), bundle
    # The name the nodes dial is one the certificate make-dev-ca.sh issues is valid for.
    result = verify(tls / "trust" / "ca.crt", tls / "kong" / "server.crt", "-verify_hostname", url.hostname)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_ca_key_is_mounted_nowhere(compose):
    ca_dir = (TLS_DIR / "ca").resolve()
    for name, service in compose["services"].items():
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0]
            if source.startswith("."):
                mounted = (DEPLOY / source).resolve()
                assert not (mounted == ca_dir or ca_dir in mounted.parents or mounted in ca_dir.parents), \
                    f"{name} mounts {volume}, which holds the CA key"


def insecure_agent_urls(services: dict) -> list[str]:
    """Services that send AGENT_SVC_URL as plain http:// to a host other than loopback
    without ALLOW_INSECURE_HTTP=1 (node-agent would exit 78; a token would cross in clear)."""
    bad = []
    for name, service in services.items():
        env = service.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.partition("=")[::2] for item in env)
        url = env.get("AGENT_SVC_URL")
        if not url:
            continue
        parts = urlsplit(str(url))
        if parts.scheme == "http" and parts.hostname not in LOOPBACK and not str(parts.hostname).startswith("127."):
            if str(env.get("ALLOW_INSECURE_HTTP", "")) != "1":
                bad.append(f"{name}: {url}")
    return bad


def test_no_service_sends_plain_http_off_loopback(compose):
    assert not insecure_agent_urls(compose["services"])


def test_the_plain_http_rule_catches_what_it_should():
    assert insecure_agent_urls({"old": {"environment": {"AGENT_SVC_URL": "http://kong:8000"}}})
    assert insecure_agent_urls({"list": {"environment": ["AGENT_SVC_URL=http://10.0.0.1:8080"]}})
    assert not insecure_agent_urls({
        "tls": {"environment": {"AGENT_SVC_URL": "https://kong:8443"}},
        "loop": {"environment": {"AGENT_SVC_URL": "http://127.0.0.1:8080"}},
        "opted": {"environment": {"AGENT_SVC_URL": "http://kong:8000", "ALLOW_INSECURE_HTTP": "1"}},
    })


def test_tls_material_is_git_ignored():
    for relative in ("ca/ca.key", "ca/ca.crt", "kong/server.key", "kong/server.crt", "trust/ca.crt"):
        path = (TLS_DIR / relative).relative_to(REPO).as_posix()
        result = subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO, timeout=TIMEOUT)
        assert result.returncode == 0, f"{path} must be git-ignored"


# --- make-dev-ca.sh -----------------------------------------------------------------------

def test_server_certificate_verifies_for_every_name(tls):
    ca, cert = tls / "trust" / "ca.crt", tls / "kong" / "server.crt"
    for option, name in (("-verify_hostname", "kong"), ("-verify_hostname", "localhost"),
                         ("-verify_ip", "127.0.0.1"), ("-verify_hostname", "fleet.example.test"),
                         ("-verify_ip", "10.1.2.3")):
        result = verify(ca, cert, option, name)
        assert result.returncode == 0 and ": OK" in result.stdout, f"{name}: {result.stdout}{result.stderr}"
    refused = verify(ca, cert, "-verify_hostname", "agent-svc")
    assert refused.returncode != 0 and "hostname mismatch" in refused.stdout + refused.stderr


def test_leaf_and_ca_extensions(tls):
    leaf = openssl("x509", "-in", str(tls / "kong" / "server.crt"), "-noout", "-text").stdout
    assert "CA:FALSE" in leaf and "TLS Web Server Authentication" in leaf, leaf
    assert "X509v3 Subject Alternative Name" in leaf
    ca = openssl("x509", "-in", str(tls / "ca" / "ca.crt"), "-noout", "-text").stdout
    assert "CA:TRUE" in ca and "Certificate Sign" in ca, ca
    # Lifetimes: at most 825 days for the server (what clients accept), about 10 years for the CA.
    assert openssl("x509", "-in", str(tls / "kong" / "server.crt"), "-noout", "-checkend", str(824 * 86400)).returncode == 0
    assert openssl("x509", "-in", str(tls / "kong" / "server.crt"), "-noout", "-checkend", str(826 * 86400)).returncode != 0
    assert openssl("x509", "-in", str(tls / "ca" / "ca.crt"), "-noout", "-checkend", str(3600 * 86400)).returncode == 0


def test_keys_are_private_and_the_bundle_is_the_ca_alone(tls):
    assert mode(tls / "ca" / "ca.key") == 0o600
    assert mode(tls / "kong" / "server.key") == 0o600
    assert mode(tls / "ca") == 0o700, "the CA key's directory is this host's only"
    for public in ("ca/ca.crt", "kong/server.crt", "trust/ca.crt"):
        assert mode(tls / public) == 0o644, public
    bundle = (tls / "trust" / "ca.crt").read_text()
    assert bundle.count("BEGIN CERTIFICATE") == 1 and "PRIVATE" not in bundle
    assert bundle == (tls / "ca" / "ca.crt").read_text()


def test_key_belongs_to_the_kong_container_user(tmp_path):
    out = tmp_path / "tls"
    result = make_dev_ca(out, env={"KONG_CONTAINER_UID": "4242"})
    assert result.returncode == 0, result.stderr
    if os.getuid() == 0:
        assert (out / "kong" / "server.key").stat().st_uid == 4242
        assert (out / "ca" / "ca.key").stat().st_uid == 0, "only Kong's key changes hands"
    else:
        assert "sudo chown 4242" in result.stderr, result.stderr


def handshake(tls: Path, server_hostname: str) -> str:
    """One real TLS 1.2+ handshake on loopback: Kong's cert and key on the server side, a
    client that trusts the bundle alone and checks the host name (as the nodes do)."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(tls / "kong" / "server.crt", tls / "kong" / "server.key")
    # With cafile given, create_default_context loads that bundle and not the system store.
    client_ctx = ssl.create_default_context(cafile=str(tls / "trust" / "ca.crt"))
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(10)
        port = listener.getsockname()[1]

        def serve():
            try:
                conn, _ = listener.accept()
                with server_ctx.wrap_socket(conn, server_side=True) as tls_conn:
                    tls_conn.sendall(b"ok")
            except (ssl.SSLError, OSError):
                pass

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                with client_ctx.wrap_socket(raw, server_hostname=server_hostname) as conn:
                    return conn.recv(2).decode() + " " + conn.version()
        finally:
            thread.join(timeout=10)


def test_a_real_handshake_verifies_kong(tls):
    answer = handshake(tls, "kong")
    assert answer.startswith("ok TLSv1."), answer
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(tls, "not-kong.example")


def test_rerun_keeps_everything(tmp_path):
    out = tmp_path / "tls"
    assert make_dev_ca(out).returncode == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    again = make_dev_ca(out)
    assert again.returncode == 0, again.stderr
    assert "kept the existing CA" in again.stdout and "wrote" not in again.stdout, again.stdout
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "no temp files left behind"


def test_new_name_reissues_the_server_certificate_only(tmp_path):
    out = tmp_path / "tls"
    assert make_dev_ca(out).returncode == 0
    ca_before = (out / "ca" / "ca.crt").read_bytes()
    crt_before = (out / "kong" / "server.crt").read_bytes()
    result = make_dev_ca(out, env={"FLEET_TLS_NAMES": "gw.example.test, 192.0.2.7"})
    assert result.returncode == 0, result.stderr
    assert (out / "ca" / "ca.crt").read_bytes() == ca_before
    assert (out / "kong" / "server.crt").read_bytes() != crt_before
    ca, cert = out / "trust" / "ca.crt", out / "kong" / "server.crt"
    for option, name in (("-verify_hostname", "gw.example.test"), ("-verify_ip", "192.0.2.7"), ("-verify_hostname", "kong")):
        assert verify(ca, cert, option, name).returncode == 0, name


def test_renew_and_force(tmp_path):
    out = tmp_path / "tls"
    assert make_dev_ca(out).returncode == 0
    old_ca = tmp_path / "old-ca.crt"
    shutil.copy(out / "ca" / "ca.crt", old_ca)
    crt = (out / "kong" / "server.crt").read_bytes()

    renewed = make_dev_ca(out, "--renew")
    assert renewed.returncode == 0, renewed.stderr
    assert (out / "kong" / "server.crt").read_bytes() != crt
    assert (out / "ca" / "ca.crt").read_bytes() == old_ca.read_bytes(), "--renew keeps the CA"

    forced = make_dev_ca(out, "--force")
    assert forced.returncode == 0, forced.stderr
    assert (out / "ca" / "ca.crt").read_bytes() != old_ca.read_bytes()
    assert (out / "trust" / "ca.crt").read_bytes() == (out / "ca" / "ca.crt").read_bytes()
    assert verify(out / "trust" / "ca.crt", out / "kong" / "server.crt", "-verify_hostname", "kong").returncode == 0
    assert verify(old_ca, out / "kong" / "server.crt").returncode != 0, "a new CA means a new server certificate"
    assert mode(out / "ca" / "ca.key") == 0o600 and mode(out / "kong" / "server.key") == 0o600


def test_a_real_certificate_is_never_replaced_unasked(tmp_path):
    # A certificate from another CA, put in place by hand, with that CA as the bundle.
    real, out = tmp_path / "real", tmp_path / "tls"
    assert make_dev_ca(real).returncode == 0
    (out / "kong").mkdir(parents=True)
    (out / "trust").mkdir()
    for relative in ("kong/server.crt", "kong/server.key", "trust/ca.crt"):
        shutil.copy(real / relative, out / relative)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    for env in ({}, {"FLEET_TLS_NAMES": "more.example.test"}):
        result = make_dev_ca(out, env=env)
        assert result.returncode == 1 and "not issued by the dev CA" in result.stderr, result
        assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not (out / "ca").exists(), "no CA made beside a real certificate"
    renewed = make_dev_ca(out, "--renew")
    assert renewed.returncode == 0, renewed.stderr
    assert verify(out / "trust" / "ca.crt", out / "kong" / "server.crt", "-verify_hostname", "kong").returncode == 0


def test_bad_name_writes_nothing(tmp_path):
    out = tmp_path / "tls"
    result = make_dev_ca(out, "--name", "not a name")
    assert result.returncode == 2 and "neither a DNS name nor an IP" in result.stderr, result.stderr
    assert not out.exists()


def test_default_output_is_deploy_env_tls(tmp_path):
    # A copy of the script in a stand-in deploy/ tree, so the real deploy/env is untouched.
    copy = tmp_path / "deploy" / "tls" / "make-dev-ca.sh"
    copy.parent.mkdir(parents=True)
    shutil.copy(MAKE_DEV_CA, copy)
    result = make_dev_ca(None, script=copy)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "deploy" / "env" / "tls" / "kong" / "server.crt").is_file()


# --- require-tls.sh (Kong's start) ----------------------------------------------------------

def require_tls(cert: str, key: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "KONG_SSL_CERT": cert, "KONG_SSL_CERT_KEY": key}
    return subprocess.run(["sh", str(REQUIRE_TLS), "echo", "exec-ok"], env=env, capture_output=True,
                          text=True, timeout=TIMEOUT)


def test_kong_start_refuses_missing_tls_files(tmp_path):
    result = require_tls(str(tmp_path / "server.crt"), str(tmp_path / "server.key"))
    assert result.returncode == 78, result
    assert "make-dev-ca.sh" in result.stderr and "KONG_SSL_CERT_KEY" in result.stderr


def test_kong_start_refuses_an_empty_key(tls, tmp_path):
    empty = tmp_path / "server.key"
    empty.touch()
    result = require_tls(str(tls / "kong" / "server.crt"), str(empty))
    assert result.returncode == 78 and "not readable by uid" in result.stderr, result


def test_kong_start_execs_kong_with_the_files(tls):
    result = require_tls(str(tls / "kong" / "server.crt"), str(tls / "kong" / "server.key"))
    assert result.returncode == 0 and result.stdout.strip() == "exec-ok", result
