"""The worked examples of docs/assessment.md, through the real broker, database and HTTP:
the numbers computed by hand are the numbers the API gives."""

from __future__ import annotations

import pytest

from assessment_examples import CHANGAN, GETABU, JIANSHE, XINHUA, ZHONGXINJIE, worked_examples
from assessment_testing import person_id

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def figures(coverage: dict) -> dict[str, tuple[int, int]]:
    return {i["id"]: (i["numerator"], i["denominator"]) for i in coverage["indicators"]}


@pytest.fixture
async def examples(running):
    await running.publish(worked_examples().events)
    await running.settled()
    return running


class TestCoverage:
    async def test_the_woman_who_moved_twice_counts_once_where_she_lived_at_the_quarters_end(self, examples):
        changan = await examples.get(f"/api/units/{CHANGAN}/coverage", period="2013-Q2")
        assert changan["source"] == "live"
        assert figures(changan) == {
            "policy_awareness": (1, 1), "free_contraceptives": (0, 1), "services_where_they_live": (1, 1),
            "free_pregnancy_checks": (1, 1), "pre_pregnancy_consultation": (0, 0), "pre_pregnancy_health_check": (0, 0),
            "reproductive_health_awareness": (0, 0), "compulsory_education_enrolment": (0, 0),
        }
        checks = {i["id"]: i for i in changan["indicators"]}["free_contraceptives"]
        assert (checks["rate"], checks["target"], checks["gap"], checks["shortfall"], checks["band"]) == (0.0, 1.0, 1.0, 1, "red")

    async def test_towns_roll_up_from_their_villages(self, examples):
        town = figures(await examples.get(f"/api/units/{ZHONGXINJIE}/coverage", period="2013-Q2"))
        assert town["services_where_they_live"] == (1, 2)
        assert town["free_contraceptives"] == (0, 2)
        assert town["pre_pregnancy_consultation"] == (1, 1)
        district = figures(await examples.get("/api/units/370402000000/coverage", period="2013-Q2"))
        assert district["services_where_they_live"] == (2, 3)
        assert district["free_pregnancy_checks"] == (1, 2)
        assert figures(await examples.get(f"/api/units/{GETABU}/coverage", period="2013-Q2"))["free_pregnancy_checks"] == (1, 1)

    async def test_months_and_years(self, examples):
        assert figures(await examples.get(f"/api/units/{XINHUA}/coverage", period="2013-05"))["free_pregnancy_checks"] == (1, 1)
        assert figures(await examples.get(f"/api/units/{XINHUA}/coverage", period="2013-Q3"))["compulsory_education_enrolment"] == (1, 1)
        assert figures(await examples.get(f"/api/units/{JIANSHE}/coverage", period="2013"))["services_where_they_live"] == (2, 3)

    async def test_as_of_a_day_within_the_quarter_counts_the_quarter_so_far(self, examples):
        xinhua = await examples.get(f"/api/units/{XINHUA}/coverage", period="2013-Q2", as_of="2013-05-10")
        assert xinhua["source"] == "history"
        assert figures(xinhua)["free_pregnancy_checks"] == (1, 1)  # she lived in 新华社区 then, checked on 3 May
        changan = await examples.get(f"/api/units/{CHANGAN}/coverage", period="2013-Q2", as_of="2013-05-10")
        assert figures(changan)["free_pregnancy_checks"] == (0, 0)
        before = await examples.get(f"/api/units/{XINHUA}/coverage", period="2013-Q2", as_of="2013-03-31")
        assert all(i["denominator"] == 0 for i in before["indicators"])  # the quarter had not begun

    async def test_a_period_outside_the_live_years_is_computed_from_history(self, examples):
        coverage = await examples.get(f"/api/units/{JIANSHE}/coverage", period="2014-01")
        assert coverage["source"] == "history"
        assert figures(coverage)["services_where_they_live"] == (0, 3)  # the family still lives there


