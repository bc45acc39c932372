#!/usr/bin/env python3
"""Writes a copy of a built node-agent binary that reports another version.

    scripts/stamp-agent-version.py .build/release/node-agent /tmp/node-agent-0.2.0 0.2.0

The version lives in a fixed 96-byte field after the marker FLEET_AGENT_VERSION_STAMP:
(Sources/CAgentVersionStamp), so stamping rewrites those bytes and nothing else: a release
pipeline builds once and stamps each release, and the tests make a "second agent binary whose
version differs" in milliseconds instead of a second full build.
"""
import os
import re
import shutil
import sys

MARKER = b"FLEET_AGENT_VERSION_STAMP:"
FIELD = 96
VERSION = re.compile(r"^[A-Za-z0-9.+_-]{1,64}$")


def stamp(source: str, target: str, version: str) -> str:
    if not VERSION.match(version):
        raise SystemExit(f"stamp: version {version!r} must be 1-64 of letters, digits, '.', '-', '+', '_'")
    data = bytearray(open(source, "rb").read())
    at = data.find(MARKER)
    if at < 0 or data.find(MARKER, at + 1) >= 0:
        raise SystemExit(f"stamp: {source} must contain the version marker exactly once")
    start = at + len(MARKER)
    end = at + FIELD
    old = bytes(data[start:end]).split(b"\0", 1)[0].decode()
    value = version.encode()
    data[start:end] = value + b"\0" * (end - start - len(value))
    temporary = target + ".tmp"
    with open(temporary, "wb") as out:
        out.write(data)
    shutil.copymode(source, temporary)
    os.replace(temporary, target)
    return old


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    previous = stamp(*sys.argv[1:])
    print(f"{sys.argv[2]}: version {previous} -> {sys.argv[3]}")
