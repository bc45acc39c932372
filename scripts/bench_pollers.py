#!/usr/bin/env python3
"""Holds N long-polling nodes against agent-svc and reports the service's CPU and RSS.

Usage: bench_pollers.py URL ENROLLMENT_TOKEN SVC_PID [--nodes N] [--seconds S] [--wait W]
Each simulated node keeps one keep-alive connection and re-polls as soon as a poll returns,
like node-agent does. Registration happens first (not measured).
"""
import argparse, asyncio, json, os, resource, time


async def http(reader, writer, method, path, body, headers):
    data = json.dumps(body).encode()
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    writer.write(head.encode() + data)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    payload = await reader.readexactly(length) if length else b""
    return status, payload


async def node(host, port, enrollment, index, wait, stop, counters, ready):
    reader, writer = await asyncio.open_connection(host, port)
    status, payload = await http(reader, writer, "POST", "/v1/agents/register",
                                 {"node_id": f"poller-{index}", "attrs": {}}, {"X-Enrollment-Token": enrollment})
    token = json.loads(payload)["token"]
    ready.append(index)
    while not stop.is_set():
        status, _ = await http(reader, writer, "POST", "/v1/agents/poll", {"wait_sec": wait, "active": []},
                               {"Authorization": f"Bearer {token}"})
        counters["polls"] += 1
        if status != 200:
            counters["errors"] += 1
            await asyncio.sleep(1)
    writer.close()


def ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("enrollment")
    parser.add_argument("pid", type=int)
    parser.add_argument("--nodes", type=int, default=10000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--wait", type=int, default=25)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.nodes + 1024), hard))
    host, port = args.url.split("//")[1].split(":")
    stop = asyncio.Event()
    counters = {"polls": 0, "errors": 0}
    ready = []
    tasks = []
    for index in range(args.nodes):
        tasks.append(asyncio.create_task(node(host, int(port), args.enrollment, index, args.wait, stop, counters, ready)))
        if index % 200 == 199:
            await asyncio.sleep(0.05)
    while len(ready) < args.nodes:
        await asyncio.sleep(0.5)
    await asyncio.sleep(args.wait + 2)  # let the registration burst settle into steady polling
    hz = os.sysconf("SC_CLK_TCK")
    t0, p0, start = ticks(args.pid), counters["polls"], time.perf_counter()
    await asyncio.sleep(args.seconds)
    t1, p1, elapsed = ticks(args.pid), counters["polls"], time.perf_counter() - start
    rss = [l for l in open(f"/proc/{args.pid}/status") if l.startswith("VmRSS")][0].split()[1]
    print(f"{args.nodes} long-polling nodes (wait {args.wait} s) over {elapsed:.0f} s: agent-svc CPU "
          f"{(t1 - t0) / hz / elapsed * 100:.1f} % of a core, {(p1 - p0) / elapsed:.0f} polls/s, "
          f"RSS {int(rss) / 1024:.0f} MB, errors {counters['errors']}")
    stop.set()
    for task in tasks:
        task.cancel()


asyncio.run(main())