class TestExplain:
    async def test_why_the_couples_consultation_rate_is_what_it_is(self, examples):
        why = await examples.get(f"/api/units/{JIANSHE}/explain", indicator="pre_pregnancy_consultation", period="2013-Q2")
        assert (why["numerator"], why["denominator"], why["rate"]) == (1, 1, 1.0)
        [couple] = why["people"]
        assert couple["resident_id"] == str(person_id("wang_qiang")) and couple["served"]
        events = {(e["event_type"], e["role"]) for e in couple["events"]}
        assert events == {
            ("ResidentRegistered", "denominator"), ("PregnancyPlanned", "denominator"),
            ("ServiceDelivered", "numerator"),  # the partner's consultation
        }

    async def test_the_explanation_names_every_event_that_counted_her(self, examples):
        h = worked_examples()
        li = [e for e in h.events if str(person_id("li_na")) in (e.payload.get("resident_id"),)]
        why = await examples.get(f"/api/units/{CHANGAN}/explain", indicator="free_pregnancy_checks", period="2013-Q2")
        [her] = why["people"]
        ids = {e["event_id"] for e in her["events"]}
        registered, _, check, *_ = [e for e in li if e.event_type in ("ResidentRegistered", "ResidentMoved", "ServiceDelivered")]
        moved_to_changan = next(e for e in li if e.event_type == "ResidentMoved" and e.payload["to_unit"] == CHANGAN)
        assert {str(registered.event_id), str(moved_to_changan.event_id), str(check.event_id)} <= ids

    async def test_a_town_explains_with_its_villages_people_and_agrees_with_its_coverage(self, examples):
        # May: Li Na lives in 新华社区 (checked there on the 3rd), Wang and Zhao in 建设社区.
        why = await examples.get(f"/api/units/{ZHONGXINJIE}/explain", indicator="services_where_they_live", period="2013-05")
        coverage = figures(await examples.get(f"/api/units/{ZHONGXINJIE}/coverage", period="2013-05"))
        assert (why["numerator"], why["denominator"]) == coverage["services_where_they_live"]
        assert {p["unit_code"] for p in why["people"]} == {JIANSHE, XINHUA}


class TestErrors:
    async def test_an_unknown_unit_is_a_404_naming_it(self, running):
        response = await running.http.get("/api/units/370402999999/coverage", params={"period": "2013"})
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == "path.unit_code"

    async def test_a_bad_period_or_clock_is_a_422_naming_the_parameter(self, running):
        response = await running.http.get(f"/api/units/{JIANSHE}/coverage", params={"period": "2013-Q5"})
        assert (response.status_code, response.json()["errors"][0]["field"]) == (422, "query.period")
        response = await running.http.get(f"/api/units/{JIANSHE}/coverage", params={"period": "2013", "known_at": "soon"})
        assert (response.status_code, response.json()["errors"][0]["field"]) == (422, "query.known_at")


class TestTheService:
    async def test_it_is_ready_with_everything_it_runs(self, running):
        report = (await running.http.get("/health/ready")).json()
        assert report["status"] == "ready", report
        assert {"postgres", "kafka", "relay", "projection:coverage", "announcer", "change-feed"} <= set(report["checks"])

    async def test_it_serves_the_page(self, running):
        page = await running.http.get("/")
        assert page.status_code == 200 and "市中区流动人口基本公共服务均等化考核" in page.text
        assert (await running.http.get("/page/app.js")).status_code == 200
        assert (await running.http.get("/page/secrets.txt")).status_code == 404


