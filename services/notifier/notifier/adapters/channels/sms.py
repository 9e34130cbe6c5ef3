"""SMS through the gateway's HTTP API, never at night.

The gateway receives ``POST <sms_gateway_url>`` with JSON ``{"to", "text", "client_ref"}``
and the header ``Idempotency-Key`` (the delivery id; ``client_ref`` repeats it for gateways
that deduplicate on a body field). During quiet hours (by default 21:00-08:00 in the
district's time, platform_kit.calendar) nothing is sent: the deliveries wait until the quiet
hours end, and do not count as attempts.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo

import httpx

from platform_kit.calendar import DISTRICT_TZ

from notifier.adapters.channels import Channel, SendFailed, http_failure
from notifier.adapters.queue import Outgoing


def quiet_until(now: datetime, start: time, end: time, tz: tzinfo) -> datetime | None:
    """The end of the quiet hours ``now`` falls in, or None outside them."""
    local = now.astimezone(tz)
    t = local.time()
    overnight = start > end
    quiet = (t >= start or t < end) if overnight else (start <= t < end)
    if not quiet:
        return None
    ends = datetime.combine(local.date(), end, tzinfo=tz)
    return ends + timedelta(days=1) if ends <= local else ends


class SmsChannel(Channel):
    name = "sms"

    def __init__(
        self, gateway_url: str | None, *, quiet_start: time, quiet_end: time, tz: tzinfo = DISTRICT_TZ, timeout_seconds: float = 10.0
    ) -> None:
        self.gateway_url = gateway_url
        self.quiet_start, self.quiet_end, self.tz = quiet_start, quiet_end, tz
        self.timeout = timeout_seconds
        self.client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self.client = httpx.AsyncClient(timeout=self.timeout)

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    def quiet_until(self, now: datetime) -> datetime | None:
        return quiet_until(now, self.quiet_start, self.quiet_end, self.tz)

    async def send(self, item: Outgoing, now: datetime) -> None:
        assert self.client is not None, "start() the channel first"
        if not self.gateway_url:
            raise SendFailed("no SMS gateway is configured (SMS_GATEWAY_URL)", permanent=True)
        body = {"to": item.address, "text": item.text, "client_ref": str(item.delivery_id)}
        try:
            response = await self.client.post(
                self.gateway_url, json=body, headers={"Idempotency-Key": str(item.delivery_id)}
            )
        except httpx.HTTPError as error:
            raise SendFailed(f"{type(error).__name__}: {error or 'no answer'}") from error
        if not response.is_success:
            raise http_failure(response.status_code, response.text, "the SMS gateway")
