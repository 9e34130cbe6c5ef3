"""Refusals are logged (auth.refused): who was turned away from which route, never the token."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from platform_kit.auth import DevKey

from test_auth_http import FAR_VILLAGE, VILLAGE, bearer, service_app  # noqa: E402 - the guards' own test app

pytestmark = pytest.mark.unit


@pytest.fixture
def key(tmp_path: Path) -> DevKey:
    return DevKey.load_or_create(tmp_path / "keys")


def refusals(client: TestClient, method: str, path: str, headers: dict[str, str] | None = None) -> list[dict]:
    with capture_logs() as logs:
        client.request(method, path, headers=headers or {})
    return [entry for entry in logs if entry["event"] == "auth.refused"]


def test_anonymous_out_of_scope_and_allowed_calls(key: DevKey) -> None:
    client = TestClient(service_app(key.directory))
    [anonymous] = refusals(client, "GET", f"/api/units/{VILLAGE}/coverage")
    assert (anonymous["status"], anonymous["route"], anonymous["sub"], anonymous["reason"]) == (
        401, "/api/units/{unit_code}/coverage", None, "no token")

    village = bearer(key, "village", VILLAGE, sub="li.na")
    [outside] = refusals(client, "GET", f"/api/units/{FAR_VILLAGE}/coverage", village)
    assert (outside["status"], outside["sub"], outside["role"]) == (403, "li.na", "village")
    assert refusals(client, "GET", f"/api/units/{VILLAGE}/coverage", village) == []


def test_a_refused_token_is_logged_with_the_reason_not_the_token(key: DevKey) -> None:
    client = TestClient(service_app(key.directory))
    token = key.mint({"sub": "x", "role": "district", "units": []}, ttl_seconds=-120)
    [expired] = refusals(client, "GET", "/api/me", {"Authorization": f"Bearer {token}"})
    assert expired["status"] == 401 and "expired" in expired["reason"]
    assert token not in repr(expired)
