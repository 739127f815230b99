"""Run the API in worker processes that each listen on their own SO_REUSEPORT socket, so connections spread evenly.

uvicorn's own `--workers` shares one listening socket: whichever worker wakes first accepts, and under a burst of
new connections one worker ends up with far more of them than the other (about 1.4x with two workers here), so its
requests wait longer. With one SO_REUSEPORT socket per worker the kernel assigns each connection to a worker by a
hash of its addresses (Linux; elsewhere, and with one worker, plain uvicorn serves). A worker that dies is started
again; SIGINT or SIGTERM stops every worker gracefully: each finishes its requests, closes event streams after the
graceful-shutdown timeout and runs the app's shutdown, which journals buffered `viewed` events. A worker also stops
when its supervisor dies.

Run: python -m autonomos_api.server --host 127.0.0.1 --port 8000 --workers 2
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import uvicorn

__all__ = ["listen", "main", "serve"]

log = logging.getLogger("autonomos_api.server")

APP = "autonomos_api.main:app"
#: A worker that exits sooner than this after its start is not restarted: the whole server stops instead.
_MIN_LIFETIME_S = 5.0
#: How long a stopping worker may take: longer than its graceful shutdown (--timeout-graceful-shutdown, 10 s by
#: default; event streams stay open until then) plus the journal flush of its shutdown.
_STOP_TIMEOUT_S = 30.0
_PR_SET_PDEATHSIG = 1


def listen(host: str, port: int, *, reuse_port: bool = True, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket on (host, port); with reuse_port, one of a group the kernel balances connections over."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def _die_with(parent: int) -> None:
    """Have the kernel send SIGTERM to this worker when its supervisor dies (Linux), so no worker outlives it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the supervisor died before the request took effect
        sys.exit(0)


def _worker(host: str, port: int, parent: int, options: dict[str, Any]) -> None:
    """One worker process: its own socket in the port's reuse group, one uvicorn server on it."""
    _die_with(parent)
    sock = listen(host, port)
    config = uvicorn.Config(APP, **options)
    uvicorn.Server(config).run(sockets=[sock])


class _Supervisor:
    """Starts the workers, restarts one that dies after running a while, and stops them all on a signal."""

    def __init__(self, host: str, port: int, workers: int, options: dict[str, Any]) -> None:
        self.host, self.port, self.workers, self.options = host, port, workers, options
        self.context = multiprocessing.get_context("spawn")  # no state inherited from this process
        self.procs: list[tuple[BaseProcess, float]] = []
        self.stopping = False

    def _start(self) -> tuple[BaseProcess, float]:
        proc = self.context.Process(
            target=_worker, args=(self.host, self.port, os.getpid(), self.options), name="autonomos-api-worker"
        )
        proc.start()
        return proc, time.monotonic()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        status = 0
        try:
            self.procs = [self._start() for _ in range(self.workers)]
            while not self.stopping:
                time.sleep(0.2)
                for i, (proc, started) in enumerate(self.procs):
                    if proc.is_alive():
                        continue
                    if time.monotonic() - started < _MIN_LIFETIME_S:
                        log.error("API worker %s exited with %s at start-up: stopping", proc.pid, proc.exitcode)
                        self.stopping, status = True, 1
                        break
                    log.warning("API worker %s exited with %s: starting another", proc.pid, proc.exitcode)
                    self.procs[i] = self._start()
        finally:
            killed = self._stop()
        return status or (1 if killed else 0)

    def _stop(self) -> bool:
        """Stop every worker; True when one had to be killed (it did not shut down gracefully in time)."""
        for proc, _ in self.procs:
            if proc.is_alive():
                proc.terminate()  # SIGTERM: uvicorn finishes in-flight requests and runs the lifespan shutdown
        deadline = time.monotonic() + _STOP_TIMEOUT_S
        killed = False
        for proc, _ in self.procs:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                log.error("API worker %s did not stop within %.0f s: killing it", proc.pid, _STOP_TIMEOUT_S)
                proc.kill()
                proc.join()
                killed = True
        return killed


def serve(host: str, port: int, workers: int = 1, **options: Any) -> int:
    """Serve the API on host:port; more than one worker gets one SO_REUSEPORT socket each. Returns an exit status."""
    if workers <= 1 or not sys.platform.startswith("linux"):  # elsewhere SO_REUSEPORT does not balance
        uvicorn.run(APP, host=host, port=port, workers=max(workers, 1), **options)
        return 0
    try:
        # fail fast when anything listens on the port, another of these servers included (its workers' sockets
        # would let ours join their group and share its connections)
        listen(host, port, reuse_port=False).close()
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", host, port, exc)
        return 1
    return _Supervisor(host, port, workers, options).run()


def main(argv: list[str] | None = None) -> int:
    """Command line: host, port, workers and the uvicorn options the platform uses."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--timeout-keep-alive", type=int, default=5, help="seconds an idle connection stays open")
    parser.add_argument(
        "--timeout-graceful-shutdown",
        type=int,
        default=10,
        help="seconds a stopping worker waits for open requests and event streams before it closes them",
    )
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    parser.add_argument("--no-access-log", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s:%(name)s:%(message)s")
    options = {
        "timeout_keep_alive": args.timeout_keep_alive,
        "timeout_graceful_shutdown": args.timeout_graceful_shutdown,
        "log_level": args.log_level,
        "access_log": not args.no_access_log,
    }
    return serve(args.host, args.port, args.workers, **options)


if __name__ == "__main__":
    sys.exit(main())
