"""Every class of bad input is refused with the field and the reason (a problem, RFC 9457),
and writes nothing: no event (so no outbox row), no key, no ID-number digest, no read-model row."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from registry_builders import id_number, registration

LIVING = "{living}"
DEPARTED = "{departed}"
ID_OF_LIVING = id_number(date(1988, 3, 15), "female", sequence=222)

# (what, path, body, status, field, reason)
REGISTRATIONS = [
    ("an unknown unit", "/api/residents", registration(unit_code="370402999999"), 422, "unit_code", "not a unit of 市中区"),
    ("an impossible ID number", "/api/residents", registration(id_number="370481198803150221"), 422, "id_number", "check digit"),
    ("an ID number of another birth date", "/api/residents", registration(id_number=id_number(date(1987, 3, 15), "female")),
     422, "id_number", "birth date 1987-03-15"),
    ("a birth date in the future", "/api/residents", registration(birth_date="2014-02-01", marital_status="unmarried", id_number=None),
     422, "birth_date", "in the future"),
    ("a missing field", "/api/residents", {k: v for k, v in registration().items() if k != "sex"}, 422, "sex", "Field required"),
    ("a phone that is no phone", "/api/residents", registration(phone="12345"), 422, "phone", "mobile"),
    ("a person registered already", "/api/residents", registration(id_number=ID_OF_LIVING), 409, "id_number", "registered already"),
]
RESIDENT_COMMANDS = [
    ("moving someone who has left", f"/api/residents/{DEPARTED}/moves", {"to_unit": "370402001001"}, 422,
     "resident_id", "left the district"),
    ("moving into a town", f"/api/residents/{LIVING}/moves", {"to_unit": "370402001000"}, 422, "to_unit", "not a village"),
    ("a move in the future", f"/api/residents/{LIVING}/moves", {"to_unit": "370402001001", "occurred_at": "2014-01-01T08:00:00+08:00"},
     422, "occurred_at", "in the future"),
    ("a birth before the mother's own birth", f"/api/residents/{LIVING}/births",
     {"birth_date": "1987-01-01", "sex": "male", "reported_by": "family", "report_ref": "家-1"}, 422, "birth_date", "before the mother's own birth"),
    ("a birth in the future", f"/api/residents/{LIVING}/births",
     {"birth_date": "2013-12-05", "sex": "male", "reported_by": "family", "report_ref": "家-1"}, 422, "birth_date", "in the future"),
    ("a reporter nobody knows", f"/api/residents/{LIVING}/births",
     {"birth_date": "2013-11-05", "sex": "male", "reported_by": "neighbour", "report_ref": "x"}, 422, "reported_by", "Input should be"),
    ("a marital change that cannot happen", f"/api/residents/{LIVING}/marital-status", {"marital_status": "unmarried"}, 422,
     "marital_status", "cannot change from married"),
    ("a permit that expires before it is issued", f"/api/residents/{LIVING}/residence-permits",
     {"permit_ref": "ZZ-1", "issued_on": "2013-06-01", "valid_until": "2013-05-01"}, 422, "valid_until", "not after issued_on"),
    ("enrolling a married woman in primary school", f"/api/residents/{LIVING}/enrolments",
     {"school_name": "龙山路小学", "school_year": 2013, "grade": 1}, 422, "school_year", "compulsory education"),
    ("a departure reason carrying an ID number", f"/api/residents/{LIVING}/departure", {"reason": f"证件 {ID_OF_LIVING}"}, 422,
     "reason", "personal data must not travel in clear"),
]
UNKNOWN_THINGS = [
    ("moving someone unknown", f"/api/residents/{uuid.uuid4()}/moves", {"to_unit": "370402001001"}, 404, "resident_id", "no resident"),
    ("a reply to a request nobody made", f"/api/verification-requests/{uuid.uuid4()}/reply",
     {"replied_on": "2013-11-01", "outcome": "confirmed"}, 404, "request_id", "no verification request"),
    ("a sweep of a unit that does not exist", "/api/sweeps", {"unit_code": "370402999999"}, 422, "unit_code", "not a unit"),
]


async def footprint(service) -> dict[str, int]:
    """How much the registry has written, table by table (the outbox drains meanwhile; an
    outbox row exists only for an event, so the events say it)."""
    schema = service.runtime.schema
    tables = ("events", "personal_keys", "identity_index", "residents", "births", "verifications", "discrepancies")
    pool = service.runtime.pool
    return {table: await pool.fetchval(f"SELECT count(*) FROM {schema}.{table}") for table in tables}


@pytest.fixture
async def people(api) -> dict[str, str]:
    living = (await api.post("/api/residents", json=registration(id_number=ID_OF_LIVING))).json()["resident_id"]
    departed = (await api.post("/api/residents", json=registration(sex="male", birth_date="1980-01-01"))).json()["resident_id"]
    assert (await api.post(f"/api/residents/{departed}/departure", json={"reason": "返乡"})).status_code == 200
    return {"living": living, "departed": departed}


async def refusals_that_wrote_something_or_said_the_wrong_thing(api, service, people, cases) -> list[str]:
    """Each case in turn; what went wrong with any of them (all of them are tried)."""
    wrong = []
    for what, path, body, status, field, reason in cases:
        before = await footprint(service)
        answer = await api.post(path.format(**people), json=body)
        problem = answer.json() if answer.status_code == status else {}
        errors = problem.get("errors")
        if (
            not errors or len(errors) != 1 or errors[0]["field"] != field or reason not in errors[0]["reason"]
            or problem["status"] != status or answer.headers["content-type"] != "application/problem+json"
        ):
            wrong.append(f"{what}: {answer.status_code} {answer.text}")
        elif await footprint(service) != before:
            wrong.append(f"{what}: refused, yet something was written")
    return wrong


async def test_bad_registrations_are_refused_with_field_and_reason_and_write_nothing(api, registry_service, people):
    assert await refusals_that_wrote_something_or_said_the_wrong_thing(api, registry_service, people, REGISTRATIONS) == []


async def test_bad_commands_on_a_resident_are_refused_with_field_and_reason_and_write_nothing(api, registry_service, people):
    assert await refusals_that_wrote_something_or_said_the_wrong_thing(api, registry_service, people, RESIDENT_COMMANDS) == []


async def test_commands_on_what_does_not_exist_are_refused_and_write_nothing(api, registry_service, people):
    assert await refusals_that_wrote_something_or_said_the_wrong_thing(api, registry_service, people, UNKNOWN_THINGS) == []


async def test_a_refusal_never_echoes_the_id_number_it_refused(api):
    answer = await api.post("/api/residents", json=registration(id_number="370481198803150221"))
    assert answer.status_code == 422 and "370481198803150221" not in answer.text


ODD_INPUT = [  # (what, method, path, body or query, status, field)
    ("a NUL byte in free text", "POST", f"/api/residents/{LIVING}/departure", {"reason": "返乡\x00"}, 422, "reason"),
    ("a NUL byte in a name", "POST", "/api/residents", registration(name="王\x00秀英"), 422, "name"),
    ("a NUL byte in a unit code", "GET", "/api/residents", {"unit_code": "3704\x00"}, 422, "query.unit_code"),
    ("a huge offset", "GET", "/api/residents", {"offset": 10**30}, 422, "query.offset"),
    ("a huge limit", "GET", "/api/residents", {"limit": 10**30}, 422, "query.limit"),
    ("a malformed resident id", "GET", "/api/residents/not-a-uuid", None, 404, "path"),
    ("a command on a malformed resident id", "POST", "/api/residents/12345/moves", {"to_unit": "370402001001"}, 404, "path"),
    ("a reply to a malformed request id", "POST", "/api/verification-requests/x/reply", {"replied_on": "2013-11-01", "outcome": "confirmed"}, 404, "path"),
    ("the lookup asked with GET", "GET", "/api/residents/lookup", None, 405, "path"),
    ("an ID number in a lookup that is no ID number", "POST", "/api/residents/lookup", {"id_number": "1" * 17 + "\x00"}, 422, "id_number"),
]


async def test_odd_input_is_a_problem_never_a_500_and_writes_nothing(api, registry_service, people):
    wrong = []
    for what, method, path, data, status, field in ODD_INPUT:
        before = await footprint(registry_service)
        path = path.format(**people)
        answer = await (api.post(path, json=data) if method == "POST" else api.get(path, params=data))
        problem = answer.json()
        if (
            answer.status_code != status or answer.headers["content-type"] != "application/problem+json"
            or problem["errors"][0]["field"] != field
        ):
            wrong.append(f"{what}: {answer.status_code} {answer.text}")
        elif await footprint(registry_service) != before:
            wrong.append(f"{what}: refused, yet something was written")
    assert wrong == []
