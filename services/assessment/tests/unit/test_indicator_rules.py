"""The rules file: the document's eight indicators and targets by default, and a mistake in
it stops the service rather than miscounting."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from assessment.domain.policy import Rules
from assessment.settings import DEFAULT_RULES, load_rules

DOCUMENT_TARGETS = {  # /work/shared/DOMAIN.md, "The indicators and their targets"
    "policy_awareness": ("计划生育政策知晓率", 0.90),
    "free_contraceptives": ("避孕药具免费发放覆盖率", 1.00),
    "services_where_they_live": ("流入地免费服务率", 0.95),
    "free_pregnancy_checks": ("免费孕检率", 0.90),
    "pre_pregnancy_consultation": ("孕前优生咨询服务率", 0.90),
    "pre_pregnancy_health_check": ("孕前健康检查率", 0.90),
    "reproductive_health_awareness": ("生殖健康知识知晓率", 0.90),
    "compulsory_education_enrolment": ("子女义务教育入学率", 1.00),
}


def test_the_default_rules_are_the_documents_eight_indicators_and_targets():
    rules = load_rules(DEFAULT_RULES)
    assert {i.id: (i.name_zh, i.target) for i in rules.indicators} == DOCUMENT_TARGETS


def test_the_weights_add_up_to_one_hundred():
    assert sum(i.weight for i in load_rules(DEFAULT_RULES).indicators) == 100


def test_unreported_births_and_late_verification_replies_are_penalised():
    rules = load_rules(DEFAULT_RULES)
    assert rules.penalty_for("BirthDiscrepancyFound", {}).points == 5.0
    assert rules.penalty_for("ServiceDelivered", {}) is None


class TestLateVerificationReplies:
    asked_us = [("VerificationRequested", {"direction": "incoming", "kind": "current_pregnancy"})]
    we_asked = [("VerificationRequested", {"direction": "outgoing", "kind": "current_pregnancy"})]

    def test_a_late_reply_the_district_owed_is_penalised(self):
        rules = load_rules(DEFAULT_RULES)
        assert rules.penalty_for("VerificationReplied", {"days_late": 3}, self.asked_us).id == "late_verification_reply"

    def test_a_reply_by_the_deadline_is_not(self):
        assert load_rules(DEFAULT_RULES).penalty_for("VerificationReplied", {"days_late": 0}, self.asked_us) is None

    def test_another_places_late_reply_to_our_request_is_not_ours(self):
        assert load_rules(DEFAULT_RULES).penalty_for("VerificationReplied", {"days_late": 3}, self.we_asked) is None


def _rules(**indicator) -> dict:
    base = {"id": "x", "name_zh": "x", "name_en": "x", "denominator": "migrants", "numerator": "received:pregnancy_check",
            "target": 0.9, "weight": 1}
    return {"assessment": {"years": [2013]}, "indicator": [base | indicator]}


@pytest.mark.parametrize(
    "indicator, reason",
    [
        ({"denominator": "married_woman"}, "denominator: unknown rule 'married_woman'"),
        ({"numerator": "received:massage"}, "numerator: rule 'received' needs one of"),
        ({"numerator": "enrolled:yes"}, "numerator: rule 'enrolled' takes no argument"),
        ({"target": 1.5}, "less than or equal to 1"),
    ],
)
def test_a_mistake_in_the_rules_is_refused_with_its_reason(indicator, reason):
    with pytest.raises(ValidationError, match=reason):
        Rules.model_validate(_rules(**indicator))


def test_a_penalty_can_be_limited_to_events_with_certain_values():
    rules = Rules.model_validate(
        _rules() | {"penalty": [{"id": "late", "name_zh": "逾期", "name_en": "late", "event_type": "VerificationReplied",
                                 "points": 1, "where": {"late": True, "days": {"ge": 7}}}]}
    )
    assert rules.penalty_for("VerificationReplied", {"late": True, "days": 7}).id == "late"
    assert rules.penalty_for("VerificationReplied", {"late": True, "days": 6}) is None
    assert rules.penalty_for("VerificationReplied", {"late": False, "days": 9}) is None


class TestEveryNumberSaysWhereItComesFrom:
    """The document gives the targets; weights, penalties, bands, bottom_count, the plan
    deadline, the school-entry cut-off and the checks' frequency are the district's own."""

    def test_each_target_quotes_the_document_and_each_weight_is_a_local_assumption(self):
        from assessment.settings import DEFAULT_RULES, load_rules

        rules = load_rules(DEFAULT_RULES)
        for i in rules.indicators:
            assert "(the document, line" in i.target_source, i.id
            assert f"{round(i.target * 100)}%" in i.target_source or "全覆盖" in i.target_source, i.id
            assert i.weight_source == "local assumption", i.id
        assert rules.by_id["compulsory_education_enrolment"].rule_source.startswith("local assumption")
        assert rules.by_id["free_pregnancy_checks"].rule_source.startswith("local assumption")

    def test_penalties_bands_and_rectification_numbers_are_local_assumptions(self):
        from assessment.settings import DEFAULT_RULES, load_rules

        rules = load_rules(DEFAULT_RULES)
        assert all(p.source == "local assumption" for p in rules.penalties)
        assert rules.bands.source == "local assumption"
        assert rules.rectification.bottom_count_source == "local assumption"
        assert rules.rectification.plan_due_days_source == "local assumption"
        assert "末位" in rules.rectification.source and "一票否决" in rules.veto.source
