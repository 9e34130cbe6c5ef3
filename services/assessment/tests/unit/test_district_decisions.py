"""The district centre's decisions: a veto once per unit and period, a published ranking
orders its bottom unit(s) to rectify, a plan answers an open order (the whole cycle:
test_rectification_cycle.py)."""

from __future__ import annotations

import pytest

from datetime import date

from assessment.domain.decisions import (
    decide_check,
    decide_plan,
    decide_publication,
    decide_review,
    decide_revocation,
    decide_veto,
    fold,
    rewarded,
)
from assessment.domain.periods import Period
from assessment.domain.scoring import ranked, unit_score
from assessment.settings import DEFAULT_RULES, load_rules
from assessment_examples import CHANGAN, JIANSHE, XINHUA
from assessment_testing import instant
from platform_kit.contract import catalogue
from platform_kit.problems import Conflict, NotFound, Refusal
from platform_kit.units import unit_tree

RULES = load_rules(DEFAULT_RULES)
NOW = instant("2014-01-10")
YEAR = Period.parse("2013")
DOCUMENTS = [
    {"kind": kind, "name": f"{kind}.pdf", "media_type": "application/pdf", "sha256": str(n) * 64, "size": 10,
     "reference": f"区档案 2014-{n}"}
    for n, kind in ((1, "written_report"), (2, "rectification_plan"))
]


def rows(*scored):
    return ranked([unit_score(code, {"free_pregnancy_checks": (p, 100)}, RULES, {}, False) for code, p in scored])


def publish(decisions, ranking):
    return decide_publication(
        decisions, ranking, period=YEAR, level="village", parent="370402001000", district_code="370402000000",
        now=NOW, plan_due_days=30,
    )


class TestVeto:
    def test_a_veto_is_a_valid_contract_event_and_is_read_back(self):
        event = decide_veto(fold([]), unit_code=JIANSHE, period=YEAR, reason="瞒报", decided_by="区中心", tree=unit_tree(), now=NOW)
        catalogue.validate(event)
        assert fold([event]).veto_for(JIANSHE, YEAR) is not None

    def test_a_veto_in_may_sinks_the_quarter_and_the_year_but_not_april(self):
        event = decide_veto(fold([]), unit_code=JIANSHE, period=Period.parse("2013-05"), reason="瞒报", decided_by="区中心",
                            tree=unit_tree(), now=NOW)
        decisions = fold([event])
        assert decisions.veto_for(JIANSHE, Period.parse("2013-Q2")) is not None
        assert decisions.veto_for(JIANSHE, YEAR) is not None
        assert decisions.veto_for(JIANSHE, Period.parse("2013-04")) is None

    def test_the_same_veto_twice_is_refused(self):
        first = decide_veto(fold([]), unit_code=JIANSHE, period=YEAR, reason="瞒报", decided_by="区中心", tree=unit_tree(), now=NOW)
        with pytest.raises(Conflict, match="already vetoed") as refused:
            decide_veto(fold([first]), unit_code=JIANSHE, period=YEAR, reason="again", decided_by="区中心", tree=unit_tree(), now=NOW)
        assert (refused.value.status, refused.value.field) == (409, "unit_code")

    def test_the_district_itself_cannot_be_vetoed(self):
        with pytest.raises(Refusal, match="the district itself") as refused:
            decide_veto(fold([]), unit_code="370402000000", period=YEAR, reason="x", decided_by="x", tree=unit_tree(), now=NOW)
        assert (refused.value.status, refused.value.field) == (422, "unit_code")

    def test_a_veto_for_a_unit_that_does_not_exist_is_not_found(self):
        with pytest.raises(NotFound, match="not a unit") as refused:
            decide_veto(fold([]), unit_code="370402999999", period=YEAR, reason="x", decided_by="x", tree=unit_tree(), now=NOW)
        assert (refused.value.status, refused.value.field) == (404, "unit_code")


class TestResponsibilityAndRevocation:
    def test_the_people_held_responsible_are_roles_and_a_reference_on_the_event_never_names(self):
        event = decide_veto(fold([]), unit_code=JIANSHE, period=YEAR, reason="瞒报", decided_by="区中心", tree=unit_tree(),
                            now=NOW, responsible_roles=["principal", "other"])
        catalogue.validate(event)
        assert event.payload["responsible_roles"] == ["principal", "other"]
        assert event.payload["responsible_ref"] == f"assessment:vetoes/{event.event_id}/responsible"

    def test_a_revoked_veto_no_longer_sinks_the_unit_and_may_be_applied_again(self):
        veto = decide_veto(fold([]), unit_code=JIANSHE, period=YEAR, reason="瞒报", decided_by="区中心", tree=unit_tree(), now=NOW)
        revoked = decide_revocation(fold([veto]), unit_code=JIANSHE, period=YEAR, reason="复核属实为误报", decided_by="区中心", now=NOW)
        catalogue.validate(revoked)
        decisions = fold([veto, revoked])
        assert decisions.veto_for(JIANSHE, YEAR) is None
        assert decisions.revoked[0].revoked_by["reason"] == "复核属实为误报"
        again = decide_veto(decisions, unit_code=JIANSHE, period=YEAR, reason="再次瞒报", decided_by="区中心", tree=unit_tree(), now=NOW)
        assert again.stream_version == 3 and fold([veto, revoked, again]).veto_for(JIANSHE, YEAR) is not None

    def test_only_a_veto_in_force_can_be_revoked(self):
        with pytest.raises(Conflict, match="no veto in force") as refused:
            decide_revocation(fold([]), unit_code=JIANSHE, period=YEAR, reason="x", decided_by="x", now=NOW)
        assert refused.value.field == "unit_code"


