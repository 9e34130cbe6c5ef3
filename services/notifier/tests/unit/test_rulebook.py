"""The rules file: readable, checked against the contract, and refusing what it cannot mean."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from platform_kit.contract import catalogue

from notifier.domain.checks import problems, unbound_event_types
from notifier.domain.rulebook import Rulebook, load_rulebook


def test_every_fact_the_rules_name_is_carried_by_the_events_that_trigger_them():
    assert problems(load_rulebook(), catalogue) == []


def test_every_event_type_the_rules_bind_to_is_in_the_contract():
    assert unbound_event_types(load_rulebook(), catalogue) == set()


def test_the_rules_cover_inflow_reminders_verification_and_assessment():
    book = load_rulebook()
    assert {n.name for n in book.notices} >= {"inflow", "outflow", "birth_discrepancy"}
    assert {w.name for w in book.watches} >= {
        "pregnancy_check", "contraceptive_follow_up", "pre_pregnancy_check",
        "verification_outgoing", "verification_incoming", "rectification_order",
    }


def test_a_misspelt_fact_in_a_text_is_found():
    book = Rulebook.model_validate(
        {"notice": [{"name": "inflow", "title": "流入告知", "on": ["ResidentMoved"], "to": ["unit:to_unit"],
                     "text": "居民 {resident_idd} 已迁入"}]}
    )
    assert problems(book, catalogue) == ["inflow: {resident_idd} is not a fact of ResidentMoved"]


def test_a_rule_bound_to_an_event_type_the_contract_lacks_is_reported_not_refused():
    book = Rulebook.model_validate(
        {"notice": [{"name": "future", "title": "未来", "on": ["SomethingNew"], "to": ["district"], "text": "{x}"}]}
    )
    assert unbound_event_types(book, catalogue) == {"SomethingNew"}
    assert problems(book, catalogue) == []


@pytest.mark.parametrize(
    ("rule", "complaint"),
    [
        ({"to": ["mayor"]}, "recipient 'mayor'"),
        ({"text": "居民 {resident.id}"}, "only plain names"),
        ({"on": ["residentMoved"]}, "String should match pattern"),
    ],
)
def test_a_notice_that_cannot_mean_anything_is_refused_with_the_reason(rule, complaint):
    notice = {"name": "inflow", "title": "流入告知", "on": ["ResidentMoved"], "to": ["unit:to_unit"], "text": "迁入"}
    with pytest.raises(ValidationError, match=complaint):
        Rulebook.model_validate({"notice": [notice | rule]})


def test_a_watch_needs_a_due_date_it_can_compute():
    watch = {"name": "w", "title": "W", "opened_by": ["ResidentMoved"], "subject": "{resident_id}",
             "due": "next tuesday", "step": [{"at": -1, "to": ["district"], "text": "t"}]}
    with pytest.raises(ValidationError, match="due 'next tuesday'"):
        Rulebook.model_validate({"watch": [watch]})


def test_a_quarterly_watch_must_be_about_a_quarter():
    watch = {"name": "w", "title": "W", "opened_by": ["ResidentMoved"], "subject": "{resident_id}",
             "due": "end_of_quarter", "repeat": "quarterly", "step": [{"at": -1, "to": ["district"], "text": "t"}]}
    with pytest.raises(ValidationError, match="must name {quarter}"):
        Rulebook.model_validate({"watch": [watch]})


def test_two_rules_cannot_share_a_name():
    notice = {"name": "inflow", "title": "流入告知", "on": ["ResidentMoved"], "to": ["unit:to_unit"], "text": "迁入"}
    with pytest.raises(ValidationError, match="unique: inflow"):
        Rulebook.model_validate({"notice": [notice, notice]})
