"""deploy/docker-compose.yml, env/.env.example, the Dockerfiles and the committed files
hold the promises of the deploy issue (docker-compose config -q only checks syntax)."""

from __future__ import annotations

import re
import subprocess
from urllib.parse import urlsplit

import pytest

from conftest import COMPOSE, DEPLOY, ENV_EXAMPLE, REPO, TEMPLATE, parse_env_file


def interpolated_names(text: str) -> set[str]:
    """${NAME...} outside comment lines."""
    code = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", code))


def port_specs(service: dict) -> list[str]:
    return [str(p) for p in service.get("ports") or []]


def test_no_syntax_debian_compose_rejects(compose):
    assert "name" not in compose and "develop" not in compose
    for name, service in compose["services"].items():
        assert "develop" not in service, name


def test_only_kong_publishes_and_admin_is_loopback_only(compose):
    for name, service in compose["services"].items():
        if name != "kong":
            assert not service.get("ports"), f"{name} must not publish ports; everything goes through Kong"
    ports = port_specs(compose["services"]["kong"])
    admin = [p for p in ports if p.endswith(":8001")]
    proxy = [p for p in ports if p.endswith(":8000")]
    tls = [p for p in ports if p.endswith(":8443")]
    assert len(admin) == 1 and admin[0].startswith("127.0.0.1:"), f"admin must bind 127.0.0.1 only: {ports}"
    # Plain HTTP never leaves the host: only the TLS listener is on every interface.
    assert len(proxy) == 1 and proxy[0].startswith("127.0.0.1:"), f"plain proxy must bind 127.0.0.1 only: {ports}"
    assert len(tls) == 1 and not tls[0].startswith("127."), f"the TLS proxy is published on every interface: {ports}"
    assert len(ports) == 3, f"only the TLS proxy, the loopback proxy and the admin API: {ports}"
    env = compose["services"]["kong"]["environment"]
    assert env["KONG_DATABASE"] == "off"
    assert env.get("KONG_ADMIN_GUI_LISTEN") == "off"


def test_kong_renders_its_config_at_start(compose):
    kong = compose["services"]["kong"]
    entrypoint = kong["entrypoint"]
    assert entrypoint[:2] == ["/bin/sh", "/etc/fleet/kong/render.sh"], entrypoint
    template, output, separator, *command = entrypoint[2:]
    # After rendering, require-tls.sh checks the certificate and key, then execs Kong.
    assert separator == "--" and command == ["/bin/sh", "/etc/fleet/kong/require-tls.sh",
                                             "/docker-entrypoint.sh", "kong", "docker-start"], entrypoint
    assert (TEMPLATE.parent / "require-tls.sh").is_file()
    mounts = {v.split(":")[1]: v.split(":")[0] for v in kong["volumes"]}
    assert (DEPLOY / mounts["/etc/fleet/kong"]).resolve() == TEMPLATE.parent
    assert template == "/etc/fleet/kong/" + TEMPLATE.name
    assert kong["environment"]["KONG_DECLARATIVE_CONFIG"] == output
    assert any(output.startswith(t.split(":")[0] + "/") for t in kong["tmpfs"]), "rendered secret must be on tmpfs"
    template_vars = interpolated_names(TEMPLATE.read_text())
    missing = template_vars - set(kong["environment"])
    assert not missing, f"kong's environment lacks template variables {missing}"


