"""Who may do what (docs/security.md), on the four services running as production runs them.

- every route that is not open (health, metrics, the OpenAPI document, the page's files)
  answers 401 to an anonymous caller: the routes are read from the apps themselves, so a route
  added later is covered without anyone adding it here;
- each role against at least one route of every router of every service (allowed, 401, 403);
- what an outsider tried (the issue "Who may do what") fails, each attempt;
- personal data: clear within scope and recorded, masked for an auditor, unknown outside;
- full-width digits in an ID number name the same person; the ID lookup is rate-limited.
"""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from platform_kit.testing import bearer

sys.path.insert(0, str(Path(__file__).resolve().parent))

from service_processes import running_district  # noqa: E402

DISTRICT, TOWN, VILLAGE, OTHER_VILLAGE = "370402000000", "370402001000", "370402001001", "370402002001"
# Who calls: the headers each role sends (anonymous sends none).
CALLERS = {
    "anonymous": {},
    "district": bearer("district"),
    "town": bearer("town", TOWN),
    "village": bearer("village", VILLAGE),
    "other-village": bearer("village", OTHER_VILLAGE, sub="outsider"),
    "auditor": bearer("auditor"),
    "department": bearer("department", "health"),
}
OPEN = re.compile(r"^/(health/.*|metrics|openapi\.json|docs.*|redoc|page/\{name\})?$")


def _apps() -> dict[str, object]:
    """Each service's app as its process builds it (not started: only its routes are read)."""
    from assessment.bootstrap import build as assessment
    from notifier.bootstrap import build as notifier
    from registry.bootstrap import build as registry
    from services_log.bootstrap import build as services_log

    return {"registry": registry().app, "services-log": services_log().app,
            "assessment": assessment().app, "notifier": notifier().app}


def _every_route() -> list[tuple[str, str, str]]:
    """Every route each app documents (its OpenAPI document: what a caller can find), plus the
    kit's own documents. The routes left out of the document are the page's files and /docs."""
    found = []
    for service, app in _apps().items():
        for path, operations in app.openapi()["paths"].items():
            found += [(service, method.upper(), path) for method in sorted(operations)]
        found += [(service, "GET", "/openapi.json"), (service, "GET", "/docs")]
    return found


def _concrete(path: str) -> str:
    """A path template with its parameters filled as a caller would (a UUID where one is due)."""
    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        if "code" in name:
            return VILLAGE
        if name == "recipient":
            return f"unit:{VILLAGE}"
        if name == "channel":
            return "webhook"
        if name == "name":
            return "app.js"
        return str(uuid.uuid4())
    return re.sub(r"\{([^}]+)\}", value, path)


ROUTES = _every_route()


@pytest.fixture(scope="module")
def district(stack, tmp_path_factory) -> Iterator[object]:
    with contextmanager(running_district)(
        stack.bootstrap_servers, stack.database_url, tmp_path_factory.mktemp("who-may"),
        # Two look-ups a minute: the limit test counts refusals, whatever the machine's speed.
        webhook_allowed_hosts="hooks.shizhong.example", id_lookups_per_minute="2",
    ) as d:
        yield d


def call(d, service: str, method: str, path: str, role: str, **kwargs) -> httpx.Response:
    return httpx.request(method, f"{d.url(service)}{path}", headers=CALLERS[role], timeout=30, **kwargs)


@pytest.mark.parametrize(("service", "method", "path"), ROUTES, ids=[f"{s}:{m}:{p}" for s, m, p in ROUTES])
def test_every_closed_route_asks_an_anonymous_caller_to_sign_in(district, service, method, path):
    answer = call(district, service, method, _concrete(path), "anonymous", json={})
    if OPEN.match(path):
        assert answer.status_code != 401, (path, answer.text[:300])
        return
    assert answer.status_code == 401, (path, answer.status_code, answer.text[:300])
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.headers["x-content-type-options"] == "nosniff"  # the security headers, on refusals too


def test_every_service_has_routes_to_guard():
    assert {s for s, _, p in ROUTES if not OPEN.match(p)} == {"registry", "services-log", "assessment", "notifier"}


