"""What the channels promise on their own: back-off, giving up, quiet hours, signatures."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st
from notifier_receivers import signature_is_valid

from notifier.adapters.channels import RetryPolicy, SendFailed, http_failure
from notifier.adapters.channels.sms import quiet_until
from notifier.adapters.channels.webhook import sign
from notifier.domain.business_time import end_of_quarter, first_day_of_quarter, next_quarter_start, quarter

CST = timezone(timedelta(hours=8))
NIGHT = (time(21, 0), time(8, 0))
EIGHT_NEXT_MORNING = datetime(2013, 12, 4, 8, 0, tzinfo=CST)


class TestRetries:
    def test_the_wait_doubles_after_each_failure_up_to_a_cap(self):
        policy = RetryPolicy(max_attempts=10, base=timedelta(seconds=30), cap=timedelta(minutes=5))
        waits = [policy.retry_in(n, SendFailed("down")) for n in range(1, 7)]
        assert waits == [timedelta(seconds=s) for s in (30, 60, 120, 240, 300, 300)]

    def test_the_last_attempt_gives_up(self):
        assert RetryPolicy(max_attempts=3).retry_in(3, SendFailed("down")) is None

    def test_a_permanent_refusal_gives_up_at_once(self):
        assert RetryPolicy(max_attempts=3).retry_in(1, SendFailed("no such address", permanent=True)) is None

    def test_server_errors_and_throttling_may_pass_other_client_errors_will_not(self):
        assert [http_failure(s, "", "x").permanent for s in (500, 503, 429, 408, 400, 404, 410)] == [
            False, False, False, False, True, True, True
        ]


class TestQuietHours:
    def test_an_sms_at_half_past_ten_at_night_waits_until_eight(self):
        assert quiet_until(datetime(2013, 12, 3, 22, 30, tzinfo=CST), *NIGHT, CST) == EIGHT_NEXT_MORNING

    def test_an_sms_just_after_midnight_waits_until_eight_the_same_morning(self):
        assert quiet_until(datetime(2013, 12, 4, 0, 5, tzinfo=CST), *NIGHT, CST) == EIGHT_NEXT_MORNING

    def test_office_hours_are_not_quiet(self):
        assert quiet_until(datetime(2013, 12, 4, 8, 0, tzinfo=CST), *NIGHT, CST) is None
        assert quiet_until(datetime(2013, 12, 4, 20, 59, tzinfo=CST), *NIGHT, CST) is None

    @given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
    def test_quiet_hours_always_end_within_a_day_at_eight_district_time(self, now):
        until = quiet_until(now, *NIGHT, CST)
        if until is not None:
            assert now < until <= now + timedelta(hours=11)
            assert until.astimezone(CST).time() == time(8, 0)
            assert quiet_until(until, *NIGHT, CST) is None


class TestSignatures:
    def test_a_receiver_verifies_the_signature_with_the_shared_secret(self):
        body = '{"text": "【流入告知】"}'.encode()
        header = sign("s3cret", 1386036000, body)
        assert signature_is_valid("s3cret", header, body)
        assert not signature_is_valid("another", header, body)
        assert not signature_is_valid("s3cret", header, body + b" ")


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_every_day_lies_in_its_quarter_and_the_quarter_ends_the_day_before_the_next(day):
    assert first_day_of_quarter(day) <= day <= end_of_quarter(day)
    assert end_of_quarter(day) + timedelta(days=1) == next_quarter_start(day)
    assert quarter(end_of_quarter(day)) == quarter(day) != quarter(next_quarter_start(day))
