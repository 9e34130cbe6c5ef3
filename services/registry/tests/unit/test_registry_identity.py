"""ID numbers (GB 11643), phones and names, checked without I/O."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from registry_builders import id_number

from platform_kit.problems import Refusal
from registry.domain.identity import check_id_number, check_name, check_phone

STANDARD_EXAMPLE = "11010519491231002X"  # the example printed in GB 11643-1999


def test_the_standards_own_example_is_accepted():
    assert check_id_number(STANDARD_EXAMPLE.lower(), birth_date=date(1949, 12, 31), sex="female") == STANDARD_EXAMPLE


@pytest.mark.parametrize(
    ("number", "birth_date", "sex", "says"),
    [
        ("110105194912310021", date(1949, 12, 31), "female", "check digit"),
        ("11010519491231002", date(1949, 12, 31), "female", "18 characters"),
        ("99010519491231002X", date(1949, 12, 31), "female", "no province"),
        ("110105194902300023", date(1949, 2, 28), "female", "not a calendar date"),
        (STANDARD_EXAMPLE, date(1949, 12, 30), "female", "birth date 1949-12-31"),
        (STANDARD_EXAMPLE, date(1949, 12, 31), "male", "says female"),
    ],
    ids=["wrong check digit", "too short", "unknown province", "impossible date", "other birth date", "other sex"],
)
def test_an_impossible_or_disagreeing_id_number_is_rejected_with_its_reason(number, birth_date, sex, says):
    with pytest.raises(Refusal) as refused:
        check_id_number(number, birth_date=birth_date, sex=sex)
    assert refused.value.field == "id_number" and says in refused.value.reason


birth_dates = st.dates(min_value=date(1920, 1, 1), max_value=date(2013, 12, 1))
sexes = st.sampled_from(["female", "male"])


@given(birth_dates, sexes, st.integers(0, 998))
def test_every_well_formed_id_number_is_accepted(birth_date, sex, sequence):
    number = id_number(birth_date, sex, sequence=sequence)
    assert check_id_number(number, birth_date=birth_date, sex=sex) == number


@given(birth_dates, sexes, st.integers(0, 16), st.integers(1, 9))
def test_any_single_mistyped_digit_is_caught(birth_date, sex, position, shift):
    number = id_number(birth_date, sex)
    typo = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1 :]
    with pytest.raises(Refusal):
        check_id_number(typo, birth_date=birth_date, sex=sex)


def test_an_id_number_for_someone_born_tomorrow_disagrees_with_today():
    tomorrow = date(2013, 12, 2)
    with pytest.raises(Refusal, match="birth date"):
        check_id_number(id_number(tomorrow, "male"), birth_date=tomorrow - timedelta(days=1), sex="male")


@pytest.mark.parametrize("phone", ["13906321234", "139 0632 1234", "+8613906321234", "0632-3312345", "06323312345"])
def test_mobiles_and_landlines_are_accepted(phone):
    assert check_phone(phone)


@pytest.mark.parametrize("phone", ["12906321234", "1390632123", "110", "phone"])
def test_other_phone_numbers_are_rejected(phone):
    with pytest.raises(Refusal, match="mobile"):
        check_phone(phone)


@pytest.mark.parametrize("name", ["王秀英", "阿依古丽·买买提", "Anna Müller"])
def test_names_of_people_are_accepted(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "王123", "x" * 41])
def test_names_that_are_not_names_are_rejected(name):
    with pytest.raises(Refusal) as refused:
        check_name(name)
    assert refused.value.field == "name"
