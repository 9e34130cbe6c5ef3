"""English names of the district and its towns and streets, for the page's English view
(villages and communities keep their Chinese names)."""

ENGLISH_NAMES = {
    "市中区": "Shizhong District",
    "中心街街道": "Zhongxinjie Subdistrict",
    "垎塔埠街道": "Getabu Subdistrict",
    "矿区街道": "Kuangqu Subdistrict",
    "文化路街道": "Wenhualu Subdistrict",
    "龙山路街道": "Longshanlu Subdistrict",
    "光明路街道": "Guangminglu Subdistrict",
    "税郭镇": "Shuiguo Town",
    "孟庄镇": "Mengzhuang Town",
    "齐村镇": "Qicun Town",
    "永安镇": "Yong'an Town",
    "西王庄乡": "Xiwangzhuang Township",
}


def english_name(name: str) -> str:
    return ENGLISH_NAMES.get(name, name)
