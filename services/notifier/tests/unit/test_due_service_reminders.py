"""Due-service reminders on business time: the quarterly pregnancy check, the follow-up visit
after contraceptives, the pre-pregnancy check after a plan. A reminder that became pointless
is cancelled, not sent."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date

from notifier_rules import BOOK, TREE, decided, known_after, pending, planned, told
from notifier_story import CHANGAN, JIANSHE, Story, at

from notifier.domain.decisions import fire
from notifier.domain.model import ROLLOVER


class TestQuarterlyPregnancyCheck:
    def test_is_due_by_the_end_of_the_quarter_and_reminded_two_weeks_before(self):
        story, her = Story(), uuid.uuid4()
        plan = planned(story.registered(her, JIANSHE, at("2013-11-20")))

        reminders = [t for t in pending(plan, "pregnancy_check") if t.step != ROLLOVER]

        assert {t.fire_at for t in reminders} == {at("2013-12-17", 9)}
        assert {r for t in reminders for r in t.recipients} == {f"unit:{JIANSHE}", f"resident:{her}"}
        assert all("2013年第4季度的免费孕检尚未完成，请于2013年12月31日前" in t.text for t in reminders)

    def test_a_check_delivered_closes_the_quarters_reminders_and_the_next_quarter_is_still_watched(self):
        story, her = Story(), uuid.uuid4()
        plan = planned(
            story.registered(her, JIANSHE, at("2013-11-20")),
            story.service_delivered("pregnancy_check", her, JIANSHE, at("2013-12-02")),
        )

        assert {t.stopped_reason for t in plan.timers if t.state == "closed"} == {"ServiceDelivered: done"}
        assert [(t.subject, t.step) for t in pending(plan, "pregnancy_check")] == [(f"{her}@2013-Q4", ROLLOVER)]

    def test_a_quarter_that_ends_without_a_check_rolls_over_to_the_next(self):
        story, her = Story(), uuid.uuid4()
        registered = story.registered(her, JIANSHE, at("2013-11-20"))
        rollover = next(t for t in pending(planned(registered), "pregnancy_check") if t.step == ROLLOVER)

        turned = fire(rollover, known_after(registered), at("2014-01-01", 0), BOOK, TREE)

        assert rollover.fire_at == at("2014-01-01", 0)
        assert {t.subject for t in turned.timers} == {f"{her}@2014-Q1"}

    def test_moving_away_cancels_the_old_units_reminder_and_the_new_unit_gets_its_own(self):
        story, her = Story(), uuid.uuid4()
        plan = planned(
            story.registered(her, JIANSHE, at("2013-11-20")),
            story.moved(her, JIANSHE, CHANGAN, at("2013-12-01")),
        )

        cancelled = [t for t in plan.timers if t.state == "cancelled"]
        assert cancelled and all(t.stopped_reason == "ResidentMoved: no longer pointed at this unit" for t in cancelled)
        reminded = {r for t in pending(plan, "pregnancy_check") for r in t.recipients}
        assert reminded == {f"unit:{CHANGAN}", f"resident:{her}"}

    def test_leaving_the_district_cancels_every_reminder(self):
        story, her = Story(), uuid.uuid4()
        plan = planned(
            story.registered(her, JIANSHE, at("2013-11-20")),
            story.service_delivered("free_contraceptives", her, JIANSHE, at("2013-11-21")),
            story.departed(her, JIANSHE, at("2013-11-25")),
        )

        assert [t for t in plan.timers if t.state == "pending"] == []

    def test_a_divorce_cancels_the_pregnancy_check(self):
        story, her = Story(), uuid.uuid4()
        plan = planned(
            story.registered(her, JIANSHE, at("2013-11-20")),
            story.marital_status_changed(her, JIANSHE, at("2013-11-28"), "married", "divorced"),
        )

        assert pending(plan, "pregnancy_check") == []

    def test_a_marriage_starts_it(self):
        story, her = Story(), uuid.uuid4()
        plan = planned(
            story.registered(her, JIANSHE, at("2013-10-08"), marital_status="unmarried"),
            story.marital_status_changed(her, JIANSHE, at("2013-11-28"), "unmarried", "married"),
        )

        assert {t.subject for t in pending(plan, "pregnancy_check")} == {f"{her}@2013-Q4"}

    def test_a_woman_past_childbearing_age_has_none(self):
        story = Story()
        plan = planned(story.registered(uuid.uuid4(), JIANSHE, at("2013-11-20"), born=date(1960, 1, 1)))

        assert pending(plan, "pregnancy_check") == []


class TestOrderOfArrival:
    """The notifier reads three topics: what happened decides, not what arrived first."""

    def test_a_check_that_arrives_before_the_registration_it_follows_still_closes_the_reminder(self):
        story, her = Story(), uuid.uuid4()
        registered = story.registered(her, JIANSHE, at("2013-11-20"))
        checked = story.service_delivered("pregnancy_check", her, JIANSHE, at("2013-12-02"))

        plan = planned(checked, registered)

        assert [t.step for t in pending(plan, "pregnancy_check")] == [ROLLOVER]

    def test_contraceptives_learnt_of_after_a_later_move_remind_no_one(self):
        story, her = Story(), uuid.uuid4()
        registered = story.registered(her, JIANSHE, at("2013-11-20"))
        contraceptives = story.service_delivered("free_contraceptives", her, JIANSHE, at("2013-12-03"))
        moved = story.moved(her, JIANSHE, CHANGAN, at("2013-12-10"))

        assert pending(planned(registered, moved, contraceptives), "contraceptive_follow_up") == []
        assert pending(planned(registered, contraceptives, moved), "contraceptive_follow_up") == []

    def test_contraceptives_after_a_move_are_the_new_units_to_follow_up(self):
        story, her = Story(), uuid.uuid4()
        plan = planned(
            story.registered(her, JIANSHE, at("2013-11-20")),
            story.moved(her, JIANSHE, CHANGAN, at("2013-12-10")),
            story.service_delivered("free_contraceptives", her, CHANGAN, at("2013-12-12")),
        )

        assert [t.recipients for t in pending(plan, "contraceptive_follow_up")] == [(f"unit:{CHANGAN}",)]

    def test_an_old_visit_recorded_late_does_not_close_a_newer_follow_up(self):
        story, her = Story(), uuid.uuid4()
        plan = planned(
            story.registered(her, JIANSHE, at("2013-11-20")),
            story.service_delivered("free_contraceptives", her, JIANSHE, at("2013-12-03")),
            story.service_delivered("follow_up_visit", her, JIANSHE, at("2013-11-25")),
        )

        assert len(pending(plan, "contraceptive_follow_up")) == 1


class TestContraceptiveFollowUp:
    def test_is_due_thirty_days_after_the_contraceptives_and_reminded_three_days_before(self):
        story, her = Story(), uuid.uuid4()
        plan = planned(
            story.registered(her, JIANSHE, at("2013-11-20")),
            story.service_delivered("free_contraceptives", her, JIANSHE, at("2013-12-03")),
        )

        [reminder] = pending(plan, "contraceptive_follow_up")
        assert reminder.fire_at == at("2013-12-30", 9)  # due 2014-01-02
        assert reminder.recipients == (f"unit:{JIANSHE}",)
        assert "请于2014年1月2日前完成随访" in reminder.text

    def test_the_follow_up_visit_closes_it(self):
        story, her = Story(), uuid.uuid4()
        plan = planned(
            story.registered(her, JIANSHE, at("2013-11-20")),
            story.service_delivered("free_contraceptives", her, JIANSHE, at("2013-12-03")),
            story.service_delivered("follow_up_visit", her, JIANSHE, at("2013-12-20")),
        )

        assert pending(plan, "contraceptive_follow_up") == []

    def test_moving_away_cancels_it(self):
        story, her = Story(), uuid.uuid4()
        plan = planned(
            story.registered(her, JIANSHE, at("2013-11-20")),
            story.service_delivered("free_contraceptives", her, JIANSHE, at("2013-12-03")),
            story.moved(her, JIANSHE, CHANGAN, at("2013-12-10")),
        )

        assert pending(plan, "contraceptive_follow_up") == []

    def test_a_household_service_without_a_named_resident_opens_nothing(self):
        story = Story()
        plan = planned(story.service_delivered("free_contraceptives", None, JIANSHE, at("2013-12-03")))

        assert plan.timers == []


class TestPrePregnancyCheck:
    def test_a_declared_plan_tells_the_unit_at_once_and_reminds_before_the_planned_date(self):
        story, her = Story(), uuid.uuid4()
        registered = story.registered(her, JIANSHE, at("2013-11-20"))
        plan_declared = story.pregnancy_planned(her, JIANSHE, at("2013-12-03"), date(2014, 3, 1))

        decision = decided(plan_declared, known_after(registered))

        assert "计划自2014年3月1日起怀孕" in told(decision, "pre_pregnancy_check")[f"unit:{JIANSHE}"]
        [reminder] = pending(decision, "pre_pregnancy_check")
        assert reminder.fire_at == at("2014-02-15", 9)

    def test_the_health_check_closes_it_and_a_birth_cancels_it(self):
        story, her, other = Story(), uuid.uuid4(), uuid.uuid4()
        plan = planned(
            story.registered(her, JIANSHE, at("2013-11-20")),
            story.pregnancy_planned(her, JIANSHE, at("2013-12-03"), date(2014, 3, 1)),
            story.service_delivered("pre_pregnancy_health_check", her, JIANSHE, at("2013-12-20")),
            story.registered(other, JIANSHE, at("2013-11-20")),
            story.pregnancy_planned(other, JIANSHE, at("2013-12-03"), date(2014, 3, 1)),
        )

        assert [t.resident_id for t in pending(plan, "pre_pregnancy_check")] == [other]


class TestFiring:
    def test_a_reminder_is_sent_to_each_of_its_recipients_when_its_time_comes(self):
        story, her = Story(), uuid.uuid4()
        registered = story.registered(her, JIANSHE, at("2013-11-20"))
        reminder = next(t for t in pending(planned(registered), "pregnancy_check") if t.step == 0)

        fired = fire(reminder, known_after(registered), at("2013-12-17", 9), BOOK, TREE)

        assert told(fired) == {f"unit:{JIANSHE}": reminder.text}
        assert fired.notifications[0].cause.event_id == registered.event_id  # traceable to what caused it

    def test_a_reminder_whose_due_date_has_passed_is_not_sent(self):
        story, her = Story(), uuid.uuid4()
        registered = story.registered(her, JIANSHE, at("2013-11-20"))
        reminder = next(t for t in pending(planned(registered), "pregnancy_check") if t.step == 0)

        assert fire(reminder, known_after(registered), at("2014-01-01", 0), BOOK, TREE).notifications == []

    def test_an_escalation_after_the_due_date_is_sent_however_late(self):
        story = Story()
        order = story.rectification_required(JIANSHE, "2013", date(2014, 1, 15), at("2013-12-20"))
        escalation = next(t for t in pending(planned(order), "rectification_order") if t.at == 1)

        assert fire(escalation, None, at("2014-06-01"), BOOK, TREE).notifications != []

    def test_the_same_timer_fired_twice_makes_the_same_notification(self):
        story = Story()
        order = story.rectification_required(JIANSHE, "2013", date(2014, 1, 15), at("2013-12-20"))
        escalation = next(t for t in pending(planned(order), "rectification_order") if t.at == 1)

        first = fire(escalation, None, at("2014-01-16", 9), BOOK, TREE).notifications
        again = fire(replace(escalation), None, at("2014-01-17", 9), BOOK, TREE).notifications

        assert [n.notification_id for n in first] == [n.notification_id for n in again]