class TestRewards:
    def test_the_top_units_are_rewarded_on_the_published_ranking(self):
        [published, _] = decide_publication(
            fold([]), rows((JIANSHE, 90), (XINHUA, 40), (CHANGAN, 60)), period=YEAR, level="village",
            parent="370402001000", district_code="370402000000", now=NOW, plan_due_days=30, reward_count=1,
        )
        assert [(r["unit_code"], r["reward"]) for r in published.payload["rows"]] == [
            (JIANSHE, True), (CHANGAN, False), (XINHUA, False)
        ]

    def test_a_vetoed_unit_or_a_lone_one_is_never_rewarded(self):
        vetoed = ranked([unit_score(JIANSHE, {"free_pregnancy_checks": (100, 100)}, RULES, {}, True),
                         unit_score(XINHUA, {"free_pregnancy_checks": (40, 100)}, RULES, {}, False)])
        assert rewarded(vetoed, 1) == {XINHUA}
        assert rewarded(rows((JIANSHE, 90)), 1) == set()
        assert rewarded(rows((JIANSHE, 90), (XINHUA, 40)), 0) == set()


class TestPublication:
    def test_the_bottom_unit_is_ordered_to_rectify(self):
        events = publish(fold([]), rows((JIANSHE, 90), (XINHUA, 40)))
        assert [e.event_type for e in events] == ["RankingPublished", "RectificationRequired"]
        for event in events:
            catalogue.validate(event)
        order = events[1]
        assert order.payload["unit_code"] == XINHUA and order.payload["plan_due"] == "2014-02-09"
        assert order.causation_id == events[0].event_id

    def test_an_unfinished_order_is_not_given_twice_but_a_new_one_after_its_check(self):
        first = publish(fold([]), rows((JIANSHE, 90), (XINHUA, 40)))
        again = publish(fold(first), rows((JIANSHE, 90), (XINHUA, 40)))
        assert [e.event_type for e in again] == ["RankingPublished"]
        assert again[0].stream_version == 2
        plan = decide_plan(fold(first + again), unit_code=XINHUA, period=YEAR, summary="整改方案", now=NOW, documents=DOCUMENTS)
        history = [*first, *again, plan]
        assert [e.event_type for e in publish(fold(history), rows((JIANSHE, 90), (XINHUA, 40)))] == ["RankingPublished"]
        history.append(decide_review(fold(history), unit_code=XINHUA, period=YEAR, accept=True, reasons=["可行"],
                                     due=date(2014, 3, 1), decided_by="区中心", now=NOW))
        history.append(decide_check(fold(history), unit_code=XINHUA, period=YEAR, rectified=True, findings="已整改",
                                    checked_by="区中心", now=NOW))
        third = publish(fold(history), rows((JIANSHE, 90), (XINHUA, 40)))
        assert [e.event_type for e in third] == ["RankingPublished", "RectificationRequired"]
        assert third[1].stream_version == 5  # required, plan, accepted, checked, required again


class TestPlan:
    def test_a_plan_clears_the_order(self):
        events = publish(fold([]), rows((JIANSHE, 90), (CHANGAN, 40)))
        plan = decide_plan(fold(events), unit_code=CHANGAN, period=YEAR, summary="书面检查汇报与整改方案", now=NOW, documents=DOCUMENTS)
        catalogue.validate(plan)
        assert not fold([*events, plan]).rectification(CHANGAN, "2013").is_open

    def test_a_plan_without_an_order_is_refused(self):
        with pytest.raises(Conflict, match="no rectification order") as refused:
            decide_plan(fold([]), unit_code=CHANGAN, period=YEAR, summary="x", now=NOW)
        # the unit exists; the decision cannot be taken without an open order (docs/assessment.md: 409)
        assert (refused.value.status, refused.value.field) == (409, "unit_code")

    def test_a_second_plan_for_the_same_order_is_refused(self):
        events = publish(fold([]), rows((JIANSHE, 90), (CHANGAN, 40)))
        plan = decide_plan(fold(events), unit_code=CHANGAN, period=YEAR, summary="整改方案", now=NOW, documents=DOCUMENTS)
        with pytest.raises(Conflict, match="owes no plan") as refused:
            decide_plan(fold([*events, plan]), unit_code=CHANGAN, period=YEAR, summary="again", now=NOW, documents=DOCUMENTS)
        assert refused.value.status == 409