class TestEqualisation:
    """Example 7 of docs/assessment.md: the registered population counted apart, and the gap."""

    async def test_registered_coverage_has_the_same_shape_and_counts_only_the_registered(self, examples):
        registered = await examples.get(f"/api/units/{JIANSHE}/coverage", period="2013-Q2", population="registered")
        assert (registered["population"], registered["source"]) == ("registered", "history")
        assert figures(registered)["free_pregnancy_checks"] == (1, 2)
        migrant = await examples.get(f"/api/units/{JIANSHE}/coverage", period="2013-Q2")
        assert (migrant["population"], migrant["source"]) == ("migrant", "live")
        assert figures(migrant)["free_pregnancy_checks"] == (0, 1)

    async def test_the_gap_is_migrant_minus_registered_in_points(self, examples):
        body = await examples.get(f"/api/units/{JIANSHE}/equalisation", period="2013-Q2")
        checks = {i["id"]: i for i in body["indicators"]}["free_pregnancy_checks"]
        assert (checks["migrant"]["rate"], checks["registered"]["rate"], checks["gap_points"]) == (0.0, 0.5, -50.0)
        assert {i["id"]: i for i in body["indicators"]}["compulsory_education_enrolment"]["gap_points"] is None
        assert body["source"] == {"migrant": "live", "registered": "history"}

    async def test_a_population_that_is_not_one_is_refused_naming_the_field(self, examples):
        response = await examples.http.get(f"/api/units/{JIANSHE}/coverage", params={"period": "2013-Q2", "population": "tourist"})
        assert response.status_code == 422
        problem = response.json()
        assert [e["field"] for e in problem["errors"]] == ["query.population"]
        response = await examples.http.get("/api/units/370402999999/equalisation", params={"period": "2013-Q2"})
        assert response.status_code == 404
        assert response.json()["errors"][0]["field"] == "path.unit_code"


async def test_a_returner_counts_once_in_her_town(running):
    """Example 8: left 建设社区 in April, registered again (new id, same person key) in 新华社区 in May."""
    from assessment_examples import returner

    await running.publish(returner().events)
    await running.settled()
    town = figures(await running.get(f"/api/units/{ZHONGXINJIE}/coverage", period="2013-Q2"))
    assert town["free_pregnancy_checks"] == (1, 1)
    assert figures(await running.get(f"/api/units/{JIANSHE}/coverage", period="2013-Q2"))["free_pregnancy_checks"] == (0, 0)
    history = figures(await running.get(f"/api/units/{ZHONGXINJIE}/coverage", period="2013-Q2", as_of="2013-06-30"))
    assert history["free_pregnancy_checks"] == (1, 1)


async def test_a_year_shows_the_year_before_and_the_change_in_points(examples):
    """逐年提高: 建设社区's services where they live, 2014 (nobody served: 0/3) against 2013 (2/3)."""
    body = await examples.get(f"/api/units/{JIANSHE}/coverage", period="2014")
    row = {i["id"]: i for i in body["indicators"]}["services_where_they_live"]
    assert (row["numerator"], row["denominator"]) == (0, 3)
    assert row["previous_year"] == {"period": "2013", "rate": 0.6667}
    assert row["change_points"] == -66.67
    quarter = await examples.get(f"/api/units/{JIANSHE}/coverage", period="2013-Q2")
    assert all(i["previous_year"] is None and i["change_points"] is None for i in quarter["indicators"])


async def test_served_where_they_live_through_the_api(running):
    """Example 10: another village's check does not count; the town's station's does; a leaflet is no technical service."""
    from assessment_examples import where_they_live

    await running.publish(where_they_live().events)
    await running.settled()
    assert figures(await running.get(f"/api/units/{JIANSHE}/coverage", period="2013-Q2"))["free_pregnancy_checks"] == (0, 1)
    xinhua = figures(await running.get(f"/api/units/{XINHUA}/coverage", period="2013-Q2"))
    assert (xinhua["free_pregnancy_checks"], xinhua["services_where_they_live"]) == ((1, 1), (1, 2))


async def test_the_rules_say_where_each_number_comes_from(running):
    rules = await running.get("/api/rules")
    checks = {i["id"]: i for i in rules["indicators"]}["free_pregnancy_checks"]
    assert checks["target_source"].startswith("流动已婚育龄妇女在现居住地免费接受孕检率达到90%以上")
    assert checks["weight_source"] == "local assumption" and checks["rule_source"].startswith("local assumption")
    assert {p["source"] for p in rules["penalties"]} == {"local assumption"}
    assert rules["yellow_margin_source"] == "local assumption"
    assert rules["rectification"]["bottom_count_source"] == rules["rectification"]["plan_due_days_source"] == "local assumption"
