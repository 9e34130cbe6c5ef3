"""The worked examples of docs/assessment.md, as one history. Their figures were computed by
hand in that document; the tests check the code (and the API) gives the same."""

from __future__ import annotations

from assessment_testing import History

# 中心街街道 (370402001000) has 建设社区 and 新华社区; 垎塔埠街道 (370402002000) has 长安社区.
JIANSHE, XINHUA, CHANGAN = "370402001001", "370402001002", "370402002001"
ZHONGXINJIE, GETABU = "370402001000", "370402002000"


def worked_examples() -> History:
    h = History()
    # 1. Li Na: a married migrant woman of childbearing age who moved twice in the second quarter.
    h.registered("li_na", unit=JIANSHE, at="2013-01-15", born="1985-06-01", marital="married")
    h.moved("li_na", to=XINHUA, at="2013-04-20")
    h.served("li_na", "pregnancy_check", by=XINHUA, at="2013-05-03")
    h.surveyed("li_na", "policy_awareness", aware=False, at="2013-05-15")
    h.moved("li_na", to=CHANGAN, at="2013-06-10")
    h.surveyed("li_na", "policy_awareness", aware=True, at="2013-06-20")
    # 2. Wang Qiang and Zhao Min: a married couple planning a pregnancy.
    h.registered("wang_qiang", unit=JIANSHE, at="2013-02-01", sex="male", born="1983-01-01")
    h.registered("zhao_min", unit=JIANSHE, at="2013-02-01", born="1988-01-01")
    h.planned("wang_qiang", partner="zhao_min", at="2013-03-01")
    h.served("zhao_min", "pre_pregnancy_consultation", by=JIANSHE, at="2013-04-05")
    # 3. Xiao Ming: a migrant child of compulsory-school age, enrolled in September.
    h.registered("xiao_ming", unit=XINHUA, at="2013-03-01", sex="male", born="2005-09-01", marital="unmarried")
    h.enrolled("xiao_ming", at="2013-09-01")
    # 4. December: both parents visited; their son born on the 20th, the birth recorded in March.
    h.served("wang_qiang", "follow_up_visit", by=JIANSHE, at="2013-12-05")
    h.served("zhao_min", "follow_up_visit", by=JIANSHE, at="2013-12-06")
    h.birth("zhao_min", child="wang_xiaobao", at="2013-12-20", recorded="2014-03-05")
    # 5. A sweep in November finds a birth 建设社区 never reported (漏报出生).
    h.discrepancy(unit=JIANSHE, at="2013-11-20")
    # 7. Equalisation: two married women of the registered population (户籍人口) in 建设社区.
    h.registered("sun_li", unit=JIANSHE, at="2013-01-10", born="1980-03-01", population="registered")
    h.registered("zhou_hong", unit=JIANSHE, at="2013-01-10", born="1990-07-01", population="registered")
    h.served("sun_li", "pregnancy_check", by=JIANSHE, at="2013-05-08")
    return h


def returner() -> History:
    """Example 8 of docs/assessment.md: Chen Jing leaves 建设社区 in April and is registered
    again (a new resident id, the same person key) in 新华社区 in May."""
    h = History("returner")
    h.registered("chen_jing", unit=JIANSHE, at="2013-01-20", born="1987-02-01")
    h.departed("chen_jing", at="2013-04-10")
    h.registered("chen_jing_again", unit=XINHUA, at="2013-05-15", born="1987-02-01", returning="chen_jing")
    h.served("chen_jing_again", "pregnancy_check", by=XINHUA, at="2013-06-01")
    return h


def school_entry() -> History:
    """Example 9 of docs/assessment.md: two six-year-olds on either side of the 31 August cut-off."""
    h = History("school_entry")
    h.registered("liu_yang", unit=CHANGAN, at="2013-03-01", sex="male", born="2007-08-20", marital="unmarried")
    h.registered("ma_li", unit=CHANGAN, at="2013-03-01", born="2007-10-15", marital="unmarried")
    h.enrolled("liu_yang", at="2013-09-01")
    return h


DISTRICT = "370402000000"


def where_they_live() -> History:
    """Example 10 of docs/assessment.md: which services count as given where they live."""
    h = History("where_they_live")
    h.registered("gao_yan", unit=JIANSHE, at="2013-01-05", born="1990-05-01")
    h.registered("hu_jing", unit=XINHUA, at="2013-01-05", born="1986-03-01")
    h.registered("tian_lei", unit=XINHUA, at="2013-01-05", sex="male", born="1984-01-01")
    h.served("gao_yan", "pregnancy_check", by=XINHUA, at="2013-04-10")  # another village: not where she lives
    h.planned("gao_yan", partner=None, at="2013-03-01")
    h.served("gao_yan", "pre_pregnancy_health_check", by=CHANGAN, at="2013-05-20")  # another town's village
    h.served("gao_yan", "pre_pregnancy_health_check", by=DISTRICT, at="2013-07-15")  # the district's station
    h.served("hu_jing", "pregnancy_check", by=ZHONGXINJIE, at="2013-05-10")  # her town's station
    h.served("tian_lei", "policy_publicity", by=XINHUA, at="2013-05-12")  # a leaflet: no technical service
    return h


def couple() -> History:
    """Example 11 of docs/assessment.md: a couple married with the spouse named, supplied once."""
    h = History("couple")
    h.registered("sun_wei", unit=CHANGAN, at="2013-01-10", sex="male", born="1986-04-01", marital="unmarried")
    h.registered("qian_hui", unit=CHANGAN, at="2013-01-10", born="1989-09-01", marital="unmarried")
    h.marital("sun_wei", "married", previous="unmarried", at="2013-03-01", spouse="qian_hui")
    h.marital("qian_hui", "married", previous="unmarried", at="2013-03-01", spouse="sun_wei")
    h.served("sun_wei", "free_contraceptives", by=CHANGAN, at="2013-04-15")
    return h
