"""An impaired link between one node and the server, in userspace (this kernel has no
sch_netem): the node-agent runs in a network namespace the test creates; its only route to
agent-svc is a TUN device inside the namespace, paired with a TUN device outside it, and a
forwarder thread in the test process copies IP packets between the two — delaying,
dropping or black-holing them as the test says.

Only the test's own addresses are touched: a namespace and two TUN devices named after the
test run, a /32 point-to-point pair from 10.213.0.0/16, all removed at close.
"""

from __future__ import annotations

import fcntl
import heapq
import itertools
import os
import random
import select
import struct
import subprocess
import threading
import time
import uuid

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

_pairs = itertools.count(1)


class NamespaceRefused(Exception):
    """The kernel (or our privileges) will not give us a namespace or TUN devices."""


def _run(*argv: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    if result.returncode != 0:
        raise NamespaceRefused(f"{' '.join(argv)}: {result.stderr.strip() or result.returncode}")


def _open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    except OSError:
        os.close(fd)
        raise
    return fd


class ImpairedLink:
    """namespace ⇄ TUN ⇄ forwarder ⇄ TUN ⇄ host. `server_ip` is the host end (agent-svc
    listens there), `node_ip` the namespace end. Modes: pass, impaired (delay ± jitter,
    loss), blackhole (every packet dropped, both ways)."""

    def __init__(self):
        suffix = uuid.uuid4().hex[:6]
        number = (os.getpid() + next(_pairs)) % 250 + 1
        self.namespace = f"fleetflt-{suffix}"
        self.inner_dev = f"fltn{suffix}"
        self.outer_dev = f"flth{suffix}"
        self.server_ip = f"10.213.{number}.1"
        self.node_ip = f"10.213.{number}.2"
        self._lock = threading.Lock()
        self._delay = 0.0
        self._jitter = 0.0
        self._loss = 0.0
        self._blackhole = False
        self._stop = threading.Event()
        self.forwarded = 0
        self.dropped = 0
        self._fds: list[int] = []
        self._created_namespace = False
        try:
            self._setup()
        except (NamespaceRefused, OSError) as error:
            self.close()
            raise NamespaceRefused(str(error)) from error
        self._thread = threading.Thread(target=self._forward, name="impaired-link", daemon=True)
        self._thread.start()

    def _setup(self) -> None:
        _run("ip", "netns", "add", self.namespace)
        self._created_namespace = True
        inner = _open_tun(self.inner_dev)
        self._fds.append(inner)
        outer = _open_tun(self.outer_dev)
        self._fds.append(outer)
        ns = ("ip", "netns", "exec", self.namespace)
        _run("ip", "link", "set", self.inner_dev, "netns", self.namespace)
        _run(*ns, "ip", "link", "set", "lo", "up")
        _run(*ns, "ip", "addr", "add", self.node_ip, "peer", self.server_ip, "dev", self.inner_dev)
        _run(*ns, "ip", "link", "set", self.inner_dev, "up")
        _run("ip", "addr", "add", self.server_ip, "peer", self.node_ip, "dev", self.outer_dev)
        _run("ip", "link", "set", self.outer_dev, "up")
        self.inner, self.outer = inner, outer

    def wrap(self, argv: list[str]) -> list[str]:
        """`argv` run inside the namespace (`ip netns exec` execs it: same pid)."""
        return ["ip", "netns", "exec", self.namespace, *argv]

    # ---- modes

    def set_pass(self) -> None:
        with self._lock:
            self._delay, self._jitter, self._loss, self._blackhole = 0.0, 0.0, 0.0, False

    def impair(self, delay: float, jitter: float, loss: float) -> None:
        with self._lock:
            self._delay, self._jitter, self._loss, self._blackhole = delay, jitter, loss, False

    def blackhole(self) -> None:
        with self._lock:
            self._blackhole = True

    def heal(self) -> None:
        self.set_pass()

    # ---- the forwarder

    def _forward(self) -> None:
        pending: list[tuple[float, int, int, bytes]] = []  # (due, sequence, target fd, packet)
        sequence = itertools.count()
        targets = {self.inner: self.outer, self.outer: self.inner}
        while not self._stop.is_set():
            now = time.monotonic()
            timeout = 0.2 if not pending else max(0.0, min(0.2, pending[0][0] - now))
            try:
                readable, _, _ = select.select([self.inner, self.outer], [], [], timeout)
            except (OSError, ValueError):
                return
            for fd in readable:
                for _ in range(256):
                    try:
                        packet = os.read(fd, 65535)
                    except BlockingIOError:
                        break
                    except OSError:
                        return
                    with self._lock:
                        blackhole, delay, jitter, loss = self._blackhole, self._delay, self._jitter, self._loss
                    if blackhole or (loss and random.random() < loss):
                        self.dropped += 1
                        continue
                    due = time.monotonic() + max(0.0, delay + random.uniform(-jitter, jitter))
                    heapq.heappush(pending, (due, next(sequence), targets[fd], packet))
            now = time.monotonic()
            while pending and pending[0][0] <= now:
                _, _, target, packet = heapq.heappop(pending)
                with self._lock:
                    blackhole = self._blackhole
                if blackhole:
                    self.dropped += 1
                    continue
                try:
                    os.write(target, packet)
                    self.forwarded += 1
                except OSError:
                    self.dropped += 1

    def close(self) -> None:
        self._stop.set()
        thread = getattr(self, "_thread", None)
        if thread is not None:
            thread.join(timeout=5)
        for fd in self._fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds = []
        if self._created_namespace:
            subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True, timeout=20)
            self._created_namespace = False
