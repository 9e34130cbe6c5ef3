"""The rectification cycle, decided on the events alone: a plan needs both documents, the
district returns it (due again) or accepts it (a check date), the check closes the order; each
step only from the status before it (docs/rectification.md)."""

from __future__ import annotations

from datetime import date

import pytest

from assessment.domain.decisions import decide_check, decide_plan, decide_publication, decide_review, fold
from assessment.domain.periods import Period
from assessment.domain.scoring import ranked, unit_score
from assessment.settings import DEFAULT_RULES, load_rules
from assessment_examples import JIANSHE, XINHUA
from assessment_testing import instant
from platform_kit.contract import catalogue
from platform_kit.problems import Conflict, Refusal

RULES = load_rules(DEFAULT_RULES)
NOW = instant("2014-01-10")
YEAR = Period.parse("2013")
REPORT = {"kind": "written_report", "name": "书面检查汇报.pdf", "media_type": "application/pdf",
          "sha256": "a" * 64, "size": 2048, "reference": "assessment:documents/" + "a" * 64}
PLAN = REPORT | {"kind": "rectification_plan", "name": "整改方案.docx", "sha256": "b" * 64,
                 "media_type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def ordered() -> list:
    rows = ranked([unit_score(c, {"free_pregnancy_checks": (p, 100)}, RULES, {}, False) for c, p in ((JIANSHE, 90), (XINHUA, 40))])
    return decide_publication(fold([]), rows, period=YEAR, level="village", parent="370402001000",
                              district_code="370402000000", now=NOW, plan_due_days=30)


def submit(history: list, **overrides):
    args = {"unit_code": XINHUA, "period": YEAR, "summary": "整改", "now": NOW, "documents": [REPORT, PLAN]} | overrides
    return decide_plan(fold(history), **args)


def review(history: list, accept: bool, due: date = date(2014, 2, 1), **overrides):
    args = {"unit_code": XINHUA, "period": YEAR, "accept": accept, "reasons": ["理由"], "due": due,
            "decided_by": "区中心", "now": NOW} | overrides
    return decide_review(fold(history), **args)


def check(history: list):
    return decide_check(fold(history), unit_code=XINHUA, period=YEAR, rectified=True, findings="已整改", checked_by="区中心", now=NOW)


def test_submitted_returned_resubmitted_accepted_checked():
    history = ordered()
    assert fold(history).rectification(XINHUA, "2013").status == "open"
    history.append(submit(history))
    history.append(review(history, accept=False, due=date(2014, 1, 25), reasons=["整改措施不具体"]))
    order = fold(history).rectification(XINHUA, "2013")
    assert (order.status, order.round, order.plan_due, order.next_deadline) == ("returned", 2, date(2014, 1, 25), date(2014, 1, 25))
    assert order.is_open
    history.append(submit(history))
    assert history[-1].payload["round"] == 2
    history.append(review(history, accept=True, due=date(2014, 3, 10)))
    order = fold(history).rectification(XINHUA, "2013")
    assert (order.status, order.check_due, order.next_deadline) == ("accepted", date(2014, 3, 10), date(2014, 3, 10))
    history.append(check(history))
    order = fold(history).rectification(XINHUA, "2013")
    assert (order.status, order.check_result, order.next_deadline, order.is_closed) == ("checked", "rectified", None, True)
    assert [h["event_type"] for h in order.history] == [
        "RectificationPlanSubmitted", "RectificationPlanReturned", "RectificationPlanSubmitted",
        "RectificationPlanAccepted", "RectificationChecked",
    ]
    assert [e.stream_version for e in history[1:]] == [1, 2, 3, 4, 5, 6]
    for event in history:
        catalogue.validate(event)


def test_a_plan_without_the_written_report_is_refused_naming_what_is_missing():
    with pytest.raises(Refusal, match="missing written_report") as refused:
        submit(ordered(), documents=[PLAN])
    assert (refused.value.status, refused.value.field) == (422, "documents")


def test_each_step_only_from_the_status_before_it():
    history = ordered()
    with pytest.raises(Conflict, match="no plan awaiting review"):
        review(history, accept=True)
    with pytest.raises(Conflict, match="no accepted plan to check"):
        check(history)
    history.append(submit(history))
    with pytest.raises(Conflict, match="owes no plan"):
        submit(history)
    with pytest.raises(Conflict, match="no accepted plan to check"):
        check(history)
    history.append(review(history, accept=True))
    with pytest.raises(Conflict, match="no plan awaiting review"):
        review(history, accept=False)


def test_a_due_date_that_is_not_in_the_future_is_refused():
    history = ordered()
    history.append(submit(history))
    with pytest.raises(Refusal, match="not after today") as refused:
        review(history, accept=False, due=date(2014, 1, 10))
    assert refused.value.field == "due"
