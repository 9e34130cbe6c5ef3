"""The district centre's decisions, as events in the assessment's own store: one-vote vetoes,
published rankings, rectification orders and the plans that answer them. ``fold`` reads them
back; the ``decide_*`` functions turn a command into new events or refuse it with the kit's
refusals: ``NotFound`` (404) when it names a unit that does not exist, ``Refusal`` (422) when it
is wrong in itself, ``Conflict`` (409) when it cannot be taken given what was decided before."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from assessment.domain.periods import Period
from assessment.domain.scoring import Ranked
from platform_kit.calendar import local_date
from platform_kit.envelope import Envelope
from platform_kit.problems import Conflict, NotFound, Refusal

SOURCE = "assessment"
DECISION_TYPES = ("VetoApplied", "RankingPublished", "RectificationRequired", "RectificationPlanSubmitted")


@dataclass(frozen=True, slots=True)
class Veto:
    unit_code: str
    period: Period
    reason: str
    decided_by: str
    event_id: uuid.UUID
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class Rectification:
    unit_code: str
    period: str
    rank: int
    reason: str
    plan_due: date
    required_by: uuid.UUID  # the RectificationRequired event
    required_at: datetime
    plan_event: uuid.UUID | None = None
    plan_summary: str | None = None

    @property
    def is_open(self) -> bool:
        return self.plan_event is None

    def as_json(self) -> dict:
        return {
            "unit_code": self.unit_code,
            "period": self.period,
            "rank": self.rank,
            "reason": self.reason,
            "plan_due": self.plan_due.isoformat(),
            "status": "open" if self.is_open else "plan_submitted",
            "required_event_id": str(self.required_by),
            "plan_event_id": str(self.plan_event) if self.plan_event else None,
            "plan_summary": self.plan_summary,
        }


@dataclass
class Decisions:
    vetoes: list[Veto] = field(default_factory=list)
    rectifications: dict[tuple[str, str], Rectification] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)

    def veto_for(self, unit_code: str, period: Period, *, containing: bool = True) -> Veto | None:
        """A veto for this period or, when vetoes reach the periods containing theirs, for a
        part of it (a veto in May sinks Q2 and the year)."""
        for veto in self.vetoes:
            if veto.unit_code == unit_code and (veto.period == period or (containing and period.contains(veto.period))):
                return veto
        return None

    def rectification(self, unit_code: str, period: str) -> Rectification | None:
        return self.rectifications.get((unit_code, period))


def fold(events: Iterable[Envelope]) -> Decisions:
    decisions = Decisions()
    for e in sorted(events, key=lambda e: (e.recorded_at, e.stream_id, e.stream_version)):
        decisions.versions[e.stream_id] = max(decisions.versions.get(e.stream_id, 0), e.stream_version)
        p = e.payload
        if e.event_type == "VetoApplied":
            decisions.vetoes.append(
                Veto(p["unit_code"], Period.parse(p["period"]), p["reason"], p["decided_by"], e.event_id, e.occurred_at)
            )
        elif e.event_type == "RectificationRequired":
            decisions.rectifications[(p["unit_code"], p["period"])] = Rectification(
                p["unit_code"], p["period"], p["rank"], p["reason"], date.fromisoformat(str(p["plan_due"])),
                e.event_id, e.occurred_at,
            )
        elif e.event_type == "RectificationPlanSubmitted":
            key = (p["unit_code"], p["period"])
            if key in decisions.rectifications:
                decisions.rectifications[key] = replace(
                    decisions.rectifications[key], plan_event=e.event_id, plan_summary=p["summary"]
                )
    return decisions


def _next(decisions: Decisions, stream_id: str) -> int:
    return decisions.versions.get(stream_id, 0) + 1


def decide_veto(
    decisions: Decisions, *, unit_code: str, period: Period, reason: str, decided_by: str, tree,
    now: datetime, occurred_at: datetime | None = None,
) -> Envelope:
    if unit_code not in tree:
        raise NotFound("unit_code", f"{unit_code} is not a unit of {tree.district.name}")
    if tree[unit_code].level == "district":
        raise Refusal("unit_code", "the district itself is not ranked; veto a town or a village")
    if any(v.unit_code == unit_code and v.period == period for v in decisions.vetoes):
        raise Conflict("unit_code", f"{unit_code} is already vetoed for {period}")
    stream = f"veto-{unit_code}-{period}"
    return Envelope.new(
        event_type="VetoApplied", stream_id=stream, stream_version=_next(decisions, stream), unit_code=unit_code,
        source=SOURCE, occurred_at=occurred_at or now, recorded_at=now,
        payload={"unit_code": unit_code, "period": str(period), "reason": reason, "decided_by": decided_by},
    )


def ranking_stream(period: Period, level: str, parent: str | None) -> str:
    return f"ranking-{period}-{level}" + (f"-{parent}" if parent else "")


def _score(row: Ranked) -> str:
    return "—" if row.unit.score is None else str(row.unit.score)  # a vetoed unit with nobody to count


def decide_publication(
    decisions: Decisions, rows: Sequence[Ranked], *, period: Period, level: str, parent: str | None,
    district_code: str, now: datetime, plan_due_days: int,
) -> list[Envelope]:
    """The ranking as published — the ranked units only: a unit not assessed has no score and
    no place in it — and a rectification order for each bottom unit that has no open one for
    this period yet."""
    rows = [r for r in rows if r.rank is not None]
    if not rows:
        raise Refusal("parent" if parent else "level", f"nobody to rank for {period} at level {level}: no unit has anyone to count")
    stream = ranking_stream(period, level, parent)
    published = Envelope.new(
        event_type="RankingPublished", stream_id=stream, stream_version=_next(decisions, stream),
        unit_code=parent or district_code, source=SOURCE, occurred_at=now, recorded_at=now,
        payload={
            "period": str(period), "level": level, "parent_unit": parent,
            "rows": [{"rank": r.rank, "unit_code": r.unit.unit_code, "score": r.unit.score, "veto": r.unit.veto} for r in rows],
        },
    )
    orders = []
    for row in rows:
        existing = decisions.rectification(row.unit.unit_code, str(period))
        if not row.bottom or (existing is not None and existing.is_open):
            continue
        rectification = f"rectification-{row.unit.unit_code}-{period}"
        orders.append(
            published.caused(
                event_type="RectificationRequired", stream_id=rectification,
                stream_version=_next(decisions, rectification), unit_code=row.unit.unit_code, source=SOURCE,
                occurred_at=now, recorded_at=now,
                payload={
                    "unit_code": row.unit.unit_code, "period": str(period), "rank": row.rank,
                    "reason": (
                        f"{period}排名末位（第{row.rank}名，共{len(rows)}名，得分{_score(row)}"
                        f"{'，一票否决' if row.unit.veto else ''}）；"
                        f"bottom of the {level} ranking for {period}: rank {row.rank} of {len(rows)}, "
                        f"score {_score(row)}{', vetoed' if row.unit.veto else ''}"
                    ),
                    "plan_due": (local_date(now) + timedelta(days=plan_due_days)).isoformat(),
                },
            )
        )
    return [published, *orders]


def decide_plan(decisions: Decisions, *, unit_code: str, period: Period, summary: str, now: datetime) -> Envelope:
    existing = decisions.rectification(unit_code, str(period))
    if existing is None:
        # The unit exists; what it lacks is an order to answer: a decision that cannot be taken.
        raise Conflict("unit_code", f"{unit_code} has no rectification order for {period}")
    if not existing.is_open:
        raise Conflict("unit_code", f"{unit_code} has already submitted its plan for {period}")
    stream = f"rectification-{unit_code}-{period}"
    return Envelope.new(
        event_type="RectificationPlanSubmitted", stream_id=stream, stream_version=_next(decisions, stream),
        unit_code=unit_code, source=SOURCE, occurred_at=now, recorded_at=now,
        causation_id=existing.required_by,
        payload={"unit_code": unit_code, "period": str(period), "summary": summary},
    )
