"""The rendered Kong config routes every OpenAPI operation, with the guard its
`x-fleet-audience` calls for, and routes nothing else.

node       jwt (a node token, iss fleet-node) + acl allowing only the node consumer's group
operator   jwt (an operator token, iss fleet-operator) + acl allowing only the operators
enrollment no jwt (the node has no token yet), rate-limited
public     no jwt

Each OpenAPI path becomes concrete URLs (ids filled in, query strings added) that are run
through a model of Kong's router and of its jwt and acl plugins (kong_model.py), with
tokens signed like agent-svc signs them.
"""

from __future__ import annotations

import re
import time
import uuid
from urllib.parse import urlsplit

import pytest

from conftest import fleet_issuers, operations
from kong_model import KongConfig, sign_hs256

# Where the gateway deliberately guards an operation harder than agent-svc does.
# /metrics is open on agent-svc's own port for Prometheus inside the compose network;
# exposed through Kong's public port it would tell anyone the fleet's size and traffic.
GATEWAY_AUDIENCE = {("/metrics", "get"): "operator"}

NODE_ID_SAMPLES = ["edge-1", "node.a_B-9", "3f2a9c1b4e5d", "poll", "register", "token", "status", "logs"]
COMMAND_ID_SAMPLES = [str(uuid.uuid4()), str(uuid.uuid4()).upper(), "submit", "logs"]

# Requests no route may take: Kong answers them itself with 404.
UNROUTED = [
    ("GET", "/"),
    ("GET", "/v1"),
    ("GET", "/v1/"),
    ("GET", "/v1/agents/"),
    ("GET", "/v1/agents/edge-1/extra"),
    ("POST", "/v1/agents/edge-1"),
    ("DELETE", "/v1/agents/edge-1"),
    ("GET", "/v1/agents/register".replace("register", "edge-1/revoke")),
    ("PUT", "/v1/commands/submit"),
    ("GET", "/v1/commands/1/logs/2"),
    ("POST", "/v1/commands/abc/logs"),
    ("GET", "/v1/admin"),
    ("GET", "/healthz/extra"),
    ("POST", "/healthz"),
    ("GET", "/metricsx"),
    ("GET", "/v2/agents"),
    ("GET", "/status"),
]


def resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        target = document
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def sample_urls(document: dict, path: str, operation: dict, path_parameters: list) -> list[str]:
    parameters = [resolve(document, p) for p in list(path_parameters) + list(operation.get("parameters") or [])]
    by_name = {p["name"]: p for p in parameters if p.get("in") == "path"}
    has_query = any(p.get("in") == "query" for p in parameters)
    urls = [path]
    for name in re.findall(r"\{(\w+)\}", path):
        schema = resolve(document, by_name[name].get("schema") or {})
        samples = COMMAND_ID_SAMPLES if schema.get("format") == "uuid" else NODE_ID_SAMPLES
        urls = [u.replace("{" + name + "}", sample) for u in urls for sample in samples]
    if has_query:
        urls += [u + "?limit=10&wait=0" for u in urls]
    return urls


def audience_of(path: str, method: str, operation: dict) -> str:
    return GATEWAY_AUDIENCE.get((path, method), operation["x-fleet-audience"])


def all_cases(document: dict):
    for path, method, operation, path_parameters in operations(document):
        for url in sample_urls(document, path, operation, path_parameters):
            yield path, method, audience_of(path, method, operation), url


@pytest.fixture(scope="session")
def secret(example_env) -> str:
    return example_env["JWT_SIGNING_SECRET"]


@pytest.fixture(scope="session")
def tokens(secret) -> dict[str, str]:
    issuers = fleet_issuers()
    now = int(time.time())
    good = {"iat": now, "nbf": now, "exp": now + 3600}
    return {
        "node": sign_hs256({**good, "iss": issuers["node"], "sub": "edge-1", "role": "node", "ver": 1}, secret),
        "operator": sign_hs256({**good, "iss": issuers["operator"], "sub": "alice", "role": "operator"}, secret),
        "node_expired": sign_hs256(
            {"iat": now - 7200, "exp": now - 60, "iss": issuers["node"], "sub": "edge-1", "role": "node"}, secret),
        "operator_expired": sign_hs256(
            {"iat": now - 7200, "exp": now - 60, "iss": issuers["operator"], "sub": "alice", "role": "operator"}, secret),
        "operator_no_exp": sign_hs256({"iat": now, "iss": issuers["operator"], "sub": "alice", "role": "operator"}, secret),
        "operator_forged": sign_hs256({**good, "iss": issuers["operator"], "sub": "eve", "role": "operator"},
                                      "not-the-secret-but-just-as-long-xxxxxxxx"),
        "operator_hs512": sign_hs256({**good, "iss": issuers["operator"], "sub": "eve", "role": "operator"},
                                     secret, alg="HS512"),
        "node_forged": sign_hs256({**good, "iss": issuers["node"], "sub": "edge-1", "role": "node"},
                                  "not-the-secret-but-just-as-long-xxxxxxxx"),
        "unknown_issuer": sign_hs256({**good, "iss": "someone-else", "sub": "x"}, secret),
        "no_issuer": sign_hs256({**good, "sub": "x"}, secret),
    }


