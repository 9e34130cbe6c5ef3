"""Each role reads and writes the units of its tier, on the real unit tree."""

from __future__ import annotations

import pytest

from platform_kit.auth import DISTRICT_ACTIONS, Principal
from platform_kit.units import unit_tree

TREE = unit_tree()
DISTRICT = TREE.district.code
TOWN, OTHER_TOWN = TREE.towns()[0].code, TREE.towns()[-1].code
VILLAGE, NEIGHBOUR = TREE.villages(TOWN)[0].code, TREE.villages(TOWN)[1].code
FAR_VILLAGE = TREE.villages(OTHER_TOWN)[-1].code
UNITS = {"district": DISTRICT, "town": TOWN, "other town": OTHER_TOWN, "village": VILLAGE,
         "neighbour": NEIGHBOUR, "far village": FAR_VILLAGE}

CALLERS = {
    "district": Principal(sub="centre", role="district", units=(DISTRICT,)),
    "town": Principal(sub="town-office", role="town", units=(TOWN,)),
    "village": Principal(sub="manager", role="village", units=(VILLAGE,)),
    "auditor": Principal(sub="auditor", role="auditor"),
    "department": Principal(sub="dept:health", role="department", units=("health",)),
}

# caller -> the units (by name above) it may read, and write
READS = {
    "district": set(UNITS),
    "town": {"town", "village", "neighbour"},
    "village": {"village"},
    "auditor": set(UNITS),
    "department": set(),
}
WRITES = {**READS, "auditor": set(), "department": set()}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("unit", UNITS)
def test_who_reads_and_writes_which_unit(caller: str, unit: str) -> None:
    principal, code = CALLERS[caller], UNITS[unit]
    assert principal.can_read_unit(code, TREE) is (unit in READS[caller])
    assert principal.can_write_unit(code, TREE) is (unit in WRITES[caller])


@pytest.mark.parametrize("caller", CALLERS)
def test_a_code_outside_the_tree_is_nobodys(caller: str) -> None:
    assert not CALLERS[caller].can_read_unit("370402999999", TREE)
    assert not CALLERS[caller].can_write_unit("370402999999", TREE)


def test_a_town_with_two_offices_sees_both_towns_villages() -> None:
    both = Principal(sub="merged", role="town", units=(TOWN, OTHER_TOWN))
    assert both.can_read_unit(FAR_VILLAGE, TREE) and both.can_write_unit(VILLAGE, TREE)


@pytest.mark.parametrize("action", DISTRICT_ACTIONS)
@pytest.mark.parametrize("caller", CALLERS)
def test_only_the_district_vetoes_publishes_rebuilds_and_erases(caller: str, action: str) -> None:
    assert CALLERS[caller].may(action) is (caller == "district")


def test_an_unknown_action_is_a_programming_error_not_a_quiet_no() -> None:
    with pytest.raises(ValueError, match="unknown district action"):
        CALLERS["district"].may("publish_rankings")


@pytest.mark.parametrize(
    ("caller", "unit", "view"),
    [
        ("district", "far village", "clear"),
        ("town", "village", "clear"),
        ("town", "far village", "hidden"),
        ("village", "village", "clear"),
        ("village", "neighbour", "hidden"),
        ("auditor", "village", "masked"),
        ("department", "village", "hidden"),
    ],
)
def test_personal_data_is_clear_only_in_scope_masked_for_auditors(caller: str, unit: str, view: str) -> None:
    principal = CALLERS[caller]
    assert principal.personal_data(UNITS[unit], TREE) == view
    assert principal.sees_personal_data(UNITS[unit], TREE) is (view == "clear")


@pytest.mark.parametrize(
    ("role", "units"),
    [("town", ()), ("village", ("37040200100",)), ("department", ("tax",)), ("department", ())],
)
def test_a_principal_must_name_units_that_fit_its_role(role: str, units: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        Principal(sub="x", role=role, units=units)
