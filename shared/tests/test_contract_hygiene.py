"""Contract hygiene, property-tested: digits people type in full width become ASCII before
validation and other scripts' digits are refused; dates keep to 1900..2100; free text
refuses NUL and unpaired surrogates; integers have bounds."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from platform_kit.contract import catalogue
from platform_kit.contract.common import ContractDate, IdNumber, PlaceCode, Text, UnitCode
from platform_kit.envelope import Envelope
from platform_kit.testing import service_delivered

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
unit_codes = st.text(alphabet="0123456789", min_size=12, max_size=12)
place_codes = st.sampled_from([6, 9, 12]).flatmap(lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n))
foreign_digits = st.characters(categories=["Nd"]).filter(lambda c: not ("0" <= c <= "9") and c.isdigit())

UNIT, PLACE, TEXT, DATE, ID = (TypeAdapter(t) for t in (UnitCode, PlaceCode, Text, ContractDate, IdNumber))


@given(unit_codes)
def test_full_width_unit_codes_become_ascii(code):
    assert UNIT.validate_python(code.translate(FULL_WIDTH)) == code
    assert Envelope.new(**_envelope_fields(unit_code=code.translate(FULL_WIDTH))).unit_code == code


@given(place_codes)
def test_full_width_place_codes_become_ascii(code):
    assert PLACE.validate_python(code.translate(FULL_WIDTH)) == code


@given(unit_codes, st.integers(0, 11), foreign_digits)
def test_digits_of_other_scripts_are_refused(code, at, digit):
    import unicodedata

    foreign = code[:at] + digit + code[at + 1 :]
    if unicodedata.normalize("NFKC", foreign).isascii():
        return  # a compatibility form of an ASCII digit: normalised, accepted (tested above)
    with pytest.raises(ValidationError, match="should match pattern"):
        UNIT.validate_python(foreign)
    with pytest.raises(ValidationError, match="unit_code"):
        Envelope.new(**_envelope_fields(unit_code=foreign))


@given(st.dates())
def test_dates_keep_to_1900_to_2100(day):
    if date(1900, 1, 1) <= day <= date(2100, 12, 31):
        assert DATE.validate_python(day) == day
    else:
        with pytest.raises(ValidationError, match="is outside 1900-01-01..2100-12-31"):
            DATE.validate_python(day)


def test_a_record_dated_year_one_is_refused_everywhere():
    with pytest.raises(ValidationError, match="occurred_at"):
        Envelope.new(**_envelope_fields(occurred_at=datetime(1, 1, 1, tzinfo=UTC)))
    model = catalogue.model("ResidentRegistered")
    with pytest.raises(ValidationError, match="birth_date"):
        model.model_validate({"birth_date": "0001-01-01"} | _resident_registered())


@given(st.text(), st.text())
def test_free_text_refuses_nul_with_its_position(before, after):
    before = before.replace("\x00", "")
    with pytest.raises(ValidationError, match=rf"NUL character \(U\+0000\) at index {len(before)}"):
        TEXT.validate_python(before + "\x00" + after)


@given(st.text(), st.integers(0xD800, 0xDFFF))
def test_free_text_refuses_unpaired_surrogates(text, surrogate):
    with pytest.raises(ValidationError, match="unpaired surrogate"):
        TEXT.validate_python(text.replace("\x00", "") + chr(surrogate))


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")))
def test_other_free_text_is_accepted_as_it_is(text):
    assert TEXT.validate_python(text) == text


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"])), st.text(alphabet=st.characters(blacklist_categories=["Cs"])))
def test_a_nul_anywhere_in_a_payload_is_refused_by_the_envelope(before, after):
    text = before + "\x00" + after
    with pytest.raises(ValidationError, match="payload.notes: contains a NUL"):
        service_delivered("resident-a", 1, notes=text)
    with pytest.raises(ValidationError, match="cross_unit_reason"):
        catalogue.model("ServiceDelivered").model_validate(
            service_delivered("resident-a", 1).payload | {"cross_unit_reason": text}
        )


@given(st.integers(min_value=2**31))
def test_integers_have_bounds(big):
    with pytest.raises(ValidationError, match="stream_version"):
        Envelope.new(**_envelope_fields(stream_version=big))
    with pytest.raises(ValidationError, match="participants"):
        catalogue.model("AssociationActivityHeld").model_validate({"participants": big})


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_id_numbers_typed_in_full_width_are_normalised_and_check_digit_verified(first17):
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]
    assert ID.validate_python((first17 + check).translate(FULL_WIDTH).lower()) == first17 + check
    wrong = next(c for c in "0123456789X" if c != check)
    with pytest.raises(ValidationError, match=f"check digit is {wrong}"):
        ID.validate_python(first17 + wrong)


def _envelope_fields(**overrides):
    fields = dict(
        event_type="ServiceDelivered", stream_id="resident-a", stream_version=1, unit_code="370402001001",
        source="services-log", payload={}, occurred_at=datetime(2013, 1, 1, tzinfo=UTC),
        recorded_at=datetime(2013, 1, 1, tzinfo=UTC) + timedelta(hours=1),
    )
    return fields | overrides


def _resident_registered():
    return {
        "resident_id": str(uuid.uuid4()), "sex": "female", "marital_status": "married", "population": "migrant",
        "household_registration_place": "370402", "unit_code": "370402001001",
        "personal": {"key_id": str(uuid.uuid4()), "nonce": "AAAA", "ciphertext": "AAAA"},
    }
