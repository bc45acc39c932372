"""Schema-driven fuzzing: schemathesis generates requests from openapi.yaml for every
operation, with the credential of the audience that operation names (`x-fleet-audience`),
and checks each answer against the document: no 5xx, every status, header and body
documented, invalid input refused, valid input accepted, auth not ignored, a wrong method
405 with Allow. Bounded by FUZZ_MAX_TIME seconds per audience (scripts/fuzz.sh --long
raises it); the seed is fixed so a failure found in CI reproduces (FUZZ_SEED changes it)."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from conftest import REPO, report

MAX_TIME = int(os.environ.get("FUZZ_MAX_TIME", "40"))
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "40"))
SEED = os.environ.get("FUZZ_SEED", "20261202")
WORKERS = os.environ.get("FUZZ_WORKERS", "2")


def schemathesis() -> list[str]:
    """The CLI of the pinned schemathesis (scripts/fuzz.sh installs it)."""
    cli = shutil.which("st") or shutil.which("schemathesis")
    if cli is None:
        pytest.fail("schemathesis is not installed: run scripts/fuzz.sh (it installs the pinned version)")
    return [cli]


def audience_document(document: dict, audience: str) -> dict:
    """The document with only the operations of one audience (components kept whole)."""
    narrowed = copy.deepcopy(document)
    paths = {}
    for path, item in document["paths"].items():
        operations = {method: op for method, op in item.items()
                      if isinstance(op, dict) and op.get("x-fleet-audience") == audience}
        if operations:
            shared = {key: value for key, value in item.items() if not isinstance(value, dict) or key == "parameters"}
            paths[path] = dict(shared, **operations)
    narrowed["paths"] = paths
    return narrowed


def only_tool_crashes(result: subprocess.CompletedProcess) -> bool:
    """Whether a failed run found nothing against the API and failed only because schemathesis
    itself crashed ("Runtime Error": an exception inside its engine, such as Hypothesis's
    `lambda_sources.py` "AST constructor recursion depth mismatch" seen once in CI). Such a run
    is repeated once; a failed check, a network error or a crash of the service never is."""
    if result.returncode == 0:
        return False
    # The summary may come on either stream: read both.
    output = result.stdout + result.stderr
    failed_checks = re.findall(r"^\s*❌ ", output, re.MULTILINE)
    # The summary's error groups: "  🚫 Runtime Error: 2", one per line.
    errors = re.findall(r"^[ \t]*🚫 ([^:\n]+): \d+[ \t]*$", output, re.MULTILINE)
    return not failed_checks and bool(errors) and all(title.strip() == "Runtime Error" for title in errors)


def mint_token(fleet, role: str) -> str:
    result = subprocess.run(
        [str(fleet.binaries["agent-svc"]), "operator-token", "--name", f"fuzz-{role}", "--role", role],
        env=fleet.svc_env, capture_output=True, text=True, timeout=30)
    return result.stdout.strip() if result.returncode == 0 else fleet.operator_token


def test_schema_fuzzing_finds_no_server_error_and_no_schema_violation(make_fleet, tmp_path, capsys):
    fleet = make_fleet()
    base = fleet.svc.url
    registered = requests.post(f"{base}/v1/agents/register", headers={"X-Enrollment-Token": fleet.enrollment_token},
                               json={"node_id": "fuzz-node", "attrs": {"os": "linux"}}, timeout=10)
    assert registered.status_code == 201, registered.text
    node_token = registered.json()["token"]
    operator = mint_token(fleet, "admin")
    # Something to find: a command on the node, so reads of real ids are exercised too.
    submitted = requests.post(f"{base}/v1/commands/submit", headers={"Authorization": f"Bearer {operator}"},
                              json={"command_type": "RunCommand", "targets": ["fuzz-node"], "payload": {"cmd": "true"}},
                              timeout=10)
    assert submitted.status_code == 201, submitted.text

    document = yaml.safe_load((REPO / "openapi.yaml").read_text())
    credentials = {
        "public": [],
        "operator": ["-H", f"Authorization: Bearer {operator}"],
        "node": ["-H", f"Authorization: Bearer {node_token}"],
        "enrollment": ["-H", f"X-Enrollment-Token: {fleet.enrollment_token}"],
    }
    failures = []
    for audience, headers in credentials.items():
        spec = tmp_path / f"openapi-{audience}.yaml"
        spec.write_text(yaml.safe_dump(audience_document(document, audience), sort_keys=False))
        command = [
            *schemathesis(), "--config-file", str(Path(__file__).with_name("schemathesis.toml")), "run", str(spec), "--url", base, "--checks", "all", "--max-time", str(MAX_TIME),
            "--max-examples", str(MAX_EXAMPLES), "--seed", SEED, "--workers", WORKERS, "--request-timeout", "40",
            # A long-poll is held up to 30 s by design.
            "--max-response-time", "35",
            # The document states that no string may hold NUL, and Postgres cannot store one:
            # those are refused with 400 (regression tests in BadInputTests); a generator
            # that keeps producing them would only report the refusal it was told of.
            "--generation-allow-x00", "false",
            "--no-color", "--output-truncate", "true", *headers]
        for attempt in (1, 2):
            started = time.monotonic()
            result = subprocess.run(command, capture_output=True, text=True, timeout=MAX_TIME * 4 + 120, cwd=tmp_path)
            took = time.monotonic() - started
            summary = re.findall(r"^\s*(?:\d+ generated.*|❌ .*|🚫 .*)$", result.stdout + result.stderr, re.MULTILINE)
            report(capsys, f"schemathesis {audience} (run {attempt}): exit {result.returncode} in {took:.0f} s; " + "; ".join(summary))
            (tmp_path / f"schemathesis-{audience}-{attempt}.txt").write_text(result.stdout + result.stderr)
            if attempt == 2 or not only_tool_crashes(result):
                break
        if result.returncode != 0:
            found = result.stdout.find("FAILURES")
            failures.append(f"--- {audience} ---\n{result.stdout[max(found, 0):][:20000]}\n{result.stderr[-2000:]}")
    # The service is still healthy and its log holds no token.
    assert requests.get(f"{base}/readyz", timeout=10).status_code == 200
    log = fleet.svc.log_text()
    for secret in (operator, node_token, fleet.enrollment_token, fleet.secret):
        assert secret not in log, "a secret reached the agent-svc log"
    assert not failures, "\n".join(failures)
