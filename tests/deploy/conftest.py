"""Fixtures for the deploy tests: the repo, the example environment, the Kong config
rendered by the very script the kong container runs, and the OpenAPI operations."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from pathlib import Path

import pytest
import yaml

from kong_model import KongConfig

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
TEMPLATE = DEPLOY / "kong" / "kong.yml.template"
RENDER = DEPLOY / "kong" / "render.sh"
ENV_EXAMPLE = DEPLOY / "env" / ".env.example"
COMPOSE = DEPLOY / "docker-compose.yml"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def parse_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f"{path}: not NAME=value: {line!r}"
        values[name.strip()] = value
    return values


@pytest.fixture(scope="session")
def example_env() -> dict[str, str]:
    """env/.env.example with every CHANGE_ME secret replaced by a fresh random one, the
    way the one-liner in that file makes env/.env."""
    values = parse_env_file(ENV_EXAMPLE)
    return {k: (secrets.token_hex(32) if "CHANGE_ME" in v else v) for k, v in values.items()}


def render(template: Path, output: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return subprocess.run(["sh", str(RENDER), str(template), str(output)], env={**base, **env},
                          capture_output=True, text=True, timeout=30)


@pytest.fixture(scope="session")
def rendered_path(tmp_path_factory, example_env) -> Path:
    output = tmp_path_factory.mktemp("kong") / "kong.yml"
    result = render(TEMPLATE, output, example_env)
    assert result.returncode == 0, result.stderr
    return output


@pytest.fixture(scope="session")
def kong(rendered_path) -> KongConfig:
    return KongConfig.load(rendered_path)


@pytest.fixture(scope="session")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def openapi() -> dict:
    return yaml.safe_load((REPO / "openapi.yaml").read_text(encoding="utf-8"))


def operations(document: dict):
    """(path, method, operation, path-level parameters) for every OpenAPI operation."""
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method], item.get("parameters") or []


def fleet_issuers() -> dict[str, str]:
    """The issuers FleetAuth really puts in tokens (FleetClaims.swift), by role."""
    source = (REPO / "Sources" / "FleetAuth" / "FleetClaims.swift").read_text(encoding="utf-8")
    found = dict(re.findall(r'static let `?(\w+)`?\s*=\s*"(fleet-[a-z]+)"', source))
    assert {"node", "operator"} <= found.keys(), f"issuers not found in FleetClaims.swift: {found}"
    return found
