"""Materializing new rows gives the tenant a new data version (the API's cached totals retire); a no-op run does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from autonomos_pipeline.dcl.redis_client import close_all, get_redis
from autonomos_pipeline.dcl.settings import get_settings
from autonomos_pipeline.dcl.view_cache import data_version_key
from tests.conftest import REDIS_URL
from tests.utils.serving import materialize_assets
from tests.utils.stores import Store, make_connection, make_tenant

pytestmark = pytest.mark.redis


def test_materialize_bumps_the_data_version(
    sqlite_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTONOMOS_REDIS_URL", REDIS_URL)
    get_settings.cache_clear()
    files = tmp_path / "files"
    files.mkdir()
    (files / "accounts.csv").write_text("Id,Account Name\n001A,Acme\n")
    tenant = make_tenant(sqlite_store, "Versioned")
    make_connection(sqlite_store, tenant, config={"path": str(files)})
    client = get_redis()
    assert client is not None
    try:
        before = client.get(data_version_key(tenant))
        materialize_assets(sqlite_store, tmp_path / "data", tenant)
        first = client.get(data_version_key(tenant))
        assert first is not None and first != before
        materialize_assets(sqlite_store, tmp_path / "data", tenant)  # nothing new: the cached totals stay valid
        assert client.get(data_version_key(tenant)) == first
        (files / "accounts.csv").write_text("Id,Account Name\n001A,Acme\n001B,Globex\n")
        materialize_assets(sqlite_store, tmp_path / "data", tenant)
        assert client.get(data_version_key(tenant)) not in (None, first)
    finally:
        client.delete(data_version_key(tenant))
        close_all()