OK, DENIED, UNKNOWN = 200, 403, 404
# (service, method, path, body) -> the status per caller; one or more routes of every router.
SCOPED = {"anonymous": 401, "district": OK, "town": OK, "village": OK, "other-village": DENIED, "auditor": OK, "department": DENIED}
EVERY_STAFF = {"anonymous": 401, "district": OK, "town": OK, "village": OK, "other-village": OK, "auditor": OK, "department": DENIED}
CENTRAL = {"anonymous": 401, "district": OK, "town": DENIED, "village": DENIED, "other-village": DENIED, "auditor": OK, "department": DENIED}
DISTRICT_ONLY_422 = {"anonymous": 401, "district": 422, "town": DENIED, "village": DENIED, "other-village": DENIED, "auditor": DENIED, "department": DENIED}
MATRIX = [
    # registry: units, residents, verification requests, reconciliation
    ("registry", "GET", "/api/units", None, EVERY_STAFF),
    ("registry", "GET", f"/api/units/{VILLAGE}/counts", None, SCOPED),
    ("registry", "GET", f"/api/residents?unit_code={VILLAGE}", None, SCOPED),
    ("registry", "GET", f"/api/verification-requests?unit_code={VILLAGE}", None, SCOPED),
    ("registry", "GET", f"/api/discrepancies?unit_code={VILLAGE}", None, SCOPED),
    ("registry", "POST", "/api/sweeps", {"unit_code": VILLAGE, "born_since": "2013-01-01"},
     {**SCOPED, "auditor": DENIED}),
    # registry: tasks back to departments
    ("registry", "GET", "/api/department-tasks", None, EVERY_STAFF),
    ("registry", "POST", "/api/department-tasks/sweep", {"on": "not-a-date"}, DISTRICT_ONLY_422),
    # services log: records, residents
    ("services-log", "GET", f"/api/awaiting-resident?unit_code={VILLAGE}", None, SCOPED),
    ("services-log", "GET", f"/api/services/{uuid.UUID(int=1)}", None, {**EVERY_STAFF, **dict.fromkeys(("district", "town", "village", "other-village", "auditor"), UNKNOWN)}),
    ("services-log", "GET", "/api/associations", None, EVERY_STAFF),
    # services log: the network (roster, a year of it)
    ("services-log", "GET", f"/api/staff?unit_code={VILLAGE}", None, SCOPED),
    ("services-log", "GET", "/api/network?year=2013", None, EVERY_STAFF),
    # assessment: reads, export, decisions, the kit's rebuild
    ("assessment", "GET", f"/api/units/{VILLAGE}/coverage?period=2013", None, SCOPED),
    ("assessment", "GET", "/api/scoreboard?period=2013", None, EVERY_STAFF),
    ("assessment", "GET", "/api/scoreboard/export?period=2013&format=csv", None, EVERY_STAFF),
    ("assessment", "GET", "/api/rectifications", None, EVERY_STAFF),
    ("assessment", "GET", "/api/network?year=2013", None, EVERY_STAFF),  # passed through to the services log
    ("assessment", "POST", "/api/vetoes", {}, DISTRICT_ONLY_422),
    ("assessment", "POST", "/api/rankings", {}, DISTRICT_ONLY_422),
    ("assessment", "POST", "/api/rectifications/reviews", {}, DISTRICT_ONLY_422),
    ("assessment", "POST", "/api/rectifications/checks", {}, DISTRICT_ONLY_422),
    ("assessment", "POST", "/api/admin/rebuild", None, {**DISTRICT_ONLY_422, "district": 202}),
    # notifier: inbox, trace, dead letters, subscriptions
    ("notifier", "GET", f"/api/units/{VILLAGE}/inbox", None, SCOPED),
    ("notifier", "GET", f"/api/notifications/{uuid.UUID(int=2)}", None, {**EVERY_STAFF, **dict.fromkeys(("district", "town", "village", "other-village", "auditor"), UNKNOWN)}),
    ("notifier", "GET", "/api/dead-letters", None, CENTRAL),
    ("notifier", "GET", f"/api/recipients/unit:{VILLAGE}/subscriptions", None, SCOPED),
]
CASES = [(s, m, p, b, role, want[role]) for s, m, p, b, want in MATRIX for role in CALLERS]


@pytest.mark.parametrize(("service", "method", "path", "body", "role", "expected"), CASES,
                         ids=[f"{s}:{m}:{p}:{r}" for s, m, p, _, r, _ in CASES])
def test_each_role_against_each_router(district, service, method, path, body, role, expected):
    answer = call(district, service, method, path, role, **({"json": body} if body is not None else {}))
    assert answer.status_code == expected, (role, path, answer.text[:300])


def test_the_page_loads_without_a_token(district):
    assert call(district, "assessment", "GET", "/", "anonymous").status_code == 200
    assert call(district, "assessment", "GET", "/page/app.js", "anonymous").status_code == 200


# ---- a resident, and what an outsider tried ------------------------------------------------


def id_number(birth: str, sequence: str) -> str:
    from registry.domain.identity import check_digit

    first17 = f"370402{birth}{sequence}"
    return first17 + check_digit(first17)


def register(d, number: str, role: str = "district", unit: str = VILLAGE) -> httpx.Response:
    digits = number.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    born = f"{digits[6:10]}-{digits[10:12]}-{digits[12:14]}"
    body = {"name": "王秀英", "id_number": number, "phone": "13805321234", "sex": "female", "birth_date": born,
            "marital_status": "married", "population": "migrant", "household_registration_place": "371302",
            "unit_code": unit}
    return call(d, "registry", "POST", "/api/residents", role, json=body)


@pytest.fixture(scope="module")
def resident(district) -> str:
    answer = register(district, id_number("19900307", "102"))
    assert answer.status_code == 201, answer.text
    return answer.json()["resident_id"]