def test_openapi_has_operations(openapi):
    ops = list(operations(openapi))
    assert len(ops) >= 16, ops
    for path, method, operation, _ in ops:
        assert operation.get("x-fleet-audience") in {"node", "operator", "enrollment", "public"}, (path, method)


def test_every_operation_reaches_exactly_one_route(kong: KongConfig, openapi):
    problems = []
    for path, method, _, url in all_cases(openapi):
        routes = kong.matching_routes(method, url)
        if len(routes) != 1:
            problems.append(f"{method.upper()} {url} ({path}): {[r.name for r in routes] or 'no route'}")
    assert not problems, "\n".join(problems)


def test_routes_keep_the_path_and_reach_agent_svc(kong: KongConfig, compose):
    for route in kong.routes:
        # strip_path defaults to true in Kong: agent-svc would get "/" for everything.
        assert route.strip_path is False, f"route {route.name}: strip_path must be false"
    port = str(compose["services"]["agent-svc"]["environment"]["PORT"])
    for name, service in kong.services.items():
        target = urlsplit(service["url"])
        assert (target.scheme, target.hostname, str(target.port), target.path) == ("http", "agent-svc", port, ""), \
            f"service {name} points at {service['url']}"


def test_route_paths_are_anchored_regexes_kong_can_run(kong: KongConfig):
    for route in kong.routes:
        assert route.methods, f"route {route.name} must list its methods"
        for pattern in route.paths:
            assert pattern.startswith("~/"), f"route {route.name}: {pattern!r} is not a Kong 3 regex path"
            assert pattern.endswith("$"), f"route {route.name}: {pattern!r} is not anchored at the end"
            regex = pattern[1:]
            re.compile(regex)
            # Kong 3's router (ATC, Rust regex) has no look-around and no back-references.
            assert not re.search(r"\(\?[=!<]|\\[1-9]", regex), f"route {route.name}: {pattern!r}"


def test_no_route_without_an_operation(kong: KongConfig, openapi):
    """Kong exposes nothing the API does not document."""
    cases = list(all_cases(openapi))
    for route in kong.routes:
        for method in route.methods:
            hits = [url for _, m, _, url in cases if m.upper() == method.upper() and route.matches(method, url)]
            assert hits, f"route {route.name} {method} matches no OpenAPI operation"


@pytest.mark.parametrize("method,url", UNROUTED)
def test_unknown_requests_are_not_routed(kong: KongConfig, method, url):
    assert kong.matching_routes(method, url) == [], f"{method} {url} must not reach agent-svc"


def test_consumers_match_the_token_issuers(kong: KongConfig, secret):
    issuers = fleet_issuers()
    keys = [c["key"] for consumer in kong.consumers for c in consumer.jwt_secrets]
    assert sorted(keys) == sorted({issuers["node"], issuers["operator"]}), keys
    assert len(set(keys)) == len(keys), "jwt_secrets keys must be unique"
    for consumer in kong.consumers:
        assert len(consumer.groups) == 1, f"{consumer.username}: exactly one ACL group, got {consumer.groups}"
        for credential in consumer.jwt_secrets:
            assert credential.get("algorithm") == "HS256", credential.get("key")
            assert credential.get("secret") == secret, f"{credential.get('key')}: secret not rendered from env"
    groups = [next(iter(c.groups)) for c in kong.consumers]
    assert len(set(groups)) == len(groups), f"consumers share an ACL group: {groups}"


def group_of(kong: KongConfig, issuer: str) -> str:
    found = kong.consumer_for_key(issuer)
    assert found, f"no consumer for {issuer}"
    return next(iter(found[0].groups))


