"""Hostile clients against a real agent-svc process: slow headers from hundreds of sockets,
connections that never send a byte, a body that never arrives while the service is told to
stop. Each is bounded by the server's own limits (shortened here by environment), and
/readyz answers at once throughout. Figures are printed, never asserted as timings beyond
the limits themselves."""

from __future__ import annotations

import socket
import statistics
import time

import requests

from conftest import report

SLOW_CLIENTS = 400


def open_socket(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.settimeout(0)
    return sock


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server has closed (EOF or reset), whatever it answered first."""
    try:
        sock.settimeout(0.05)
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except (socket.timeout, BlockingIOError):
        return False
    except OSError:
        return True


def readyz_latencies(url: str, count: int = 20) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.monotonic()
        assert requests.get(f"{url}/readyz", timeout=5).status_code == 200
        latencies.append((time.monotonic() - started) * 1000)
    return latencies


def test_slow_headers_are_cut_off_and_readyz_stays_fast(make_fleet, capsys):
    fleet = make_fleet(HTTP_HEADER_TIMEOUT_SEC="2")
    port = fleet.svc.port
    clients = [open_socket(port) for _ in range(SLOW_CLIENTS)]
    started = time.monotonic()
    for sock in clients:
        sock.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    # One more header byte a second from each, as a slowloris does.
    latencies: list[float] = []
    while time.monotonic() - started < 1.5:
        for sock in clients:
            try:
                sock.send(b"X")
            except OSError:
                pass
        latencies += readyz_latencies(fleet.svc.url, 5)
        time.sleep(0.3)
    deadline = time.monotonic() + 15
    remaining = clients
    while remaining and time.monotonic() < deadline:
        remaining = [sock for sock in remaining if not closed_by_server(sock)]
        time.sleep(0.2)
    cut_after = time.monotonic() - started
    for sock in clients:
        sock.close()
    report(capsys, f"{SLOW_CLIENTS} slow-header clients: all closed by the server after {cut_after:.1f} s "
                   f"(header timeout 2 s); /readyz meanwhile p50 {statistics.median(latencies):.1f} ms, "
                   f"max {max(latencies):.1f} ms over {len(latencies)} requests")
    assert not remaining, f"{len(remaining)} slow clients still connected after {cut_after:.0f} s"
    assert requests.get(f"{fleet.svc.url}/readyz", timeout=5).status_code == 200


def test_connections_that_never_send_a_byte_are_closed_when_idle(make_fleet, capsys):
    fleet = make_fleet(HTTP_IDLE_TIMEOUT_SEC="31")  # the shortest allowed: longer than a long-poll
    clients = [open_socket(fleet.svc.port) for _ in range(300)]
    started = time.monotonic()
    latencies = readyz_latencies(fleet.svc.url, 10)
    remaining = clients
    while remaining and time.monotonic() - started < 45:
        remaining = [sock for sock in remaining if not closed_by_server(sock)]
        time.sleep(0.5)
    took = time.monotonic() - started
    for sock in clients:
        sock.close()
    report(capsys, f"300 silent connections closed after {took:.1f} s (idle timeout 31 s); "
                   f"/readyz meanwhile p50 {statistics.median(latencies):.1f} ms")
    assert not remaining, f"{len(remaining)} silent connections still open after {took:.0f} s"


def test_sigterm_ends_within_its_grace_whatever_a_client_holds(make_fleet, capsys):
    fleet = make_fleet(SHUTDOWN_GRACE_SEC="2", HTTP_BODY_TIMEOUT_SEC="120")
    pending = open_socket(fleet.svc.port)
    pending.send((f"POST /v1/commands/submit HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {fleet.operator_token}\r\n"
                  "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"targ").encode())
    held_poll = open_socket(fleet.svc.port)  # and one that sent nothing at all
    time.sleep(0.5)
    status, took = fleet.svc.terminate(timeout=30)
    pending.close()
    held_poll.close()
    report(capsys, f"SIGTERM with a body pending: exited with {status} after {took:.1f} s (grace 2 s)")
    assert status is not None, "agent-svc had to be SIGKILLed"
    assert took < 15, f"shutdown took {took:.1f} s"
