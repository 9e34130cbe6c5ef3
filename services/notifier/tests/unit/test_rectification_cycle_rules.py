"""The notifier's rules for the rectification cycle and the announced ranking: a returned plan
is due again (reasons told, reminded, escalated) until handed in; an accepted one waits for its
check; the check's result is told; each unit of a ranking hears its own place."""

from __future__ import annotations

from datetime import date

from notifier_rules import decided, pending, planned, told
from notifier_story import CHANGAN, DISTRICT, JIANSHE, ZHONGXIN, Story, at


def returned(story: Story, when, plan_due: date):
    return story._event(
        "RectificationPlanReturned", f"rectification-{JIANSHE}-2013", JIANSHE, "assessment", when,
        unit_code=JIANSHE, period="2013", round=1, reasons=["措施不具体", "未落实到人"], plan_due=plan_due.isoformat(),
        decided_by="区中心",
    )


def accepted(story: Story, when, check_due: date):
    return story._event(
        "RectificationPlanAccepted", f"rectification-{JIANSHE}-2013", JIANSHE, "assessment", when,
        unit_code=JIANSHE, period="2013", round=2, reasons=["可行"], check_due=check_due.isoformat(), decided_by="区中心",
    )


def test_a_returned_plan_tells_the_reasons_and_is_due_again_until_handed_in():
    story = Story()
    back = returned(story, at("2014-01-20"), date(2014, 2, 5))
    decision = decided(back)
    assert "措施不具体；未落实到人" in told(decision)[f"unit:{JIANSHE}"]
    assert "2014年2月5日前重新提交" in told(decision)[f"unit:{JIANSHE}"]
    assert {t.at: t.recipients for t in pending(decision, "rectification_resubmission")} == {
        -3: (f"unit:{JIANSHE}",), 1: (f"unit:{ZHONGXIN}", f"unit:{DISTRICT}"),
    }
    plan = planned(back, story.rectification_plan_submitted(JIANSHE, "2013", at("2014-01-30")))
    assert pending(plan, "rectification_resubmission") == []


def test_an_accepted_plan_waits_for_its_check_and_the_result_is_told():
    story = Story()
    ok = accepted(story, at("2014-02-10"), date(2014, 4, 10))
    decision = decided(ok)
    assert "2014年4月10日前复查" in told(decision)[f"unit:{JIANSHE}"]
    checked = story._event(
        "RectificationChecked", f"rectification-{JIANSHE}-2013", JIANSHE, "assessment", at("2014-04-01"),
        unit_code=JIANSHE, period="2013", result="rectified", findings="台账齐全", checked_by="区中心",
    )
    plan = planned(ok, checked)
    assert pending(plan, "rectification_check") == []
    assert "已整改到位" in told(decided(checked))[f"unit:{ZHONGXIN}"]


def test_every_unit_of_a_ranking_hears_its_own_place_and_the_top_its_reward():
    story = Story()
    rows = [
        {"rank": 1, "unit_code": JIANSHE, "score": 92.5, "veto": False, "attainment": 92.5, "penalty": 0.0,
         "assessed": True, "of": 2, "reward": True},
        {"rank": 2, "unit_code": CHANGAN, "score": 55.0, "veto": False, "attainment": 60.0, "penalty": 5.0,
         "assessed": True, "of": 2, "reward": False},
    ]
    ranking = story._event("RankingPublished", "ranking-2013-village", DISTRICT, "assessment", at("2014-01-06"),
                           period="2013", level="village", parent_unit=None, rows=rows)
    notices = told(decided(ranking))
    assert set(notices) == {f"unit:{JIANSHE}", f"unit:{CHANGAN}"}
    assert "第1名（共2个单位），得分92.5" in notices[f"unit:{JIANSHE}"] and "予以奖励" in notices[f"unit:{JIANSHE}"]
    assert "第2名" in notices[f"unit:{CHANGAN}"] and "扣5.0分" in notices[f"unit:{CHANGAN}"]
    assert "奖励" not in notices[f"unit:{CHANGAN}"]
