"""协查 between places, rectification orders that escalate, and births never reported."""

from __future__ import annotations

import uuid
from datetime import date

from notifier_rules import decided, pending, planned, told
from notifier_story import CHANGAN, DISTRICT, GETABU, JIANSHE, TENGZHOU, ZHONGXIN, Story, at


def steps(plan, rule: str) -> dict[int, tuple[str, ...]]:
    return {t.at: t.recipients for t in pending(plan, rule)}


class TestVerificationRequests:
    def test_an_outgoing_request_asks_the_other_place_reminds_it_and_tells_town_and_district_when_late(self):
        story, her = Story(), uuid.uuid4()
        _, asked = story.verification_requested(
            her, JIANSHE, at("2013-12-03"), direction="outgoing", due_on=date(2014, 1, 2)
        )

        decision = decided(asked)

        assert "请于2014年1月2日前回复" in told(decision)[f"place:{TENGZHOU}"]
        assert steps(decision, "verification_outgoing") == {
            -3: (f"place:{TENGZHOU}",),
            1: (f"unit:{JIANSHE}", f"unit:{ZHONGXIN}", f"unit:{DISTRICT}"),
        }
        fire_at = {t.fire_at for t in pending(decision, "verification_outgoing")}
        assert fire_at == {at("2013-12-30", 9), at("2014-01-03", 9)}

    def test_an_incoming_request_asks_the_unit_and_its_lateness_goes_to_its_town_and_the_district(self):
        story, her = Story(), uuid.uuid4()
        _, asked = story.verification_requested(
            her, CHANGAN, at("2013-12-03"), direction="incoming", due_on=date(2013, 12, 10),
            kind="marriage_childbearing_certificate",
        )

        decision = decided(asked)

        assert "婚育证明" in told(decision)[f"unit:{CHANGAN}"]
        assert steps(decision, "verification_incoming")[1] == (f"unit:{GETABU}", f"unit:{DISTRICT}")

    def test_the_reply_closes_the_request(self):
        story, her = Story(), uuid.uuid4()
        request, asked = story.verification_requested(her, JIANSHE, at("2013-12-03"), direction="outgoing",
                                                      due_on=date(2014, 1, 2))

        plan = planned(asked, story.verification_replied(request, her, JIANSHE, at("2013-12-20")))

        assert pending(plan, "verification_outgoing") == []


class TestRectification:
    def test_the_order_goes_to_the_unit_with_its_deadline_and_escalates_to_the_town_then_the_district(self):
        story = Story()
        order = story.rectification_required(JIANSHE, "2013", date(2014, 1, 15), at("2013-12-20"))

        decision = decided(order)

        assert "请于2014年1月15日前提交书面检查汇报和整改方案" in told(decision)[f"unit:{JIANSHE}"]
        assert steps(decision, "rectification_order") == {
            -3: (f"unit:{JIANSHE}",), 1: (f"unit:{ZHONGXIN}",), 8: (f"unit:{DISTRICT}",)
        }
        assert {t.at: t.fire_at for t in pending(decision, "rectification_order")}[1] == at("2014-01-16", 9)

    def test_a_town_under_rectification_escalates_straight_to_the_district(self):
        story = Story()
        decision = decided(story.rectification_required(GETABU, "2013", date(2014, 1, 15), at("2013-12-20")))

        assert steps(decision, "rectification_order")[1] == (f"unit:{DISTRICT}",)

    def test_a_submitted_plan_stops_the_escalation(self):
        story = Story()
        plan = planned(
            story.rectification_required(JIANSHE, "2013", date(2014, 1, 15), at("2013-12-20")),
            story.rectification_plan_submitted(JIANSHE, "2013", at("2014-01-10")),
        )

        assert pending(plan, "rectification_order") == []


def test_a_birth_never_reported_alerts_the_town_and_the_district():
    story, mother = Story(), uuid.uuid4()

    notices = told(decided(story.birth_discrepancy_found(JIANSHE, at("2013-11-05"), mother=mother)))

    assert set(notices) == {f"unit:{ZHONGXIN}", f"unit:{DISTRICT}"}
    assert f"母亲居民编号 {mother}" in notices[f"unit:{DISTRICT}"] and "清理清查" in notices[f"unit:{DISTRICT}"]