def test_what_the_outsider_tried_fails(district, resident):
    d = district
    veto = {"unit_code": VILLAGE, "period": "2013", "reason": "x", "decided_by": "nobody"}
    assert call(d, "assessment", "POST", "/api/vetoes", "anonymous", json=veto).status_code == 401
    assert call(d, "assessment", "POST", "/api/vetoes", "town", json=veto).status_code == 403
    ranking = {"period": "2013", "level": "town"}
    assert call(d, "assessment", "POST", "/api/rankings", "anonymous", json=ranking).status_code == 401
    assert call(d, "assessment", "POST", "/api/rankings", "village", json=ranking).status_code == 403
    assert call(d, "assessment", "POST", "/api/admin/rebuild", "anonymous").status_code == 401
    assert call(d, "services-log", "POST", "/api/admin/rebuild", "town").status_code == 403
    erase = {"reason": "asked to"}
    assert call(d, "registry", "POST", f"/api/residents/{resident}/erasure", "anonymous", json=erase).status_code == 401
    # Her own village may not erase her either: only the district centre erases.
    assert call(d, "registry", "POST", f"/api/residents/{resident}/erasure", "village", json=erase).status_code == 403
    assert call(d, "registry", "GET", "/api/residents", "anonymous").status_code == 401
    assert call(d, "registry", "GET", f"/api/residents?unit_code={VILLAGE}", "other-village").status_code == 403
    # Another village's listing without a unit: only its own residents, not hers.
    listed = call(d, "registry", "GET", "/api/residents", "other-village").json()
    assert resident not in [r["resident_id"] for r in listed["items"]]
    # Her full ID number and phone: an outsider learns not even that she exists.
    assert call(d, "registry", "GET", f"/api/residents/{resident}", "anonymous").status_code == 401
    assert call(d, "registry", "GET", f"/api/residents/{resident}", "other-village").status_code == 404
    assert call(d, "registry", "GET", f"/api/residents/{resident}", "department").status_code == 403
    assert call(d, "notifier", "GET", f"/api/units/{VILLAGE}/inbox", "other-village").status_code == 403
    hook = {"address": "https://attacker.example/collect"}
    path = f"/api/recipients/unit:{VILLAGE}/subscriptions/webhook"
    refused = call(d, "notifier", "PUT", path, "district", json=hook)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "address", refused.text
    metadata = call(d, "notifier", "PUT", path, "district", json={"address": "http://169.254.169.254/latest/"})
    assert metadata.status_code == 422
    allowed = call(d, "notifier", "PUT", path, "village", json={"address": "https://hooks.shizhong.example/msp"})
    assert allowed.status_code == 204, allowed.text
    assert call(d, "notifier", "PUT", path, "other-village", json={"address": "https://hooks.shizhong.example/x"}).status_code == 403


def test_personal_data_is_clear_in_scope_recorded_and_masked_for_an_auditor(district, resident):
    d = district
    seen = call(d, "registry", "GET", f"/api/residents/{resident}?purpose=随访 follow-up visit", "village").json()
    assert seen["personal"]["phone"] == "13805321234" and seen["personal"]["name"] == "王秀英"
    masked = call(d, "registry", "GET", f"/api/residents/{resident}", "auditor").json()["personal"]
    assert masked["name"] == "王**" and masked["id_number"].startswith("3704") and "*" in masked["id_number"]
    assert masked["phone"] != "13805321234"
    reads = call(d, "registry", "GET", f"/api/residents/{resident}/personal-data-reads", "auditor")
    assert reads.status_code == 200, reads.text
    by_village = [r for r in reads.json() if r["reader"] == "test-village"]
    assert by_village and by_village[0]["why"] == "随访 follow-up visit"
    assert by_village[0]["subject"] == f"resident-{resident}"
    assert all(r["reader_role"] != "auditor" for r in reads.json())  # a masked view is no read in clear
    assert call(d, "registry", "GET", f"/api/residents/{resident}/personal-data-reads", "village").status_code == 403


def test_full_width_digits_name_the_same_person(district):
    ascii_number = id_number("19880512", "204")
    full_width = ascii_number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    first = register(district, full_width)
    assert first.status_code == 201, first.text
    again = register(district, ascii_number)
    assert again.status_code == 409, again.text
    found = call(district, "registry", "POST", "/api/residents/lookup", "village", json={"id_number": full_width})
    assert found.status_code == 200 and found.json()["resident_id"] == first.json()["resident_id"]
    # Out of the caller's units the lookup is no oracle: nobody holds that number, for them.
    outside = call(district, "registry", "POST", "/api/residents/lookup", "other-village", json={"id_number": ascii_number})
    assert outside.status_code == 404


def test_the_id_number_lookup_is_rate_limited_per_caller(district):
    limited = bearer("town", TOWN, sub="guessing-town")
    answers = [
        httpx.post(f"{district.url('registry')}/api/residents/lookup", headers=limited, timeout=30,
                   json={"id_number": id_number("19700101", f"{n:03d}")}).status_code
        for n in range(10)
    ]
    assert set(answers) <= {404, 429} and 429 in answers, answers
    # Another caller is not held up by the first one's guessing.
    other = call(district, "registry", "POST", "/api/residents/lookup", "town", json={"id_number": id_number("19700101", "001")})
    assert other.status_code == 404
