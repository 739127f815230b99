"""Registration, login (form and JSON), tokens, logout, password rehashing and login throttling."""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select

from autonomos_api.main import create_app
from autonomos_pipeline.dcl.redis_client import close_all, get_redis
from autonomos_pipeline.dcl.settings import get_settings
from autonomos_pipeline.dcl.store import User, tenant_session
from tests.utils.api import PASSWORD, add_user, login, point_api_at, register, unique_email
from tests.utils.stores import Store

ME = "/api/v1/auth/me"


def _forge(claims: dict[str, object], secret: str | None = None, algorithm: str = "HS256") -> str:
    key = secret if secret is not None else get_settings().jwt_secret.get_secret_value()
    return jwt.encode(claims, key, algorithm=algorithm)


def _claims(token: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return claims


def test_register_login_and_me(client: TestClient) -> None:
    admin = register(client, tenant_name="Acme Corp")
    me = client.get(ME, headers=admin.headers)
    assert me.status_code == 200
    body = me.json()
    assert body["email"] == admin.email and body["role"] == "admin" and body["is_active"] is True
    assert body["tenant"]["id"] == str(admin.tenant_id) and body["tenant"]["name"] == "Acme Corp"
    assert "password" not in me.text and "argon2" not in me.text
    json_login = client.post("/api/v1/auth/login/json", json={"email": admin.email.upper(), "password": PASSWORD})
    assert json_login.status_code == 200
    assert json_login.json()["token_type"] == "bearer"


def test_swagger_token_url_is_the_form_login(client: TestClient) -> None:
    admin = register(client)
    schemes = client.get("/api/v1/openapi.json").json()["components"]["securitySchemes"]
    token_url = schemes["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"]
    resp = client.post(token_url, data={"username": admin.email, "password": PASSWORD, "grant_type": "password"})
    assert resp.status_code == 200
    assert client.get(ME, headers={"Authorization": f"Bearer {resp.json()['access_token']}"}).status_code == 200


def test_token_carries_the_required_claims_and_lifetime(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    admin = register(client)
    claims = _claims(admin.token)
    assert claims["sub"] == str(admin.user_id) and claims["tenant_id"] == str(admin.tenant_id)
    assert claims["role"] == "admin" and claims["jti"]
    assert int(str(claims["exp"])) - int(str(claims["iat"])) == 7 * 24 * 3600
    monkeypatch.setenv("AUTONOMOS_JWT_EXPIRE_MINUTES", "5")
    get_settings.cache_clear()
    short = _claims(login(client, admin.email))
    assert int(str(short["exp"])) - int(str(short["iat"])) == 300


def test_register_refuses_a_taken_email_in_any_case(client: TestClient) -> None:
    admin = register(client)
    resp = client.post(
        "/api/v1/auth/register", json={"tenant_name": "Other", "email": admin.email.upper(), "password": PASSWORD}
    )
    assert resp.status_code == 409
    assert resp.json()["code"] == "email_taken"


def test_register_names_the_invalid_field(client: TestClient) -> None:
    resp = client.post(
        "/api/v1/auth/register", json={"tenant_name": "X", "email": "a@example.com", "password": "short"}
    )
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in resp.json()["errors"]] == ["password"]


def test_wrong_password_and_unknown_email_look_and_cost_the_same(client: TestClient) -> None:
    admin = register(client)

    def attempt(email: str) -> tuple[float, dict[str, object]]:
        start = time.perf_counter()
        resp = client.post("/api/v1/auth/login", data={"username": email, "password": "wrong password!"})
        assert resp.status_code == 401
        return time.perf_counter() - start, resp.json()

    wrong = [attempt(admin.email) for _ in range(3)]
    unknown = [attempt(unique_email("ghost")) for _ in range(3)]
    assert {w[1]["detail"] for w in wrong} == {u[1]["detail"] for u in unknown} == {"incorrect e-mail or password"}
    wrong_median = statistics.median(t for t, _ in wrong)
    unknown_median = statistics.median(t for t, _ in unknown)
    # Both verify an Argon2 hash (tens of ms); answering unknown e-mails early would be far faster.
    assert unknown_median > 0.5 * wrong_median


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda c: _forge(c, secret="another-secret"), id="other-secret"),
        pytest.param(lambda c: _forge({k: v for k, v in c.items() if k != "jti"}), id="missing-jti"),
        pytest.param(lambda c: _forge({k: v for k, v in c.items() if k != "exp"}), id="missing-exp"),
        pytest.param(lambda c: _forge(c, algorithm="HS512"), id="other-algorithm"),
        pytest.param(lambda c: _forge(c, secret="", algorithm="none"), id="alg-none"),
        pytest.param(lambda c: _forge({**c, "tenant_id": str(uuid.uuid4())}), id="other-tenant"),
        pytest.param(lambda c: _forge({**c, "sub": "not-a-uuid"}), id="bad-subject"),
    ],
)
def test_tampered_tokens_are_refused(client: TestClient, mutate: object) -> None:
    admin = register(client)
    claims = _claims(admin.token)
    token = mutate(claims)  # type: ignore[operator]
    resp = client.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == "Bearer"


