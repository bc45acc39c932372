"""Certificates for the TLS tests (issue 17), made with the openssl CLI in a directory the
test owns: a root CA, an intermediate CA below it, and server certificates for the names
the test says (127.0.0.1 and localhost by default), each with a serial the test can look for.

EC P-256 keys: quick to make, and what a deployment would choose today. Valid for two days,
so a machine's clock a little off does not matter.
"""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

_CONFIG = """\
[req]
distinguished_name = dn
prompt = no

[dn]
CN = fleet-e2e

[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = {alt_names}
"""


def _openssl(*args: str, config: Path | None = None) -> None:
    argv = ["openssl", *args] + (["-config", str(config)] if config else [])
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stderr}")


def _serial() -> int:
    return secrets.randbits(62) | (1 << 62)  # positive, 63 bits, never zero


def _config(path: Path, hosts: tuple[str, ...] = ()) -> Path:
    alt = ", ".join(f"IP:{h}" if h.replace(".", "").isdigit() or ":" in h else f"DNS:{h}" for h in hosts) or "DNS:unused"
    path.write_text(_CONFIG.format(alt_names=alt))
    return path


def _key(path: Path) -> Path:
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path))
    path.chmod(0o600)
    return path


@dataclass(frozen=True)
class ServerCert:
    """A server's key and certificate; `chain` is what TLS_CERT_FILE gets (leaf, then the
    intermediates up to, not including, the root)."""
    name: str
    key: Path
    leaf: Path
    chain: Path
    serial: int


class CertificateAuthority:
    """A CA in `directory`: `cert` is the PEM a client trusts (FLEET_CA_FILE) when this is a root."""

    def __init__(self, directory: Path, name: str, parent: CertificateAuthority | None = None):
        directory.mkdir(parents=True, exist_ok=True)
        self.dir = directory
        self.name = name
        self.parent = parent
        self.key = _key(directory / f"{name}.key")
        self.cert = directory / f"{name}.pem"
        self.serial = _serial()
        config = _config(directory / f"{name}.cnf")
        if parent is None:
            _openssl("req", "-new", "-x509", "-key", str(self.key), "-out", str(self.cert), "-days", "2",
                     "-subj", f"/CN={name}", "-extensions", "ca", "-set_serial", str(self.serial), config=config)
        else:
            request = directory / f"{name}.csr"
            _openssl("req", "-new", "-key", str(self.key), "-out", str(request), "-subj", f"/CN={name}", config=config)
            parent._sign(request, self.cert, config, "ca", self.serial)

    def intermediate(self, name: str) -> CertificateAuthority:
        """A CA signed by this one."""
        return CertificateAuthority(self.dir, name, parent=self)

    def server(self, name: str, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> ServerCert:
        """A server certificate for `hosts` (IP or DNS names), signed by this CA."""
        key = _key(self.dir / f"{name}.key")
        config = _config(self.dir / f"{name}.cnf", hosts)
        request = self.dir / f"{name}.csr"
        _openssl("req", "-new", "-key", str(key), "-out", str(request), "-subj", f"/CN={name}", config=config)
        leaf = self.dir / f"{name}.pem"
        serial = _serial()
        self._sign(request, leaf, config, "server", serial)
        chain = self.dir / f"{name}-chain.pem"
        chain.write_bytes(leaf.read_bytes() + b"".join(ca.cert.read_bytes() for ca in self._intermediates()))
        return ServerCert(name=name, key=key, leaf=leaf, chain=chain, serial=serial)

    def _intermediates(self) -> list[CertificateAuthority]:
        """This CA and its parents below the root, nearest first."""
        found, ca = [], self
        while ca.parent is not None:
            found.append(ca)
            ca = ca.parent
        return found

    def _sign(self, request: Path, out: Path, config: Path, extensions: str, serial: int) -> None:
        _openssl("x509", "-req", "-in", str(request), "-CA", str(self.cert), "-CAkey", str(self.key),
                 "-set_serial", str(serial), "-days", "2", "-extfile", str(config), "-extensions", extensions,
                 "-out", str(out))
