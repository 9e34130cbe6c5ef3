"""The registry's corrections make the facts the notifier keeps of a person right: a wrong
birth date or marital status corrected, the next decision about her reads the right one."""

from __future__ import annotations

import uuid
from datetime import date

from notifier_story import JIANSHE, XINHUA, Story, at

from platform_kit.units import unit_tree

from notifier.domain.facts import next_resident
from notifier.domain.planner import Planner
from notifier.domain.rulebook import load_rulebook


def correction(story: Story, registered, unit: str, **right):
    p = registered.payload
    fields = {k: p[k] for k in ("unit_code", "sex", "birth_date", "marital_status", "population")} | right
    return story._event(
        "ResidentRecordCorrected", registered.stream_id, unit, "registry", registered.occurred_at,
        resident_id=p["resident_id"], corrects=str(registered.event_id), corrected_type="ResidentRegistered",
        reason="清理清查核实，录入错误", changed=sorted(right), happened_at=registered.occurred_at.isoformat(), **fields,
    )


def test_a_corrected_birth_date_and_status_are_what_the_next_decision_reads():
    story, her = Story(), uuid.uuid4()
    registered = story.registered(her, JIANSHE, at("2013-03-01"), born=date(1960, 1, 1), marital_status="unmarried")
    corrected = correction(story, registered, JIANSHE, birth_date="1988-01-01", marital_status="married")
    known = next_resident(corrected, next_resident(registered, None))
    assert (known.birth_date, known.marital_status, known.unit_code) == (date(1988, 1, 1), "married", JIANSHE)

    book = load_rulebook(None)
    planner = Planner(book, unit_tree(), {})
    for event in (registered, corrected, story.moved(her, JIANSHE, XINHUA, at("2013-05-01"))):
        planner.take(event)
    inflow = [n for n in planner.result().notifications if n.rule == "inflow" and n.cause.unit_code == XINHUA]
    # Married, 25: the inflow notice lists the free pregnancy check (it did not for an unmarried woman of 53).
    assert inflow and "每季度免费孕检" in inflow[0].text
    assert any(t.rule == "pregnancy_check" for t in planner.result().timers)
