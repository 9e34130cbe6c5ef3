"""Input from outside is normalised or refused before it is trusted; personal reads are recorded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from platform_kit.auth import (
    PersonalDataRead,
    Principal,
    allowed_webhook,
    normalise_digits,
    normalise_id_number,
    record_personal_read,
    webhook_refusal,
)


class TestDigits:
    def test_full_width_digits_become_ascii(self) -> None:
        assert normalise_digits("３７０４０２") == "370402"

    def test_surrounding_ideographic_spaces_are_trimmed(self) -> None:
        assert normalise_digits("\u3000370402001001 ") == "370402001001"

    @pytest.mark.parametrize("text", ["٣٧٠٤٠٢", "۳۷۰۴۰۲", "३७०४०२", "37０4٠2"], ids=["arabic-indic", "persian", "devanagari", "mixed"])
    def test_other_scripts_digits_are_refused_not_translated(self, text: str) -> None:
        assert text.isdigit()  # what str.isdigit() and int() would let through
        with pytest.raises(ValueError, match="digits 0-9"):
            normalise_digits(text)

    def test_whatever_nfkc_folds_to_ascii_digits_is_accepted(self) -> None:
        # Superscripts and circled digits are compatibility forms of 0-9: NFKC folds them too.
        assert normalise_digits("³⁷⁰") == "370"
        assert normalise_digits("①②") == "12"

    @pytest.mark.parametrize("text", ["", "37 0402", "3704o2", "-370402", "37.0402"])
    def test_anything_else_is_refused(self, text: str) -> None:
        with pytest.raises(ValueError):
            normalise_digits(text)

    def test_the_length_is_checked_when_asked(self) -> None:
        with pytest.raises(ValueError, match="12 digits"):
            normalise_digits("37040200100", length=12)

    def test_an_id_numbers_check_character_x_in_any_width(self) -> None:
        assert normalise_id_number("37040219900101123ｘ") == "37040219900101123X"
        assert normalise_id_number("３７０４０２１９９００１０１１２３４") == "370402199001011234"
        with pytest.raises(ValueError):
            normalise_id_number("3704021990010112X4")


ALLOWED = ["hooks.health.zaozhuang.example", "10.20.0.5", "localhost"]


class TestWebhooks:
    @pytest.mark.parametrize(
        "url",
        ["https://hooks.health.zaozhuang.example/births", "https://HOOKS.health.zaozhuang.example.:8443/x", "https://10.20.0.5/in"],
    )
    def test_https_to_a_listed_host(self, url: str) -> None:
        assert allowed_webhook(url, ALLOWED)

    @pytest.mark.parametrize(
        ("url", "why"),
        [
            ("http://hooks.health.zaozhuang.example/births", "https"),
            ("https://evil.example/births", "allow-list"),
            ("https://hooks.health.zaozhuang.example.evil.example/", "allow-list"),
            ("https://user:pw@hooks.health.zaozhuang.example/", "password"),
            ("https://hooks.health.zaozhuang.example@evil.example/", "password"),
            ("https://169.254.169.254/latest/meta-data", "IP addresses"),
            ("https://2130706433/", "allow-list"),
            ("https://[::1]/", "IP addresses"),
            ("ftp://hooks.health.zaozhuang.example/", "https"),
            ("https://hooks.health.zaozhuang.example\\@evil.example/", "plain URL"),
            ("https:///births", "no host"),
        ],
    )
    def test_refused(self, url: str, why: str) -> None:
        assert not allowed_webhook(url, ALLOWED)
        assert why in (webhook_refusal(url, ALLOWED) or "")

    def test_plain_http_to_loopback_only_in_development(self) -> None:
        assert allowed_webhook("http://localhost:8099/hook", ALLOWED, environment="development")
        assert not allowed_webhook("http://localhost:8099/hook", ALLOWED, environment="production")
        assert not allowed_webhook("http://127.0.0.1:8099/hook", ALLOWED, environment="development")  # not listed


class TestPersonalDataReads:
    town = Principal(sub="wang.li", role="town", units=("370402001000",))

    def test_the_record_says_who_what_whom_when_and_why(self) -> None:
        at = datetime(2013, 6, 1, 9, 30, tzinfo=UTC)
        payload = record_personal_read(self.town, "resident.id_number", "resident-5b0c3c1e-7a0e-4d2e-9a49-2f8f0c5d1b11",
                                       "pregnancy check follow-up", at=at)
        assert payload == {
            "reader": "wang.li", "reader_role": "town", "reader_units": ["370402001000"],
            "what": "resident.id_number", "subject": "resident-5b0c3c1e-7a0e-4d2e-9a49-2f8f0c5d1b11",
            "why": "pregnancy check follow-up", "read_at": "2013-06-01T09:30:00Z",
        }
        assert PersonalDataRead.model_validate(payload).reader == "wang.li"

    @pytest.mark.parametrize("subject", ["370402199001011234", "resident-13800138000", "王丽"])
    def test_the_subject_is_a_stream_id_never_the_person_themselves(self, subject: str) -> None:
        with pytest.raises(ValidationError):
            record_personal_read(self.town, "resident.contact", subject, "follow-up visit")

    @pytest.mark.parametrize("resident", ["5a8409c5-6a5c-4fe2-964b-91819212435e", "00000000-0000-4000-8000-123456789012"])
    def test_a_resident_id_whose_last_group_is_all_digits_is_still_a_stream_id(self, resident: str) -> None:
        # About one resident id in 600 ends in 11 or 12 decimal digits; her data must stay readable.
        payload = record_personal_read(self.town, "resident.contact", f"resident-{resident}", f"visit for {resident}")
        assert payload["subject"] == f"resident-{resident}"

    @pytest.mark.parametrize("subject", ["resident-5a8409c5-6a5c-4fe2-964b-91819212435e-13800138000", "resident-x-370402199001011234"])
    def test_a_phone_or_id_number_beside_a_uuid_is_still_refused(self, subject: str) -> None:
        with pytest.raises(ValidationError):
            record_personal_read(self.town, "resident.contact", subject, "follow-up visit")

    def test_a_reason_is_required(self) -> None:
        with pytest.raises(ValidationError):
            record_personal_read(self.town, "resident.contact", "resident-1", "")
