"""The guards on a FastAPI app, as a service uses them, answered as the kit's problems."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from platform_kit import problems
from platform_kit.auth import (
    AuthSettings,
    DevKey,
    Principal,
    RateLimit,
    install_auth,
    install_security_headers,
    require_district_action,
    require_principal,
    require_role,
    require_unit_scope,
)
from platform_kit.units import unit_tree

TREE = unit_tree()
TOWN = TREE.towns()[0].code
VILLAGE = TREE.villages(TOWN)[0].code
FAR_VILLAGE = TREE.villages(TREE.towns()[-1].code)[0].code


def service_app(key_dir: Path) -> FastAPI:
    app = FastAPI()
    install_auth(app, AuthSettings(environment="development", dev_key_dir=key_dir))
    install_security_headers(app)

    @app.get("/api/units/{unit_code}/coverage")
    def coverage(unit_code: str, caller: Principal = Depends(require_unit_scope("unit_code"))) -> dict:
        return {"unit_code": unit_code, "caller": caller.sub}

    @app.post("/api/units/{unit_code}/services")
    def deliver(caller: Principal = Depends(require_unit_scope("unit_code", write=True))) -> dict:
        return {"ok": True}

    @app.post("/api/ranking/publish")
    def publish(caller: Principal = Depends(require_district_action("publish_ranking"))) -> dict:
        return {"published": True}

    @app.get("/api/towns/mine")
    def mine(caller: Principal = Depends(require_role("town"))) -> dict:
        return {"units": caller.units}

    @app.get("/api/me")
    def me(caller: Principal = Depends(require_principal)) -> dict:
        return {"sub": caller.sub}

    @app.get("/api/search")
    def search(caller: Principal = Depends(RateLimit(per_minute=2))) -> dict:
        return {"ok": True}

    problems.install(app)
    return app


@pytest.fixture
def key(tmp_path: Path) -> DevKey:
    return DevKey.load_or_create(tmp_path / "keys")


@pytest.fixture
def client(key: DevKey) -> TestClient:
    return TestClient(service_app(key.directory))


def bearer(key: DevKey, role: str, *units: str, sub: str = "someone") -> dict[str, str]:
    return {"Authorization": f"Bearer {key.mint({'sub': sub, 'role': role, 'units': list(units)}, ttl_seconds=300)}"}


class TestSignIn:
    def test_anonymous_is_asked_for_a_bearer_token(self, client: TestClient) -> None:
        answer = client.get(f"/api/units/{VILLAGE}/coverage")
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["errors"] == [{"field": "request", "reason": "a bearer token is required (Authorization: Bearer <token>)"}]

    def test_a_bad_token_is_refused_with_the_reason(self, client: TestClient, key: DevKey) -> None:
        answer = client.get("/api/me", headers={"Authorization": "Bearer not.a.token"})
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith('Bearer error="invalid_token"')

    def test_a_token_in_a_cookie_or_the_query_string_counts_for_nothing(self, client: TestClient, key: DevKey) -> None:
        token = bearer(key, "district")["Authorization"].removeprefix("Bearer ")
        client.cookies.set("access_token", token)
        assert client.get("/api/me").status_code == 401
        assert client.get("/api/me", params={"access_token": token}).status_code == 401

    def test_a_signed_in_caller_gets_through(self, client: TestClient, key: DevKey) -> None:
        assert client.get("/api/me", headers=bearer(key, "auditor", sub="audit-1")).json() == {"sub": "audit-1"}


class TestUnitScopes:
    def test_a_town_reads_its_village(self, client: TestClient, key: DevKey) -> None:
        assert client.get(f"/api/units/{VILLAGE}/coverage", headers=bearer(key, "town", TOWN)).status_code == 200

    def test_a_town_may_not_read_another_towns_village(self, client: TestClient, key: DevKey) -> None:
        answer = client.get(f"/api/units/{FAR_VILLAGE}/coverage", headers=bearer(key, "town", TOWN))
        assert answer.status_code == 403
        assert answer.json()["title"] == "not allowed" and "outside the units" in answer.json()["detail"]

    def test_an_auditor_reads_everywhere_but_writes_nowhere(self, client: TestClient, key: DevKey) -> None:
        assert client.get(f"/api/units/{FAR_VILLAGE}/coverage", headers=bearer(key, "auditor")).status_code == 200
        assert client.post(f"/api/units/{FAR_VILLAGE}/services", headers=bearer(key, "auditor")).status_code == 403

    def test_a_village_writes_only_to_itself(self, client: TestClient, key: DevKey) -> None:
        assert client.post(f"/api/units/{VILLAGE}/services", headers=bearer(key, "village", VILLAGE)).status_code == 200
        assert client.post(f"/api/units/{TOWN}/services", headers=bearer(key, "village", VILLAGE)).status_code == 403

    def test_full_width_digits_in_the_path_are_the_same_unit(self, client: TestClient, key: DevKey) -> None:
        full_width = VILLAGE.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        assert client.get(f"/api/units/{full_width}/coverage", headers=bearer(key, "village", VILLAGE)).status_code == 200

    def test_an_unknown_unit_is_not_found_and_a_malformed_one_invalid(self, client: TestClient, key: DevKey) -> None:
        assert client.get("/api/units/370402999999/coverage", headers=bearer(key, "district")).status_code == 404
        answer = client.get("/api/units/12345/coverage", headers=bearer(key, "district"))
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "unit_code"

    def test_a_department_reads_no_unit_over_http(self, client: TestClient, key: DevKey) -> None:
        assert client.get(f"/api/units/{VILLAGE}/coverage", headers=bearer(key, "department", "health")).status_code == 403


class TestRolesAndDistrictActions:
    def test_only_the_district_publishes_the_ranking(self, client: TestClient, key: DevKey) -> None:
        assert client.post("/api/ranking/publish", headers=bearer(key, "district")).status_code == 200
        answer = client.post("/api/ranking/publish", headers=bearer(key, "town", TOWN))
        assert answer.status_code == 403 and "district centre" in answer.json()["detail"]

    def test_a_route_for_towns_refuses_a_village(self, client: TestClient, key: DevKey) -> None:
        assert client.get("/api/towns/mine", headers=bearer(key, "town", TOWN)).status_code == 200
        assert client.get("/api/towns/mine", headers=bearer(key, "village", VILLAGE)).status_code == 403


class TestRateLimit:
    def test_the_third_call_in_a_minute_waits(self, client: TestClient, key: DevKey) -> None:
        mine, theirs = bearer(key, "village", VILLAGE, sub="busy"), bearer(key, "village", VILLAGE, sub="calm")
        assert [client.get("/api/search", headers=mine).status_code for _ in range(2)] == [200, 200]
        answer = client.get("/api/search", headers=mine)
        assert answer.status_code == 429 and int(answer.headers["retry-after"]) >= 1
        assert answer.json()["title"] == "too many requests"
        assert client.get("/api/search", headers=theirs).status_code == 200  # buckets are per caller

    def test_the_bucket_refills_with_time(self) -> None:
        now = [0.0]
        limit = RateLimit(per_minute=60, burst=1, clock=lambda: now[0])
        assert limit.take("a") == 0 and limit.take("a") == pytest.approx(1.0)
        now[0] += 1.0
        assert limit.take("a") == 0


class TestSecurityHeaders:
    def test_every_answer_carries_them(self, client: TestClient, key: DevKey) -> None:
        for answer in (client.get("/api/me"), client.get("/api/me", headers=bearer(key, "district"))):
            assert answer.headers["content-security-policy"].startswith("default-src 'self'")
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["referrer-policy"] == "no-referrer"
            assert answer.headers["x-frame-options"] == "DENY"

    def test_the_api_docs_page_may_load_swagger_ui(self, client: TestClient) -> None:
        assert "cdn.jsdelivr.net" in client.get("/docs").headers["content-security-policy"]