def test_services_wait_for_their_dependencies(compose):
    services = compose["services"]
    assert services["postgres"]["image"].split(":")[1].startswith("15"), services["postgres"]["image"]
    assert any(v.startswith("pgdata:") for v in services["postgres"]["volumes"])
    assert "pgdata" in compose["volumes"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["agent-svc"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "/readyz" in " ".join(services["agent-svc"]["healthcheck"]["test"])
    assert services["kong"]["depends_on"]["agent-svc"]["condition"] == "service_healthy"
    assert services["node-agent"]["depends_on"]["kong"]["condition"] == "service_healthy"


def test_node_agent_scales_to_distinct_nodes(compose):
    agent = compose["services"]["node-agent"]
    # NODE_ID defaults to the host name = the container id, distinct per replica.
    for key in ("container_name", "hostname", "ports"):
        assert key not in agent, f"node-agent must not set {key} (breaks --scale)"
    assert "NODE_ID" not in agent["environment"]
    assert agent.get("init") is True
    state_dir = agent["environment"]["STATE_DIR"]
    # An anonymous volume per replica, never a named one shared by all replicas; the only
    # other mount is the read-only CA bundle (test_tls.py).
    assert agent["volumes"][0] == state_dir, agent["volumes"]
    assert all(v.endswith(":ro") for v in agent["volumes"][1:]), agent["volumes"]
    assert urlsplit(agent["environment"]["AGENT_SVC_URL"]).hostname == "kong", "nodes go through the gateway"
    assert set(agent["networks"]) == {"edge"}, "nodes reach Kong only, never agent-svc or Postgres"
    assert "edge" in compose["services"]["kong"]["networks"]
    assert "edge" not in compose["services"]["postgres"]["networks"]


def test_env_example_documents_every_variable(compose):
    text = ENV_EXAMPLE.read_text()
    values = parse_env_file(ENV_EXAMPLE)
    used = interpolated_names(COMPOSE.read_text())
    assert used == set(values), f"compose uses {sorted(used - set(values))} undocumented; " \
                                f"example has unused {sorted(set(values) - used)}"
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert index > 0 and lines[index - 1].startswith("#"), f"no comment above {line.split('=')[0]}"
    for name in ("JWT_SIGNING_SECRET", "ENROLLMENT_TOKEN", "DB_PASSWORD"):
        assert values[name].startswith("CHANGE_ME"), f"{name} must be a placeholder in the example"
    assert "openssl rand" in text, "the example must say how to generate secrets"


def test_secrets_are_mandatory_in_compose():
    text = "\n".join(l for l in COMPOSE.read_text().splitlines() if not l.lstrip().startswith("#"))
    for name in ("JWT_SIGNING_SECRET", "ENROLLMENT_TOKEN", "DB_PASSWORD"):
        uses = re.findall(r"\$\{" + name + r"([^}]*)\}", text)
        assert uses and all(u.startswith(":?") for u in uses), f"{name} must be ${{{name}:?...}} everywhere: {uses}"


def test_dot_env_symlink_feeds_interpolation():
    link = DEPLOY / ".env"
    assert link.is_symlink() and str(link.readlink()) == "env/.env"


DOCKERFILES = {"agent-svc": DEPLOY / "agent-svc.Dockerfile", "node-agent": DEPLOY / "node-agent.Dockerfile"}


@pytest.mark.parametrize("product", sorted(DOCKERFILES))
def test_dockerfile_shape(product, compose):
    text = DOCKERFILES[product].read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert len(froms) == 2, f"multi-stage: build + runtime, got {froms}"
    assert re.search(r"^ARG SWIFT_IMAGE=swift:6\.\d+", text, re.M)
    assert re.search(r"^ARG RUNTIME_IMAGE=debian:\w+-slim", text, re.M)
    assert f"swift build -c release --static-swift-stdlib --product {product}" in text
    user = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert user and not user[-1].startswith(("root", "0")), f"runs as {user}"
    assert "HEALTHCHECK" in text
    build = compose["services"][product]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DOCKERFILES[product]
    if product == "agent-svc":
        assert "COPY migrations /usr/share/fleet/migrations" in text
        assert "MIGRATIONS_DIR=/usr/share/fleet/migrations" in text
    else:
        for package in ("libsqlite3-0", "ca-certificates", "tini"):
            assert package in text
        assert "NODE_ID" not in re.findall(r"^ENV[^\n]*(?:\\\n[^\n]*)*", text, re.M)[0]


def test_dockerignore_keeps_the_context_small_and_secret_free():
    lines = [l.strip() for l in (REPO / ".dockerignore").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert lines[0] == "*", "allow-list: ignore everything first"
    allowed = {l[1:].rstrip("/") for l in lines if l.startswith("!")}
    assert allowed == {"Package.swift", "Package.resolved", "Sources", "Tests", "migrations", "deploy/bin"}, allowed


# A literal secret: long hex or base64 runs, JWTs, or a secret-named key with a real value.
SECRET_PATTERNS = [
    re.compile(r"\b[0-9a-fA-F]{32,}\b"),
    re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    re.compile(r"(?i)(secret|password|token)\s*[:=]\s*['\"]?(?!CHANGE_ME|\$\{|\$\$|['\"]?\s*$)[A-Za-z0-9+/_=.-]{12,}"),
]


def committed_deploy_files() -> list:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                             "deploy", ".dockerignore", "tests/deploy", "scripts/check-deploy.sh"],
                            cwd=REPO, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    return [REPO / p for p in listed.stdout.split() if (REPO / p).is_file() and not (REPO / p).is_symlink()]


def test_no_secret_literal_in_committed_files():
    files = committed_deploy_files()
    assert any(f.name == "kong.yml.template" for f in files)
    assert not any(f.relative_to(REPO).as_posix() == "deploy/env/.env" for f in files), "env/.env must stay untracked"
    problems = []
    for path in files:
        if path.suffix == ".py":
            continue  # the tests build throwaway secrets at run time
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for pattern in SECRET_PATTERNS:
                if pattern.search(line):
                    problems.append(f"{path.relative_to(REPO)}:{number}: {line.strip()[:100]}")
    assert not problems, "\n".join(problems)


def test_real_env_file_is_git_ignored():
    result = subprocess.run(["git", "check-ignore", "-q", "deploy/env/.env"], cwd=REPO)
    assert result.returncode == 0, "deploy/env/.env (real secrets) must be git-ignored"
