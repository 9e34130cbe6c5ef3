"""The unit tree holds the document's numbers: 11 towns and streets, 162 villages and communities."""

import pytest

from platform_kit.units import associations, unit_tree


def test_the_district_has_its_eleven_towns_and_162_villages():
    tree = unit_tree()
    assert tree.district.name == "市中区"
    assert len(tree.towns()) == 11 and len(tree.villages()) == 162
    assert {"龙山路街道", "垎塔埠街道", "西王庄乡", "税郭镇"} <= {t.name for t in tree.towns()}


def test_a_village_knows_its_town_and_the_district():
    tree = unit_tree()
    village = tree.villages("370402005000")[0]
    assert tree.town_of(village.code).name == "龙山路街道"
    assert [u.name for u in tree.ancestors(village.code)] == ["龙山路街道", "市中区"]


def test_an_unknown_code_is_named_in_the_error():
    with pytest.raises(KeyError, match="unit_code: '370402999999' is not a unit of 市中区"):
        unit_tree()["370402999999"]


def test_the_thirteen_associations_are_hosted_by_real_units():
    tree = unit_tree()
    assert len(associations()) == 13
    assert all(a.host_unit_code in tree for a in associations())


def test_the_documents_own_counts_and_names_hold():
    """文化路街道 "与辖区12个社区…签订了计划生育目标责任书"; the document calls 西王庄 a 乡 (township)."""
    tree = unit_tree()
    wenhualu = next(t for t in tree.towns() if t.name == "文化路街道")
    assert len(tree.villages(wenhualu.code)) == 12
    xiwangzhuang = tree["370402104000"]
    assert (xiwangzhuang.name, xiwangzhuang.kind, xiwangzhuang.level) == ("西王庄乡", "township", "town")
    assert tree.town_of(tree.villages("370402104000")[0].code).name == "西王庄乡"
