"""autonomos_api.server: every worker takes its share of connections, a dead worker is replaced, SIGTERM stops all."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from autonomos_api.server import serve
from tests.conftest import REDIS_URL
from tests.utils.api import register
from tests.utils.stores import Store

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _workers(supervisor: int) -> list[int]:
    """The supervisor's worker processes (its other child is multiprocessing's resource tracker)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [int(p) for p in children if b"resource_tracker" not in Path(f"/proc/{p}/cmdline").read_bytes()]


def _established_inodes(port: int) -> set[str]:
    """Socket inodes of established TCP connections whose local port is port (the server's ends)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
            inodes.add(fields[9])
    return inodes


def _connections_of(pid: int, port: int) -> int:
    """How many of the server's established connections process pid holds."""
    inodes = _established_inodes(port)
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            held += 1
    return held


def _wait_live(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited during start-up"
        try:
            if httpx.get(f"{base}/health/live", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not answer")


@pytest.fixture
def server(pg_store: Store) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`python -m autonomos_api.server --workers 2` on a free port, against the test store and Redis."""
    port = _free_port()
    env = {**os.environ, "AUTONOMOS_DATABASE_URL": pg_store.app_url, "AUTONOMOS_REDIS_URL": REDIS_URL}
    env.pop("DAGSTER_HOME", None)
    command = [
        *(sys.executable, "-m", "autonomos_api.server", "--port", str(port), "--workers", "2"),
        *("--timeout-graceful-shutdown", "2"),
    ]
    proc = subprocess.Popen([*command, "--log-level", "warning", "--no-access-log"], cwd=REPO, env=env)
    try:
        _wait_live(f"http://127.0.0.1:{port}", proc)
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_each_worker_serves_its_share_of_the_connections(server: tuple[subprocess.Popen[bytes], int]) -> None:
    proc, port = server
    workers = _workers(proc.pid)
    assert len(workers) == 2
    clients = []
    try:
        for _ in range(64):
            client = socket.create_connection(("127.0.0.1", port))
            client.sendall(b"GET /health/live HTTP/1.1\r\nHost: test\r\n\r\n")
            assert client.recv(4096).startswith(b"HTTP/1.1 200"), "every connection is answered"
            clients.append(client)
        shares = [_connections_of(pid, port) for pid in workers]
    finally:
        for client in clients:
            client.close()
    assert sum(shares) == 64
    assert min(shares) >= 16, f"the kernel spreads connections over both workers' sockets: {shares}"


def test_a_dead_worker_is_replaced_and_sigterm_stops_them_all_gracefully(
    server: tuple[subprocess.Popen[bytes], int],
) -> None:
    proc, port = server
    base = f"http://127.0.0.1:{port}"
    first = _workers(proc.pid)
    time.sleep(5.5)  # a worker that dies right after starting stops the server instead (a crash loop)
    os.kill(first[0], signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = _workers(proc.pid)
        if len(now) == 2 and first[0] not in now:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the dead worker was not replaced")
    assert first[1] in now, "the other worker kept running"
    for _ in range(20):  # whichever socket a connection lands on, it is answered
        assert httpx.get(f"{base}/health/live", headers={"Connection": "close"}, timeout=10).status_code == 200

    with httpx.Client(base_url=base, timeout=30) as client, contextlib.ExitStack() as streams:
        admin = register(client, "Streaming")  # type: ignore[arg-type]
        for _ in range(4):  # open event streams on (most likely) both workers: they never end by themselves
            stream = streams.enter_context(client.stream("GET", "/api/v1/events/stream", headers=admin.headers))
            assert stream.status_code == 200
        stopping = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        status = proc.wait(timeout=45)
    assert status == 0, "every worker stopped by itself (the supervisor had to kill none)"
    assert time.monotonic() - stopping < 20, "open streams were closed after the graceful-shutdown timeout"
    assert not any(Path(f"/proc/{pid}").exists() for pid in now), "no worker outlives the server"
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # closed connections may linger in TIME_WAIT
        s.bind(("127.0.0.1", port))  # nothing listens on the port any more


def test_a_port_already_served_is_refused_at_once(server: tuple[subprocess.Popen[bytes], int]) -> None:
    """Another server on the port (this one's SO_REUSEPORT workers included) is refused: never joined."""
    _, port = server
    started = time.monotonic()
    assert serve("127.0.0.1", port, workers=2) == 1
    assert time.monotonic() - started < 5, "no worker was started"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        assert serve("127.0.0.1", holder.getsockname()[1], workers=2) == 1


def test_workers_stop_when_their_supervisor_is_killed(server: tuple[subprocess.Popen[bytes], int]) -> None:
    proc, _ = server
    workers = _workers(proc.pid)
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "a worker outlived its supervisor"
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    """Whether pid runs (an orphan's zombie is reaped by init and counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
