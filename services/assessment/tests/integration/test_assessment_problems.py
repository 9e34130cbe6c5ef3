"""Every way to ask wrongly gets the kit's one answer (RFC 9457 problem details) with the status
the OpenAPI document lists: 404 for what does not exist, 409 for a decision that cannot be
taken, 422 for a request that is wrong in itself; nothing odd becomes a 500."""

from __future__ import annotations

import pytest

from assessment_examples import CHANGAN, JIANSHE, ZHONGXINJIE

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
UNKNOWN_UNIT, UNKNOWN_TOWN, DISTRICT = "370402999999", "370402999000", "370402000000"


def refused(response, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["errors"][0]["field"] == field, problem
    assert problem["detail"].startswith(f"{field}: ")


class TestQuestions:
    async def test_a_malformed_unit_code_is_invalid_and_an_unknown_one_not_found(self, running):
        refused(await running.http.get("/api/units/nope/coverage", params={"period": "2013"}), 422, "path.unit_code")
        refused(await running.http.get(f"/api/units/{UNKNOWN_UNIT}/trend", params={"year": 2013}), 404, "path.unit_code")
        explain = {"period": "2013", "indicator": "policy_awareness"}
        refused(await running.http.get(f"/api/units/{UNKNOWN_UNIT}/explain", params=explain), 404, "path.unit_code")

    async def test_a_unit_code_typed_in_full_width_digits_is_read_as_that_code(self, running):
        wide = str.maketrans("0123456789", "０１２３４５６７８９")
        coverage = await running.get(f"/api/units/{JIANSHE.translate(wide)}/coverage", period="2013")
        assert coverage == await running.get(f"/api/units/{JIANSHE}/coverage", period="2013")
        board = await running.get("/api/scoreboard", period="2013", level="village", parent=ZHONGXINJIE.translate(wide))
        assert board["parent"] == ZHONGXINJIE and board["rows"]
        assert board == await running.get("/api/scoreboard", period="2013", level="village", parent=ZHONGXINJIE)
        # Digits of another script are not digits of a code.
        refused(await running.http.get("/api/units/٣٧٠٤٠٢٠٠١٠٠١/coverage", params={"period": "2013"}), 422, "path.unit_code")

    async def test_an_unknown_indicator_is_not_found(self, running):
        response = await running.http.get(f"/api/units/{JIANSHE}/explain", params={"period": "2013", "indicator": "luck"})
        refused(response, 404, "query.indicator")

    @pytest.mark.parametrize("path", ["/api/scoreboard", "/api/scoreboard/export", "/api/scoreboard/stream"])
    async def test_an_unknown_town_is_not_found_and_a_malformed_one_invalid(self, running, path):
        refused(await running.http.get(path, params={"period": "2013", "level": "village", "parent": UNKNOWN_TOWN}), 404, "query.parent")
        refused(await running.http.get(path, params={"period": "2013", "level": "village", "parent": "中心街"}), 422, "query.parent")

    @pytest.mark.parametrize("period", ["0001", "9999-12", "2013-13", "2013-Q0", "２０１３", "2013\x00"])
    async def test_a_period_the_calendar_cannot_hold_is_invalid(self, running, period):
        refused(await running.http.get("/api/scoreboard", params={"period": period}), 422, "query.period")
        refused(await running.http.get("/api/rectifications", params={"period": period}), 422, "query.period")

    @pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01T00:00:00+08:00", "2013-12-31\x00", "x" * 100])
    async def test_an_instant_the_calendar_cannot_hold_is_invalid(self, running, as_of):
        response = await running.http.get(f"/api/units/{JIANSHE}/coverage", params={"period": "2013", "as_of": as_of})
        refused(response, 422, "query.as_of")

    async def test_a_huge_year_is_invalid(self, running):
        refused(await running.http.get(f"/api/units/{JIANSHE}/trend", params={"year": 10**40}), 422, "query.year")

    @pytest.mark.parametrize(("path", "params", "field"), [
        ("/api/rectifications", {"opened": "true"}, "query.opened"),
        ("/api/scoreboard", {"period": "2013", "unit": JIANSHE}, "query.unit"),  # a misspelt filter
        ("/api/vetoes", {"period": "2013", "asof": "2013-06-30"}, "query.asof"),
        ("/health/live", {"x": "1"}, "query.x"),  # a route that takes none
    ])
    async def test_a_query_parameter_the_route_does_not_take_is_refused_not_ignored(self, running, path, params, field):
        response = await running.http.get(path, params=params)
        refused(response, 422, field)
        assert "is not a parameter of this route" in response.json()["detail"]

    async def test_an_unknown_route_or_page_asset_is_a_problem_too(self, running):
        refused(await running.http.get("/api/nothing"), 404, "path")
        refused(await running.http.get("/page/secrets.txt"), 404, "path.name")


class TestDecisions:
    async def test_a_veto_for_no_unit_is_not_found_for_the_district_invalid(self, running):
        veto = {"period": "2013", "reason": "瞒报", "decided_by": "区中心"}
        refused(await running.http.post("/api/vetoes", json={**veto, "unit_code": UNKNOWN_UNIT}), 404, "unit_code")
        refused(await running.http.post("/api/vetoes", json={**veto, "unit_code": DISTRICT}), 422, "unit_code")
        refused(await running.http.post("/api/vetoes", json={**veto, "unit_code": "37040200100"}), 422, "unit_code")
        refused(await running.http.post("/api/vetoes", json={**veto, "unit_code": JIANSHE, "period": "0001"}), 422, "period")

    async def test_a_nul_byte_in_a_reason_is_refused_and_nothing_is_written(self, running):
        veto = {"unit_code": JIANSHE, "period": "2013", "reason": "瞒报\x00", "decided_by": "区中心"}
        assert (await running.http.post("/api/vetoes", json=veto)).status_code == 422
        assert (await running.http.post("/api/vetoes", json={**veto, "reason": "瞒报"})).status_code == 201

    async def test_a_ranking_of_an_unknown_town_is_not_found(self, running):
        ranking = {"period": "2013", "level": "village", "parent": UNKNOWN_TOWN}
        refused(await running.http.post("/api/rankings", json=ranking), 404, "parent")
        refused(await running.http.post("/api/rankings", json={**ranking, "level": "county"}), 422, "level")

    async def test_a_plan_for_no_unit_is_not_found_without_an_order_a_conflict(self, running):
        documents = [
            {"kind": kind, "name": "x.pdf", "media_type": "application/pdf", "sha256": "a" * 64, "size": 1, "reference": "档案"}
            for kind in ("written_report", "rectification_plan")
        ]
        plan = {"period": "2013", "summary": "整改方案", "documents": documents}
        refused(await running.http.post("/api/rectifications/plans", json={**plan, "unit_code": UNKNOWN_UNIT}), 404, "unit_code")
        refused(await running.http.post("/api/rectifications/plans", json={**plan, "unit_code": CHANGAN}), 409, "unit_code")
        refused(await running.http.post("/api/rectifications/plans", json={**plan, "unit_code": ZHONGXINJIE, "summary": ""}), 422, "summary")
        # Bytes that are not what the document says: the field and the reason, before anything is kept.
        lying = [documents[0] | {"reference": None, "content_base64": "aGVsbG8=", "size": 5}, documents[1]]
        refused(await running.http.post("/api/rectifications/plans", json={**plan, "unit_code": CHANGAN, "documents": lying}),
                422, "documents[0].sha256")
        response = await running.http.post("/api/rectifications/plans", content=b"{not json", headers={"content-type": "application/json"})
        assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
