#!/usr/bin/env python3
"""Validates openapi.yaml at the repo root.

Checks, in order:
  1. the document is valid OpenAPI 3.0 (openapi-spec-validator);
  2. every operation says who may call it (`x-fleet-audience`) and how (`security`);
  3. the layout that Tests/AgentServiceTests/OpenAPITests.swift reads line by line
     (path keys indented by two spaces, methods by four) gives the same operations as
     the YAML parser, so that test compares the router with what is really documented.

Prints `openapi: ok (N paths, M operations)` and exits 0, or names every problem and exits 1.
Run from anywhere: `python3 scripts/check_openapi.py [path/to/openapi.yaml]`.
"""

import re
import sys
from pathlib import Path

try:
    import yaml
    from openapi_spec_validator import validate
    from openapi_spec_validator.readers import read_from_filename
except ImportError as error:  # pragma: no cover - depends on the machine
    sys.exit(
        f"openapi: cannot import the validator ({error}); "
        "install it with: python3 -m pip install openapi-spec-validator pyyaml"
    )

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
AUDIENCES = {"node", "operator", "enrollment", "public"}
SCHEMES_FOR_AUDIENCE = {
    "node": {"nodeToken"},
    "operator": {"operatorToken"},
    "enrollment": {"enrollmentToken", "nodeToken"},
    "public": set(),
}
PATH_LINE = re.compile(r"^  (/\S*):\s*$")
METHOD_LINE = re.compile(r"^    (get|put|post|delete|patch|head|options|trace):\s*$")
TOP_LEVEL = re.compile(r"^\S")


def line_operations(text: str) -> set[tuple[str, str]]:
    """Operations as the Swift test reads them: `  /path:` then `    method:` lines."""
    operations = set()
    in_paths = False
    path = None
    for line in text.splitlines():
        if TOP_LEVEL.match(line):
            in_paths = line.rstrip() == "paths:"
            path = None
            continue
        if not in_paths:
            continue
        if match := PATH_LINE.match(line):
            path = match.group(1)
        elif (match := METHOD_LINE.match(line)) and path:
            operations.add((match.group(1).upper(), path))
    return operations


def check_operations(document: dict) -> tuple[list[str], set[tuple[str, str]]]:
    """Problems with audience and security declarations, plus the parsed operations."""
    problems = []
    operations = set()
    seen_ids = {}
    for path, item in (document.get("paths") or {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            name = f"{method.upper()} {path}"
            operations.add((method.upper(), path))
            audience = operation.get("x-fleet-audience")
            if audience not in AUDIENCES:
                problems.append(f"{name}: x-fleet-audience must be one of {sorted(AUDIENCES)}, got {audience!r}")
            if not operation.get("summary"):
                problems.append(f"{name}: has no summary")
            operation_id = operation.get("operationId")
            if operation_id in seen_ids:
                problems.append(f"{name}: operationId {operation_id!r} is also used by {seen_ids[operation_id]}")
            seen_ids[operation_id] = name
            if "security" not in operation:
                problems.append(f"{name}: has no security (use `security: []` for a public route)")
                continue
            schemes = {scheme for requirement in operation["security"] for scheme in requirement}
            expected = SCHEMES_FOR_AUDIENCE.get(audience)
            if expected is not None and schemes != expected:
                problems.append(f"{name}: audience {audience} expects security schemes {sorted(expected)}, got {sorted(schemes)}")
            if audience != "public" and "401" not in operation.get("responses", {}):
                problems.append(f"{name}: a protected route must document 401")
    return problems, operations


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "openapi.yaml"
    if not path.is_file():
        print(f"openapi: {path} does not exist", file=sys.stderr)
        return 1
    try:
        spec, _ = read_from_filename(str(path))
    except yaml.YAMLError as error:
        print(f"openapi: {path} is not valid YAML: {error}", file=sys.stderr)
        return 1
    try:
        validate(spec)
    except Exception as error:  # the validator raises several error types
        where = "/".join(str(part) for part in getattr(error, "path", []) or [])
        message = getattr(error, "message", None) or str(error)
        print(f"openapi: {path} is not a valid OpenAPI document: {message}" + (f" (at {where})" if where else ""), file=sys.stderr)
        return 1

    problems, operations = check_operations(spec)
    by_lines = line_operations(path.read_text(encoding="utf-8"))
    for method, route in sorted(operations - by_lines):
        problems.append(f"{method} {route}: not laid out as `  {route}:` / `    {method.lower()}:` lines (OpenAPITests would miss it)")
    for method, route in sorted(by_lines - operations):
        problems.append(f"{method} {route}: seen by the line reader but not an operation of the document")
    if problems:
        print(f"openapi: {path}: {len(problems)} problem(s)", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1

    paths = len(spec.get("paths") or {})
    print(f"openapi: ok ({paths} paths, {len(operations)} operations)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
