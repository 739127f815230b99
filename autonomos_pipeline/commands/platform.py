"""`autonomos up` runs the Dagster UI + daemon and the API; `autonomos db upgrade` migrates the serving store."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from autonomos_pipeline.dcl.dagster_home import ensure_dagster_home
from autonomos_pipeline.dcl.settings import get_settings
from autonomos_pipeline.dcl.store import upgrade

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `up` and `db upgrade`."""
    up = subparsers.add_parser("up", help="run the Dagster webserver + daemon and the API on this machine")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--dagster-port", type=int, default=3000)
    up.add_argument("--api-port", type=int, default=8000)
    up.add_argument(
        "--api-workers", type=int, default=1, help="API worker processes, each on its own SO_REUSEPORT socket"
    )
    up.add_argument("--exit-when-ready", action="store_true", help="stop everything once both answer (smoke test)")
    up.add_argument("--demo", action="store_true", help="seed and materialize the demo tenant once both answer")
    up.set_defaults(func=run_up)

    db = subparsers.add_parser("db", help="serving store maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_up = db_sub.add_parser("upgrade", help="apply the Alembic migrations")
    db_up.set_defaults(func=run_db_upgrade)


def run_db_upgrade(_args: argparse.Namespace) -> int:
    """Migrate the configured serving store to the latest revision."""
    upgrade()
    print("serving store migrated")
    return 0


def _wait_for(url: str, timeout: float, procs: list[subprocess.Popen[bytes]]) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            if httpx.get(url, timeout=2.0).status_code < 500:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(1.0)
    return False


def run_up(args: argparse.Namespace) -> int:
    """Start both services, wait until they answer, print where they are, and run until interrupted."""
    settings = get_settings()
    print(f"[1/3] migrating the serving store ({settings.serving_url.split('@')[-1]})", flush=True)
    upgrade()
    home = ensure_dagster_home()
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    env.setdefault("AUTONOMOS_DAGSTER_GRAPHQL_URL", f"http://{args.host}:{args.dagster_port}/graphql")
    bin_dir = Path(sys.executable).parent
    print(f"[2/3] starting Dagster (webserver + daemon, instance {home}) and the API", flush=True)
    dagster = subprocess.Popen(
        [str(bin_dir / "dagster"), "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"),
         "-h", args.host, "-p", str(args.dagster_port)],
        env=env, cwd=home, start_new_session=True,
    )  # fmt: skip
    api = subprocess.Popen(
        [sys.executable, "-m", "autonomos_api.server", "--host", args.host, "--port", str(args.api_port),
         "--workers", str(args.api_workers)],
        env=env, cwd=PROJECT_ROOT, start_new_session=True,
    )  # fmt: skip
    procs = [dagster, api]
    try:
        api_ok = _wait_for(f"http://{args.host}:{args.api_port}/health/ready", 120, procs)
        dagster_ok = _wait_for(f"http://{args.host}:{args.dagster_port}/server_info", 240, procs)
        if not (api_ok and dagster_ok):
            print("AutonomOS failed to start: see the output above", file=sys.stderr)
            return 1
        if args.demo:
            from autonomos_pipeline.commands.demo import DEMO_EMAIL, DEMO_PASSWORD, seed

            seed(f"http://{args.host}:{args.api_port}")
            print(f"  Demo login : {DEMO_EMAIL} / {DEMO_PASSWORD}   (then: .venv/bin/autonomos demo drift)")
        print("[3/3] AutonomOS is running:", flush=True)
        print(f"  Dagster UI : http://{args.host}:{args.dagster_port}")
        print(f"  API        : http://{args.host}:{args.api_port}/docs  (health: /health/ready)", flush=True)
        if args.exit_when_ready:
            return 0
        while all(p.poll() is None for p in procs):
            time.sleep(1.0)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for p in procs:
            _signal_group(p, signal.SIGINT)
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=30)
        for p in procs:  # whatever is left of each group (a code server, a run worker) must not outlive us
            _signal_group(p, signal.SIGKILL)


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Signal a child's whole process group (it was started in its own session), if any of it is still alive."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
