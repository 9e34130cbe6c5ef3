"""属地化管理: the unit a migrant now lives in is told who arrived and which free services are
due; the unit they left is told too. By resident id, never personal data."""

from __future__ import annotations

import uuid
from datetime import date

from notifier_rules import decided, known_after, told
from notifier_story import CHANGAN, JIANSHE, TENGZHOU, Story, at


def test_a_married_woman_registering_is_announced_to_her_unit_with_the_services_now_due():
    story, her = Story(), uuid.uuid4()
    registered = story.registered(her, JIANSHE, at("2013-12-03"))

    notices = told(decided(registered), "inflow")

    assert list(notices) == [f"unit:{JIANSHE}"]
    text = notices[f"unit:{JIANSHE}"]
    assert f"居民编号 {her}" in text and "2013年12月3日登记入住建设社区" in text
    assert "避孕药具免费发放" in text and "每季度免费孕检" in text


def test_the_notice_carries_no_personal_data():
    story, her = Story(), uuid.uuid4()
    registered = story.registered(her, JIANSHE, at("2013-12-03"))
    sealed = registered.payload["personal"]

    text = told(decided(registered))[f"unit:{JIANSHE}"]

    assert sealed["ciphertext"] not in text and sealed["key_id"] not in text and "1988" not in text


def test_a_man_is_told_only_the_services_due_to_everyone():
    story = Story()
    registered = story.registered(uuid.uuid4(), JIANSHE, at("2013-12-03"), sex="male", marital_status="unmarried")

    text = told(decided(registered))[f"unit:{JIANSHE}"]

    assert "现应提供的免费服务：宣传教育、生殖健康教育。" in text


def test_a_move_is_announced_to_the_new_unit_and_the_unit_left_behind():
    story, her = Story(), uuid.uuid4()
    registered = story.registered(her, JIANSHE, at("2013-12-03"))
    moved = story.moved(her, JIANSHE, CHANGAN, at("2014-02-10"))

    notices = told(decided(moved, known_after(registered)))

    assert set(notices) == {f"unit:{CHANGAN}", f"unit:{JIANSHE}"}
    assert "2014年2月10日迁入长安社区" in notices[f"unit:{CHANGAN}"]
    assert "每季度免费孕检" in notices[f"unit:{CHANGAN}"]  # what the woman is due, from what was known
    assert "离开建设社区，现居长安社区" in notices[f"unit:{JIANSHE}"]


def test_a_registered_resident_is_not_an_inflow():
    story = Story()
    registered = story.registered(uuid.uuid4(), JIANSHE, at("2013-12-03"), population="registered", arrived_from=None)

    assert told(decided(registered)) == {}


def test_a_pregnancy_plan_makes_pre_pregnancy_services_due_on_the_next_move():
    story, her = Story(), uuid.uuid4()
    history = [story.registered(her, JIANSHE, at("2013-12-03")),
               story.pregnancy_planned(her, JIANSHE, at("2013-12-05"), date(2014, 6, 1))]
    moved = story.moved(her, JIANSHE, CHANGAN, at("2014-01-10"))

    text = told(decided(moved, known_after(*history)), "inflow")[f"unit:{CHANGAN}"]

    assert "孕前优生咨询、孕前健康检查" in text


def test_the_registration_place_is_told_of_an_arrival_the_registry_raised():
    story, her = Story(), uuid.uuid4()
    notice = story.cross_region_notice(her, JIANSHE, at("2013-12-03"), "arrival")

    notices = told(decided(notice))

    assert list(notices) == [f"place:{TENGZHOU}"]
    assert "贵地户籍人口" in notices[f"place:{TENGZHOU}"] and "市中区建设社区" in notices[f"place:{TENGZHOU}"]