def test_plugin_set_matches_the_audience(kong: KongConfig, openapi):
    issuers = fleet_issuers()
    expected_acl = {
        "node": {group_of(kong, issuers["node"])},
        "operator": {group_of(kong, issuers["operator"])},
    }
    problems = []
    for path, method, audience, url in all_cases(openapi):
        (route,) = kong.matching_routes(method, url)
        plugins = kong.plugins_for(route)
        where = f"{method.upper()} {url} ({audience}, route {route.name})"
        if audience in ("node", "operator"):
            jwt = plugins.get("jwt")
            if jwt is None:
                problems.append(f"{where}: no jwt plugin")
                continue
            if jwt.get("key_claim_name", "iss") != "iss":
                problems.append(f"{where}: jwt key_claim_name must be iss")
            if "exp" not in (jwt.get("claims_to_verify") or []):
                problems.append(f"{where}: jwt must verify exp")
            if jwt.get("hide_credentials"):
                problems.append(f"{where}: agent-svc needs the token; hide_credentials must be false")
            if jwt.get("uri_param_names", ["jwt"]):
                problems.append(f"{where}: tokens must not be accepted in the URL (uri_param_names: [])")
            acl = plugins.get("acl") or {}
            if set(acl.get("allow") or []) != expected_acl[audience]:
                problems.append(f"{where}: acl allow {acl.get('allow')} != {sorted(expected_acl[audience])}")
        else:
            if "jwt" in plugins or "acl" in plugins:
                problems.append(f"{where}: must not require a token")
        if audience == "enrollment":
            limits = plugins.get("rate-limiting") or {}
            windows = [limits.get(k) for k in ("second", "minute", "hour", "day", "month", "year")]
            if not any(isinstance(v, int) and v > 0 for v in windows):
                problems.append(f"{where}: enrollment must be rate-limited (got {limits})")
            elif limits.get("limit_by", "consumer") != "ip":
                problems.append(f"{where}: no consumer before enrollment; limit_by must be ip")
    assert not problems, "\n".join(problems)


def test_tokens_through_the_gateway(kong: KongConfig, openapi, tokens):
    """Each audience admits its own token and refuses every other kind."""
    expect = {
        "node": {"node": 200, "operator": 403, None: 401, "node_expired": 401, "node_forged": 401,
                 "unknown_issuer": 401, "no_issuer": 401},
        "operator": {"operator": 200, "node": 403, None: 401, "operator_expired": 401, "operator_no_exp": 401,
                     "operator_forged": 401, "operator_hs512": 401, "unknown_issuer": 401, "no_issuer": 401},
        "enrollment": {None: 200, "node": 200},
        "public": {None: 200, "operator": 200},
    }
    problems = []
    for path, method, audience, url in all_cases(openapi):
        for which, status in expect[audience].items():
            token = tokens[which] if which else None
            decision = kong.authorize(method.upper(), url, f"Bearer {token}" if token else None)
            if decision.status != status:
                problems.append(f"{method.upper()} {url} ({audience}) with {which or 'no'} token: "
                                f"{decision.status} {decision.reason}, expected {status}")
    assert not problems, "\n".join(problems)


def test_metrics_is_not_public_through_the_gateway(kong: KongConfig, tokens):
    assert kong.authorize("GET", "/metrics", None).status == 401
    assert kong.authorize("GET", "/metrics", f"Bearer {tokens['node']}").status == 403
    assert kong.authorize("GET", "/metrics", f"Bearer {tokens['operator']}").allowed


def test_render_refuses_missing_and_placeholder_values(tmp_path, example_env):
    from conftest import TEMPLATE, render

    names = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}",
                           "\n".join(l for l in TEMPLATE.read_text().splitlines() if not l.lstrip().startswith("#"))))
    assert names == {"JWT_SIGNING_SECRET", "REGISTER_RATE_PER_MINUTE"}, names
    output = tmp_path / "kong.yml"
    for name in sorted(names):
        env = {k: v for k, v in example_env.items() if k != name}
        result = render(TEMPLATE, output, env)
        assert result.returncode != 0 and name in result.stderr, (name, result.stderr)
        assert not output.exists(), "nothing may be written when rendering fails"
    for bad in ["CHANGE_ME_run_openssl_rand_hex_32", "short", 'has"quote' + "x" * 32, "has space" + "x" * 32]:
        result = render(TEMPLATE, output, {**example_env, "JWT_SIGNING_SECRET": bad})
        assert result.returncode != 0 and "JWT_SIGNING_SECRET" in result.stderr, (bad, result.stderr)
        assert not output.exists()
    result = render(TEMPLATE, output, example_env)
    assert result.returncode == 0, result.stderr
    assert output.stat().st_mode & 0o077 == 0, "the rendered file holds the secret: mode 0600"
