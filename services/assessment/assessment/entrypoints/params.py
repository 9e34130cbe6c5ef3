"""What every read route is asked with: the period, the two clocks, unit codes; and the service
layer behind a request. Their patterns are in the OpenAPI document, so it states the rules the
code enforces; a value that fits the pattern and still is no period or instant is a 422 naming
the parameter, as FastAPI's own validation errors do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Path, Query, Request

from assessment.domain.periods import PERIOD_PATTERN, Clocks, Period, parse_instant
from assessment.service_layer.services import Services
from platform_kit.auth import Principal, require_principal
from platform_kit.auth.http import forbidden
from platform_kit.http_params import FOLDED
from platform_kit.problems import Refusal
from platform_kit.units import unit_tree
from platform_kit.runtime import runtime_of

UNIT_CODE = r"^[0-9]{12}$"
AS_OF = "Only what had occurred by then: a date (end of that day, China Standard Time) or a date and time."
KNOWN_AT = "Only what the system had recorded by then: a date or a date and time."
PERIOD = "2013, 2013-Q2 or 2013-05 (a year from 1900 to 2999)"

UnitCode = Annotated[str, Path(pattern=UNIT_CODE, description="a unit's 12-digit code", examples=["370402001001"]), FOLDED]
Parent = Annotated[
    str | None, Query(pattern=UNIT_CODE, description="villages of this town only (village level)", examples=["370402001000"]),
    FOLDED,
]
Level = Literal["town", "village"]


def services_of(request: Request) -> Services:
    """The service layer this process built (``bootstrap.build``)."""
    return runtime_of(request).declaration.extra["services"]


Service = Annotated[Services, Depends(services_of)]


def parse_period(text: str, *, field: str = "query.period") -> Period:
    try:
        return Period.parse(text)
    except ValueError as error:
        raise Refusal(field, str(error).partition(": ")[2]) from None


def parse_clocks(as_of: str | None, known_at: str | None) -> Clocks:
    try:
        return Clocks(parse_instant(as_of, field="as_of"), parse_instant(known_at, field="known_at"))
    except ValueError as error:
        name, _, reason = str(error).partition(": ")
        raise Refusal(f"query.{name}", reason) from None


AsOf = Annotated[str | None, Query(description=AS_OF, examples=["2013-12-31"], max_length=40)]
KnownAt = Annotated[str | None, Query(description=KNOWN_AT, examples=["2013-12-31"], max_length=40)]


@dataclass(frozen=True)
class Seen:
    """The period and the clocks a reader asks about."""

    period: Period
    clocks: Clocks


def seen(
    period: Annotated[str, Query(pattern=PERIOD_PATTERN, description=PERIOD, examples=["2013"])],
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> Seen:
    return Seen(parse_period(period), parse_clocks(as_of, known_at))


Asked = Annotated[Seen, Depends(seen)]


def unit_in_scope(request: Request, caller: Principal = Depends(require_principal)) -> Principal:
    """403 for a unit outside the caller's; an unknown or malformed code is left to the route,
    which answers it (404, 422) as it always has."""
    code, tree = request.path_params.get("unit_code", ""), unit_tree()
    if code in tree and not caller.can_read_unit(code, tree):
        raise forbidden(f"unit_code: {tree[code].name} is outside the units this token may see")
    return caller