def test_expired_token_is_refused(client: TestClient) -> None:
    admin = register(client)
    past = datetime.now(UTC) - timedelta(hours=1)
    claims = {**_claims(admin.token), "iat": past - timedelta(hours=1), "exp": past}
    resp = client.get(ME, headers={"Authorization": f"Bearer {_forge(claims)}"})
    assert resp.status_code == 401
    assert resp.json()["code"] == "token_expired"


def test_a_token_verified_before_is_refused_once_it_expires(client: TestClient) -> None:
    admin = register(client)
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    token = _forge({**_claims(admin.token), "exp": soon})
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(ME, headers=headers).status_code == 200
    assert client.get("/api/v1/dcl/views/accounts", headers=headers).status_code == 200
    time.sleep(max((soon - datetime.now(UTC)).total_seconds(), 0) + 0.1)
    resp = client.get("/api/v1/dcl/views/accounts", headers=headers)
    assert resp.status_code == 401 and resp.json()["code"] == "token_expired"


def test_logout_revokes_a_token_the_views_already_accepted(client: TestClient) -> None:
    admin = register(client)
    assert client.get("/api/v1/dcl/views/accounts", headers=admin.headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=admin.headers).status_code == 200
    resp = client.get("/api/v1/dcl/views/accounts", headers=admin.headers)
    assert resp.status_code == 401 and resp.json()["code"] == "token_revoked"


def test_missing_token_is_401_problem(client: TestClient) -> None:
    resp = client.get(ME)
    assert resp.status_code == 401
    assert resp.json()["code"] == "not_authenticated"


def test_logout_revokes_only_that_token(client: TestClient) -> None:
    admin = register(client)
    other = login(client, admin.email)
    assert client.post("/api/v1/auth/logout", headers=admin.headers).status_code == 200
    revoked = client.get(ME, headers=admin.headers)
    assert revoked.status_code == 401
    assert revoked.json()["code"] == "token_revoked"
    assert client.get(ME, headers={"Authorization": f"Bearer {other}"}).status_code == 200


def test_login_rehashes_a_password_hashed_with_old_parameters(client: TestClient) -> None:
    admin = register(client)
    member = add_user(client, admin, "member")
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with tenant_session(admin.tenant_id) as session:
        session.scalars(select(User).where(User.id == member.user_id)).one().password_hash = old
    login(client, member.email)
    with tenant_session(admin.tenant_id) as session:
        new = session.scalars(select(User).where(User.id == member.user_id)).one().password_hash
    assert new != old
    assert not PasswordHasher().check_needs_rehash(new)
    login(client, member.email)


def _fail(client: TestClient, email: str) -> int:
    return client.post("/api/v1/auth/login", data={"username": email, "password": "not the password"}).status_code


def test_five_failures_lock_the_account_for_a_while(client: TestClient) -> None:
    admin = register(client)
    bystander = register(client)
    assert [_fail(client, admin.email) for _ in range(5)] == [401] * 5
    locked = client.post("/api/v1/auth/login", data={"username": admin.email, "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.json()["code"] == "too_many_attempts"
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
    assert login(client, bystander.email)


def test_many_failures_from_one_client_block_that_client(client: TestClient) -> None:
    admin = register(client)
    assert {_fail(client, unique_email("spray")) for _ in range(20)} == {401}
    resp = client.post("/api/v1/auth/login", data={"username": admin.email, "password": PASSWORD})
    assert resp.status_code == 429


@pytest.mark.redis
def test_throttle_is_shared_through_redis(sqlite_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    point_api_at(sqlite_store.app_url, monkeypatch)
    monkeypatch.setenv("AUTONOMOS_REDIS_URL", "redis://127.0.0.1:6379/0")
    get_settings.cache_clear()
    client_ip = f"10.{uuid.uuid4().int % 250}.0.1"
    first = TestClient(create_app(), client=(client_ip, 1234))
    second = TestClient(create_app(), client=(client_ip, 1234))
    admin = register(first)
    try:
        assert [_fail(first, admin.email) for _ in range(5)] == [401] * 5
        resp = second.post("/api/v1/auth/login", data={"username": admin.email, "password": PASSWORD})
        assert resp.status_code == 429
    finally:
        redis_client = get_redis()
        assert redis_client is not None
        redis_client.delete(f"autonomos:login_failures:account:{admin.email}")
        redis_client.delete(f"autonomos:login_failures:client:{client_ip}")
        close_all()
