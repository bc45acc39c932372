"""A small offline model of what Kong does with deploy/kong's declarative config.

No Kong runs on the build machine, so the deploy tests ask this model instead:

* which route (and service) a method + URL reaches: Kong 3 paths are either plain
  prefixes or regexes written with a leading `~`, matched from the start of the path
  (the query string is not part of it), and a route with `methods` only takes those;
* which plugins apply to a route: global ones, the service's and the route's own;
* what the jwt + acl plugins decide for a token, as Kong's jwt plugin does it: the
  credential is looked up by the `key_claim_name` claim (default `iss`), the token's
  `alg` must be the credential's algorithm, the HS256 signature must verify with the
  credential's secret, and `exp` is checked only when `claims_to_verify` lists it; then
  the acl plugin admits the consumer when one of its groups is in `allow` (and none in
  `deny`). Failures are 401 (jwt) and 403 (acl), as in Kong.

Command line (used by scripts/check-deploy.sh with real tokens minted by agent-svc):

    python3 kong_model.py authorize RENDERED_KONG_YML METHOD URL [TOKEN]

prints `allow <service> <route> <consumer>` and exits 0, or `deny <status> <reason>`
and exits 1.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml


@dataclass
class Route:
    name: str
    service: str
    paths: list[str]
    methods: list[str] | None
    strip_path: bool | None
    plugins: list[dict] = field(default_factory=list)

    def matches(self, method: str, url: str) -> bool:
        path = urlsplit(url).path or "/"
        if self.methods is not None and method.upper() not in {m.upper() for m in self.methods}:
            return False
        return any(path_matches(pattern, path) for pattern in self.paths)


def path_matches(pattern: str, path: str) -> bool:
    """Kong 3: `~regex` is matched from the start of the path; anything else is a prefix."""
    if pattern.startswith("~"):
        return re.match(pattern[1:], path) is not None
    return path.startswith(pattern)


@dataclass
class Consumer:
    username: str
    groups: set[str]
    jwt_secrets: list[dict]


class KongConfig:
    def __init__(self, document: dict):
        self.document = document
        self.global_plugins = list(document.get("plugins") or [])
        self.services: dict[str, dict] = {}
        self.routes: list[Route] = []
        for service in document.get("services") or []:
            self.services[service["name"]] = service
            for route in service.get("routes") or []:
                self.routes.append(Route(
                    name=route["name"], service=service["name"], paths=list(route.get("paths") or []),
                    methods=route.get("methods"), strip_path=route.get("strip_path"),
                    plugins=list(route.get("plugins") or [])))
        for route in document.get("routes") or []:  # top-level routes name their service
            self.routes.append(Route(
                name=route["name"], service=route.get("service"), paths=list(route.get("paths") or []),
                methods=route.get("methods"), strip_path=route.get("strip_path"),
                plugins=list(route.get("plugins") or [])))
        self.consumers: list[Consumer] = [
            Consumer(
                username=c["username"],
                groups={acl["group"] for acl in c.get("acls") or []},
                jwt_secrets=list(c.get("jwt_secrets") or []))
            for c in document.get("consumers") or []
        ]

    @classmethod
    def load(cls, path: str | Path) -> "KongConfig":
        with open(path, encoding="utf-8") as handle:
            return cls(yaml.safe_load(handle))

    def matching_routes(self, method: str, url: str) -> list[Route]:
        return [route for route in self.routes if route.matches(method, url)]

    def plugins_for(self, route: Route) -> dict[str, dict]:
        """Effective plugins by name; the most specific wins (route > service > global)."""
        effective: dict[str, dict] = {}
        layers = [self.global_plugins, self.services.get(route.service, {}).get("plugins") or [], route.plugins]
        for layer in layers:
            for plugin in layer:
                if plugin.get("enabled", True):
                    effective[plugin["name"]] = plugin.get("config") or {}
        return effective

    def consumer_for_key(self, key: str) -> tuple[Consumer, dict] | None:
        for consumer in self.consumers:
            for credential in consumer.jwt_secrets:
                if credential.get("key") == key:
                    return consumer, credential
        return None

    def authorize(self, method: str, url: str, token: str | None, now: float | None = None) -> "Decision":
        routes = self.matching_routes(method, url)
        if not routes:
            return Decision(False, 404, "no Route matched")
        if len(routes) > 1:
            return Decision(False, 500, f"ambiguous: {[r.name for r in routes]}")
        route = routes[0]
        plugins = self.plugins_for(route)
        consumer = None
        if "jwt" in plugins:
            outcome = verify_jwt(self, plugins["jwt"], token, now)
            if isinstance(outcome, Decision):
                outcome.route = route
                return outcome
            consumer = outcome
        if "acl" in plugins:
            config = plugins["acl"]
            if consumer is None:
                return Decision(False, 401, "acl needs an authenticated consumer", route)
            allow, deny = set(config.get("allow") or []), set(config.get("deny") or [])
            if (allow and not consumer.groups & allow) or consumer.groups & deny:
                return Decision(False, 403, "You cannot consume this service", route, consumer)
        return Decision(True, 200, "allowed", route, consumer)


@dataclass
class Decision:
    allowed: bool
    status: int
    reason: str
    route: Route | None = None
    consumer: Consumer | None = None


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_hs256(claims: dict, secret: str, alg: str = "HS256") -> str:
    """A test token; `alg` only changes the header (to test Kong's alg check)."""
    header = b64url_encode(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = b64url_encode(json.dumps(claims).encode())
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}.get(alg, hashlib.sha256)
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), digest).digest()
    return f"{header}.{payload}.{b64url_encode(signature)}"


