"""Plausible people: names, 18-digit resident ID numbers (GB 11643, with check digit), phones.
All invented, seeded, reproducible."""

from __future__ import annotations

import random
from datetime import date

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN_FEMALE = "秀英 桂英 秀兰 玉兰 桂兰 秀珍 凤英 玉珍 玉英 兰英 丽 静 敏 燕 艳 娟 霞 芳 娜 丹 玲 萍 红 婷 雪梅 海燕 晓燕 春梅 美玲 佳慧".split()
GIVEN_MALE = "伟 强 磊 军 勇 杰 涛 斌 超 明 刚 平 辉 鹏 华 飞 鑫 波 宁 建华 建国 志强 海涛 永刚 国庆 德明 春雷 文博 子豪 浩然".split()

# Where migrants to 市中区 come from (户籍地, county codes): nearby Shandong, Jiangsu, Anhui, Henan.
HOME_PLACES = (
    "370481", "370403", "370404", "370405", "370406",  # 滕州, 薛城, 峄城, 台儿庄, 山亭
    "371302", "371321", "371324", "370830", "370883",  # 临沂 兰山, 沂南, 兰陵, 汶上, 邹城
    "320382", "320321", "341321", "341322", "411403",  # 邳州, 丰县, 砀山, 萧县, 商丘 睢阳
)
_WEIGHTS = (0.8, 0.6, 1.1, 1.0, 1.4, 2.2, 1.2, 1.0, 2.0, 0.8, 0.9, 1.6, 1.1, 0.8, 0.7, 0.6, 0.5, 0.5, 0.4)[: len(HOME_PLACES)]
_FACTORS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    return _CHECK[sum(int(d) * f for d, f in zip(first17, _FACTORS, strict=True)) % 11]


def id_number(place: str, birth: date, sex: str, rng: random.Random) -> str:
    """An 18-digit ID: place, birth date, sequence whose last digit is odd for men, check digit."""
    sequence = rng.randrange(0, 50) * 2 + (1 if sex == "male" else 0)
    first17 = f"{place}{birth:%Y%m%d}{rng.randrange(10):1d}{sequence:02d}"
    return first17 + id_check_digit(first17)


def full_name(sex: str, rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN_FEMALE if sex == "female" else GIVEN_MALE)


def phone(rng: random.Random) -> str:
    return f"1{rng.choice('3578')}{rng.randrange(10)}{rng.randrange(10**8):08d}"


def home_place(rng: random.Random) -> str:
    return rng.choices(HOME_PLACES, weights=_WEIGHTS)[0]
