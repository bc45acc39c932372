#!/usr/bin/env python3
"""Submits `head -c NM /dev/urandom | base64 | tee FILE` to one node and times until every byte is in
Postgres (invocation terminal, stored bytes == reported total); then reads it back and compares."""
import hashlib, json, sys, time, urllib.request

url, token, node, mb, tee_file, local_s, local_bytes = sys.argv[1:8]


def call(method, path, body=None):
    request = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)


cmd = f"head -c {mb}M /dev/urandom | base64 | tee {tee_file}"
start = time.perf_counter()
command_id = call("POST", "/v1/commands/submit", {"command_type": "RunCommand", "targets": [node],
                                                  "payload": {"cmd": cmd, "timeout_sec": 3600}})["command_id"]
while True:
    invocation = call("GET", f"/v1/commands/{command_id}")["invocations"][0]
    if invocation["state"] not in ("queued", "delivered", "running") and \
            invocation["stdout_bytes"] >= invocation.get("stdout_total", 0):
        break
    time.sleep(0.05)
elapsed = time.perf_counter() - start
size = invocation["stdout_bytes"]
print(f"end-to-end: {size / 1e6:.0f} MB of output in Postgres {elapsed:.2f} s after submit: {size / 1e6 / elapsed:.1f} MB/s "
      f"(state {invocation['state']}); the command alone takes {float(local_s):.2f} s "
      f"({int(local_bytes) / 1e6 / float(local_s):.1f} MB/s)")

digest = hashlib.sha256()
cursor = ""
read = 0
start = time.perf_counter()
while True:
    page = call("GET", f"/v1/commands/{command_id}/logs?node_id={node}&limit=1000&cursor={cursor}")
    for chunk in page["chunks"]:
        data = chunk["data"].encode() if chunk["encoding"] == "utf8" else __import__("base64").b64decode(chunk["data"])
        digest.update(data)
        read += len(data)
    cursor = page["next_cursor"]
    if page["complete"] and not page["chunks"]:
        break
read_s = time.perf_counter() - start
expected = hashlib.sha256(open(tee_file, "rb").read()).hexdigest()
print(f"read back {read / 1e6:.0f} MB in {read_s:.2f} s ({read / 1e6 / read_s:.1f} MB/s); "
      f"byte-exact: {'yes' if digest.hexdigest() == expected else 'NO'}")
