"""The live platform with real processes: Dagster webserver + daemon and the API on PostgreSQL and Redis, events on
SSE and WebSocket through a run, a schema change and its repair, and a Redis crash the stream survives."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg2
import pytest
import yaml
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from autonomos_pipeline.dcl.store import upgrade
from tests.api.test_events_hub import RedisServer, free_port
from tests.conftest import APP_ROLE, PG_HOST, PG_PORT, PG_SUPERUSER
from tests.e2e.test_self_healing import TRUTH, TRUTH_V2, V1, V2

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PASSWORD = "correct horse battery staple"
BUDGET_SECONDS = 300.0


def _admin(sql: str) -> None:
    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_SUPERUSER, dbname="postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


@contextmanager
def _database(prefix: str) -> Iterator[str]:
    """A fresh database, dropped afterwards; yields its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A subprocess in its own process group (Dagster spawns code servers and run workers), stopped on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield proc
        finally:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


class Deadline:
    """One time budget for the whole test; every wait is bounded by it (and by its own limit)."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def wait(self, predicate: Callable[[], bool], what: str, limit: float = 90.0, every: float = 0.2) -> None:
        """Poll predicate until it holds; fail naming `what` when the limit or the budget runs out."""
        end = min(self.end, time.monotonic() + limit)
        while not predicate():
            if time.monotonic() > end:
                pytest.fail(f"timed out waiting for {what}")
            time.sleep(every)


class SSEClient(threading.Thread):
    """Follows GET /events/stream in a thread, keeping every event it receives (the browser way: ?token=)."""

    def __init__(self, base: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url, self.params = f"{base}/api/v1/events/stream", {"token": token, "last_event_id": "0"}
        self.events: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        self.connected = threading.Event()

    def run(self) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(10.0, read=60.0)) as client,
                client.stream("GET", self.url, params=self.params) as response,
            ):
                response.raise_for_status()
                self.connected.set()
                frame: dict[str, str] = {}
                for line in response.iter_lines():
                    if line == "":
                        if "data" in frame:
                            self.events.append(json.loads(frame["data"]))
                        frame = {}
                    elif not line.startswith(":"):
                        name, _, value = line.partition(":")
                        frame[name] = value.removeprefix(" ")
        except BaseException as exc:  # reported by the test
            self.error = exc

    def ids(self) -> list[int]:
        """Ids received so far, in arrival order."""
        return [e["id"] for e in list(self.events)]

    def types(self) -> set[str]:
        """Event types received so far."""
        return {e["type"] for e in list(self.events)}


class WSClient(threading.Thread):
    """Follows /events/ws in a thread (Authorization header at the handshake), keeping every event message."""

    def __init__(self, base: str, access_token: str) -> None:
        super().__init__(daemon=True)
        self.url = base.replace("http://", "ws://") + "/api/v1/events/ws?last_event_id=0"
        self.headers = {"Authorization": f"Bearer {access_token}"}
        self.events: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        self.connected = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            with connect(self.url, additional_headers=self.headers, open_timeout=10) as ws:
                while not self.stop.is_set():
                    try:
                        message = json.loads(ws.recv(timeout=1.0))
                    except TimeoutError:
                        continue
                    if message.get("type") == "subscribed":
                        self.connected.set()
                    elif "id" in message:
                        self.events.append(message)
        except ConnectionClosed:
            pass
        except BaseException as exc:  # reported by the test
            self.error = exc

    def types(self) -> set[str]:
        """Event types received so far."""
        return {e["type"] for e in list(self.events)}


def _run(args: list[str], env: dict[str, str], log: Path, timeout: float) -> None:
    """Run a pipeline command to completion against the same instance and stores; fail with its output."""
    with log.open("ab") as out:
        result = subprocess.run(args, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
    assert result.returncode == 0, log.read_text()[-3000:]


def _accounts(api: httpx.Client, headers: dict[str, str]) -> dict[str, tuple[Any, ...]]:
    resp = api.get("/api/v1/dcl/views/accounts", params={"limit": 100}, headers=headers)
    assert resp.status_code == 200, resp.text
    return {
        r["account_id"]: (
            r["name"],
            r["website"],
            Decimal(str(r["annual_revenue"])) if r["annual_revenue"] is not None else None,
            r["employee_count"],
            r["billing_city"],
        )
        for r in resp.json()["data"]
    }


def _history(api: httpx.Client, headers: dict[str, str]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/v1/events", params=params, headers=headers).json()
        events += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return events


def test_live_platform_events_through_run_drift_repair_and_a_redis_crash(tmp_path: Path) -> None:
    deadline = Deadline(BUDGET_SECONDS)
    logs = tmp_path / "logs"
    logs.mkdir()
    with ExitStack() as stack:
        serving = stack.enter_context(_database("autonomos_live"))
        dagster_db = stack.enter_context(_database("autonomos_live_dagster"))
        admin_url = f"postgresql+psycopg2://{PG_SUPERUSER}@{PG_HOST}:{PG_PORT}/{serving}"
        app_url = f"postgresql+psycopg2://{APP_ROLE}@{PG_HOST}:{PG_PORT}/{serving}"
        upgrade(admin_url=admin_url, app_url=app_url)
        # the platform's Redis is a private server: the test kills and restarts it
        redis_server = stack.enter_context(RedisServer())

        home = tmp_path / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text(yaml.safe_dump(yaml.safe_load((REPO / "dagster.yaml").read_text())))
        data_dir = tmp_path / "data"
        dagster_port, api_port = free_port(), free_port()
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "AUTONOMOS_DAGSTER_PG_URL": f"postgresql+psycopg2://{PG_SUPERUSER}@{PG_HOST}:{PG_PORT}/{dagster_db}",
            "AUTONOMOS_DATABASE_URL": app_url,
            "AUTONOMOS_DATABASE_ADMIN_URL": admin_url,
            "AUTONOMOS_REDIS_URL": redis_server.url,
            "AUTONOMOS_DATA_DIR": str(data_dir),
            "AUTONOMOS_ENVIRONMENT": "test",
            "AUTONOMOS_DAGSTER_GRAPHQL_URL": f"http://127.0.0.1:{dagster_port}/graphql",
        }
        workspace = str(REPO / "workspace.yaml")
        webserver = stack.enter_context(
            _process(
                [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(dagster_port), "-w", workspace],
                env,
                logs / "webserver.log",
            )
        )
        daemon = stack.enter_context(
            _process([str(BIN / "dagster-daemon"), "run", "-w", workspace], env, logs / "daemon.log")
        )
        uvicorn = stack.enter_context(
            _process(
                [str(BIN / "uvicorn"), "autonomos_api.main:app", "--host", "127.0.0.1", "--port", str(api_port)],
                env,
                logs / "api.log",
            )
        )
        base = f"http://127.0.0.1:{api_port}"
        api = stack.enter_context(httpx.Client(base_url=base, timeout=30.0))

        def answers(url: str, proc: subprocess.Popen[bytes]) -> bool:
            assert proc.poll() is None, f"{proc.args[0]} exited: see {logs}"
            try:
                return httpx.get(url, timeout=2.0).status_code == 200
            except httpx.HTTPError:
                return False

        deadline.wait(lambda: answers(f"{base}/health/ready", uvicorn), "the API", limit=60)

        # register, sign in, add a file connection (files live below <data_dir>/files/<tenant id>/)
        email = f"live-{uuid.uuid4().hex[:8]}@example.com"
        registered = api.post(
            "/api/v1/auth/register", json={"tenant_name": "Live", "email": email, "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        tenant = registered.json()["tenant"]["id"]
        login = api.post("/api/v1/auth/login/json", json={"email": email, "password": PASSWORD})
        access = login.json()["access_token"]
        headers = {"Authorization": f"Bearer {access}"}
        folder = data_dir / "files" / tenant / "crm"
        folder.mkdir(parents=True)
        (folder / "accounts.csv").write_text(V1)
        connection = api.post(
            "/api/v1/aam/connections",
            json={"name": "crm", "type": "filesource", "config": {"path": "crm"}},
            headers=headers,
        )
        assert connection.status_code == 201, connection.text

        # live event clients: SSE with a short-lived stream token in the URL, WebSocket with the Bearer header
        stream_token = api.post("/api/v1/events/token", headers=headers).json()["token"]
        assert api.get("/api/v1/events/stream", params={"token": access}).status_code == 401
        sse, ws = SSEClient(base, stream_token), WSClient(base, access)
        sse.start()
        ws.start()
        deadline.wait(lambda: sse.connected.is_set() or sse.error is not None, "the SSE stream", limit=20)
        deadline.wait(lambda: ws.connected.is_set() or ws.error is not None, "the WebSocket", limit=20)
        assert sse.error is None and ws.error is None, (sse.error, ws.error)

        # run the tenant through the API (POST /aoa/run -> Dagster GraphQL -> the daemon's run queue), read the views
        deadline.wait(lambda: answers(f"http://127.0.0.1:{dagster_port}/server_info", webserver), "Dagster", 90)
        launches: list[httpx.Response] = []

        def launched() -> bool:
            launches.append(api.post("/api/v1/aoa/run", headers=headers))
            return launches[-1].status_code == 202

        deadline.wait(launched, "POST /aoa/run to be accepted (the code location loading)", limit=60, every=1.0)
        run_id = launches[-1].json()["run_id"]

        def run_status() -> str | None:
            runs = api.get("/api/v1/aoa/state", headers=headers).json().get("runs", [])
            return next((r["status"] for r in runs if r["run_id"] == run_id), None)

        deadline.wait(lambda: run_status() in {"SUCCESS", "FAILURE", "CANCELED"}, "the tenant run", 120, every=1.0)
        assert run_status() == "SUCCESS", f"the run failed: see {logs} and the Dagster instance"
        first_run = {"ingested", "canonicalized", "materialized"}
        deadline.wait(lambda: first_run <= sse.types(), f"{first_run} on SSE (got {sse.types()})", limit=20)
        deadline.wait(lambda: first_run <= ws.types(), f"{first_run} on the WebSocket (got {ws.types()})", limit=20)
        assert _accounts(api, headers) == TRUTH

        # Redis crashes; the source's schema changes (three renames, an added column, a type change) and is re-read
        # (the raw layer only, as `autonomos demo drift` does: in process against the same instance and stores)
        assert daemon.poll() is None
        redis_server.kill()
        (folder / "accounts.csv").write_text(V2)
        before_refresh = max(sse.ids())
        refresh = (
            "import sys; from autonomos_pipeline.commands.materialize import materialize_tenant; "
            f"sys.exit(materialize_tenant({tenant!r}, layers=('raw',)))"
        )
        _run([sys.executable, "-c", refresh], env, logs / "refresh.log", 120)
        # while Redis is down the API follows the journal: the clients still get the refresh's events
        deadline.wait(lambda: any(i > before_refresh for i in sse.ids()), "events while Redis is down", limit=20)
        redis_server.start()

        # the daemon's drift_sensor (every 10 s) launches repair_job: drift, repair_applied, re-materialization
        deadline.wait(lambda: {"drift", "repair_applied"} <= sse.types(), "drift and repair_applied", limit=120)
        repaired_at = max(e["id"] for e in sse.events if e["type"] == "repair_applied")
        deadline.wait(
            lambda: any(e["type"] == "materialized" and e["id"] > repaired_at for e in list(sse.events)),
            "re-materialization after the repair",
            limit=60,
        )
        deadline.wait(lambda: _accounts(api, headers) == TRUTH_V2, "correct views after the repair", limit=30, every=1)

        # nothing was lost or repeated on either stream: both hold exactly the journal, in order
        journal = [e["id"] for e in _history(api, headers)]
        deadline.wait(lambda: sse.ids()[-1:] == journal[-1:], "the SSE client to reach the journal's end", 20)
        deadline.wait(lambda: [e["id"] for e in ws.events][-1:] == journal[-1:], "the WebSocket to catch up", 20)
        assert sse.ids() == journal, "the SSE client missed or repeated events"
        assert [e["id"] for e in ws.events] == journal, "the WebSocket missed or repeated events"
        assert all(e["tenant_id"] == tenant for e in sse.events)
        assert {"ingested", "canonicalized", "materialized", "drift", "repair_applied", "viewed"} <= sse.types()
        ws.stop.set()