def verify_jwt(config: KongConfig, plugin: dict, token: str | None, now: float | None):
    """Consumer on success, else a 401 Decision (Kong's jwt plugin answers 401 for all)."""
    if not token:
        return Decision(False, 401, "Unauthorized")
    if token.lower().startswith("bearer "):
        token = token[7:]
    parts = token.split(".")
    if len(parts) != 3:
        return Decision(False, 401, "Bad token; invalid JSON")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except (ValueError, json.JSONDecodeError):
        return Decision(False, 401, "Bad token; invalid JSON")
    key_claim = plugin.get("key_claim_name", "iss")
    key = claims.get(key_claim) or header.get(key_claim)
    if not key:
        return Decision(False, 401, f"No mandatory '{key_claim}' in claims")
    found = config.consumer_for_key(key)
    if found is None:
        return Decision(False, 401, f"No credentials found for given '{key_claim}'")
    consumer, credential = found
    algorithm = credential.get("algorithm", "HS256")
    if header.get("alg") != algorithm:
        return Decision(False, 401, "Invalid algorithm")
    if algorithm != "HS256":
        return Decision(False, 401, f"model only verifies HS256, credential uses {algorithm}")
    secret = credential.get("secret", "")
    secret_bytes = base64.b64decode(secret) if plugin.get("secret_is_base64") else secret.encode()
    expected = hmac.new(secret_bytes, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        return Decision(False, 401, "Invalid signature")
    now = time.time() if now is None else now
    for claim in plugin.get("claims_to_verify") or []:
        value = claims.get(claim)
        if not isinstance(value, (int, float)):
            return Decision(False, 401, f"'{claim}' must be a number")
        if claim == "exp" and value <= now:
            return Decision(False, 401, "token expired")
        if claim == "nbf" and value > now:
            return Decision(False, 401, "token not valid yet")
    maximum = plugin.get("maximum_expiration") or 0
    if maximum and (not isinstance(claims.get("exp"), (int, float)) or claims["exp"] - now > maximum):
        return Decision(False, 401, "exp exceeds maximum_expiration")
    return consumer


def main(argv: list[str]) -> int:
    if len(argv) < 5 or argv[1] != "authorize":
        print(__doc__, file=sys.stderr)
        return 2
    config = KongConfig.load(argv[2])
    decision = config.authorize(argv[3], argv[4], argv[5] if len(argv) > 5 else None)
    if decision.allowed:
        consumer = decision.consumer.username if decision.consumer else "-"
        print(f"allow {decision.route.service} {decision.route.name} {consumer}")
        return 0
    print(f"deny {decision.status} {decision.reason}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
