"""Query parameters every read endpoint shares: the period and the two clocks. A bad value
is a 422 naming the parameter and the reason, as FastAPI's own validation errors do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import HTTPException, Query

from assessment.domain.periods import Clocks, Period, parse_instant
from assessment.queries import UnknownUnit

AS_OF = "Only what had occurred by then: a date (end of that day, China Standard Time) or a date and time."
KNOWN_AT = "Only what the system had recorded by then: a date or a date and time."


def invalid(where: str, name: str, message: str, status: int = 422) -> HTTPException:
    return HTTPException(status, detail=[{"loc": [where, name], "msg": message, "type": "value_error"}])


def parse_period(text: str) -> Period:
    try:
        return Period.parse(text)
    except ValueError as error:
        raise invalid("query", "period", str(error)) from None


def parse_clocks(as_of: str | None, known_at: str | None) -> Clocks:
    try:
        return Clocks(parse_instant(as_of, field="as_of"), parse_instant(known_at, field="known_at"))
    except ValueError as error:
        name = str(error).split(":", 1)[0]
        raise invalid("query", name, str(error)) from None


@dataclass(frozen=True)
class Seen:
    """The period and the clocks a reader asks about."""

    period: Period
    clocks: Clocks


def seen(
    period: Annotated[str, Query(description="2013, 2013-Q2 or 2013-05", examples=["2013"])],
    as_of: Annotated[str | None, Query(description=AS_OF, examples=["2013-12-31"])] = None,
    known_at: Annotated[str | None, Query(description=KNOWN_AT, examples=["2013-12-31"])] = None,
) -> Seen:
    return Seen(parse_period(period), parse_clocks(as_of, known_at))


def not_found(error: UnknownUnit) -> HTTPException:
    name, _, message = str(error).partition(": ")
    return HTTPException(404, detail=[{"loc": ["path" if name == "unit_code" else "query", name], "msg": message, "type": "not_found"}])
