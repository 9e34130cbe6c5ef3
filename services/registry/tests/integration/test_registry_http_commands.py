"""Each command of the staff's HTTP API, against the real database and broker: what it
answers, what it stores, and that the relay publishes it to registry.events."""

from __future__ import annotations

from datetime import timedelta

from collections import Counter

from registry_builders import LONGSHAN_2, ZHONGXIN_1, published, registration, stored_events


async def register(api, **overrides) -> dict:
    answer = await api.post("/api/residents", json=registration(**overrides))
    assert answer.status_code == 201, answer.text
    return answer.json()


class TestResidentLife:
    async def test_a_migrant_woman_lives_her_year_in_the_district(self, api, registry_service):
        mother = await register(api)
        resident = f"/api/residents/{mother['resident_id']}"
        assert mother["stream_version"] == 2 and len(mother["verification_request_ids"]) == 1

        steps = [
            ("moves", {"to_unit": LONGSHAN_2}, 200),
            ("residence-permits", {"permit_ref": "ZZ-2013-0042", "issued_on": "2013-06-01", "valid_until": "2014-06-01"}, 201),
            ("pregnancy-plans", {"planned_from": "2014-03-01"}, 201),
            ("marital-status", {"marital_status": "divorced", "previous": "married"}, 200),
        ]
        version = mother["stream_version"]
        for path, body, status in steps:
            answer = await api.post(f"{resident}/{path}", json=body)
            assert answer.status_code == status, (path, answer.text)
            assert answer.json()["stream_version"] == version + 1 and answer.json()["resident_id"] == mother["resident_id"]
            version += 1

        birth = await api.post(f"{resident}/births", json={
            "birth_date": "2013-11-20", "sex": "male", "reported_by": "family", "report_ref": "家-2013-11", "child_name": "王小宝",
        })
        assert birth.status_code == 201, birth.text
        child_id = birth.json()["child_resident_id"]

        departure = await api.post(f"{resident}/departure", json={"reason": "回户籍地", "destination_place": "370481"})
        assert departure.status_code == 200 and len(departure.json()["verification_request_ids"]) == 1

        view = (await api.get(resident)).json()
        assert view["status"] == "departed" and view["unit_code"] == LONGSHAN_2 and view["marital_status"] == "divorced"
        assert view["personal"]["name"] == "王秀英" and view["personal"]["phone"] == "13906321234"
        assert [c["child_resident_id"] for c in view["children"]] == [child_id]
        assert view["residence_permits"][0]["permit_ref"] == "ZZ-2013-0042" and view["pregnancy_plans"] == ["2014-03-01"]

        child = (await api.get(f"/api/residents/{child_id}")).json()
        assert child["mother_resident_id"] == mother["resident_id"] and child["unit_code"] == LONGSHAN_2
        assert child["personal"] == {"name": "王小宝", "id_number": None, "phone": None} and child["status"] == "living"

        events = await published(registry_service)
        assert Counter(e.event_type for e in events) == Counter(e.event_type for e in await stored_events(registry_service))
        assert {e.event_type for e in events} >= {
            "ResidentRegistered", "CrossRegionNoticeRaised", "VerificationRequested", "ResidentMoved", "ResidencePermitIssued",
            "PregnancyPlanned", "MaritalStatusChanged", "BirthReported", "ResidentDeparted",
        }
        assert all(e.source == "registry" for e in events)

    async def test_a_child_is_enrolled_in_school(self, api):
        child = await register(api, birth_date="2006-05-01", sex="male", marital_status="unmarried", id_number=None, phone=None)
        answer = await api.post(f"/api/residents/{child['resident_id']}/enrolments", json={
            "school_name": "文化路小学", "school_year": 2013, "grade": 2,
        })
        assert answer.status_code == 201, answer.text
        view = (await api.get(f"/api/residents/{child['resident_id']}")).json()
        assert view["enrolments"] == [{"school_name": "文化路小学", "school_year": 2013, "grade": 2}]

    async def test_staff_find_a_resident_by_id_number_without_putting_it_in_a_url(self, api):
        body = registration()
        registered = (await api.post("/api/residents", json=body)).json()
        found = await api.post("/api/residents/lookup", json={"id_number": body["id_number"]})
        assert found.status_code == 200 and found.json()["resident_id"] == registered["resident_id"]

    async def test_listing_and_counting_residents_by_unit(self, api):
        await register(api)
        await register(api, unit_code=ZHONGXIN_1)
        town = await api.get("/api/residents", params={"unit_code": "370402005000"})
        assert town.json()["total"] == 1 and town.json()["items"][0]["name"] == "王秀英"
        typed = await api.get("/api/residents", params={"unit_code": "３７０４０２００５０００"})  # full-width digits
        assert typed.status_code == 200 and typed.json() == town.json()
        counts = (await api.get("/api/units/370402000000/counts")).json()
        assert counts["living"] == 2 and counts["by_population"] == {"migrant": 2}


class TestUnits:
    async def test_the_district_has_11_towns_and_162_villages(self, api):
        units = (await api.get("/api/units")).json()
        levels = Counter(u["level"] for u in units)
        assert levels == {"district": 1, "town": 11, "village": 162}
        assert {"龙山路街道", "垎塔埠街道", "西王庄乡"} <= {u["name"] for u in units}

    async def test_a_unit_knows_its_ancestors_and_children(self, api):
        town = (await api.get("/api/units/370402005000")).json()
        assert town["name"] == "龙山路街道" and [a["name"] for a in town["ancestors"]] == ["市中区"]
        assert all(child["level"] == "village" for child in town["children"])
        assert (await api.get("/api/units/370402999000")).status_code == 404

    async def test_the_13_associations_are_listed(self, api):
        assert len((await api.get("/api/associations")).json()) == 13


class TestVerificationRequests:
    async def test_an_unanswered_request_becomes_overdue_and_a_late_reply_stays_visible(self, api, clock):
        resident = await register(api)  # a married woman: her 婚育证明 is due in 7 days
        (request_id,) = resident["verification_request_ids"]
        assert (await api.get("/api/verification-requests", params={"overdue": True})).json() == []

        clock.advance(timedelta(days=9))
        (overdue,) = (await api.get("/api/verification-requests", params={"overdue": True})).json()
        assert overdue["request_id"] == request_id and overdue["days_late"] == 2 and overdue["replied_on"] is None

        answer = await api.post(f"/api/verification-requests/{request_id}/reply", json={
            "replied_on": "2013-12-10", "outcome": "confirmed", "note": "婚育证明 on file",
        })
        assert answer.status_code == 200, answer.text
        (late,) = (await api.get("/api/verification-requests", params={"overdue": True})).json()
        assert late["replied_on"] == "2013-12-10" and late["days_late"] == 2 and late["overdue"]
        assert (await api.get("/api/verification-requests", params={"open": True})).json() == []

    async def test_staff_record_a_request_another_place_sent_us(self, api):
        resident = await register(api, sex="male", birth_date="1985-01-01")
        answer = await api.post(f"/api/residents/{resident['resident_id']}/verification-requests", json={
            "direction": "incoming", "kind": "ordinary", "counterpart_place": "320100", "subject": "居住情况核实",
        })
        assert answer.status_code == 201, answer.text
        listed = (await api.get("/api/verification-requests", params={"resident_id": resident["resident_id"]})).json()
        assert {r["direction"] for r in listed} == {"outgoing", "incoming"}
