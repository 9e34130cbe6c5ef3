"""The district centre's decisions, as events in the assessment's own store: one-vote vetoes,
published rankings, and the rectification cycle (order, plan, review, resubmission, check:
docs/rectification.md). ``fold`` reads them
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
from platform_kit.calendar import local_date, start_of
from platform_kit.envelope import Envelope
from platform_kit.problems import Conflict, NotFound, Refusal

SOURCE = "assessment"
RECTIFICATION_TYPES = (
    "RectificationRequired", "RectificationPlanSubmitted", "RectificationPlanReturned", "RectificationPlanAccepted",
    "RectificationChecked",
)
DECISION_TYPES = (
    "VetoApplied", "VetoRevoked", "RankingPublished", "ResponsibilityLetterSigned", "ResponsibilityLetterAmended",
    *RECTIFICATION_TYPES,
)
# What the order waits for in each status, and whose move it is.
AWAITING_PLAN = ("open", "returned")


@dataclass(frozen=True, slots=True)
class Veto:
    unit_code: str
    period: Period
    reason: str
    decided_by: str
    event_id: uuid.UUID
    occurred_at: datetime
    responsible_roles: tuple[str, ...] = ()
    revoked_by: dict | None = None  # the VetoRevoked payload, with its event id

    def as_json(self) -> dict:
        return {
            "event_id": str(self.event_id), "unit_code": self.unit_code, "period": str(self.period),
            "reason": self.reason, "decided_by": self.decided_by, "occurred_at": self.occurred_at.isoformat(),
            "responsible_roles": list(self.responsible_roles), "revoked": self.revoked_by,
        }


@dataclass(frozen=True, slots=True)
class Rectification:
    """One order's cycle. Status: ``open`` (the first plan is due), ``plan_submitted`` (the
    district reviews it), ``returned`` (due again by the new ``plan_due``), ``accepted`` (the
    district checks by ``check_due``), ``checked`` (closed, with ``check_result``)."""

    unit_code: str
    period: str
    rank: int
    reason: str
    plan_due: date
    required_by: uuid.UUID  # the RectificationRequired event
    required_at: datetime
    status: str = "open"
    round: int = 1
    plan_event: uuid.UUID | None = None
    plan_summary: str | None = None
    documents: tuple[dict, ...] = ()
    check_due: date | None = None
    check_result: str | None = None
    history: tuple[dict, ...] = ()

    @property
    def is_open(self) -> bool:
        """The unit owes a plan (the first, or again after a return)."""
        return self.status in AWAITING_PLAN

    @property
    def is_closed(self) -> bool:
        return self.status == "checked"

    @property
    def next_deadline(self) -> date | None:
        """The date the next step is due by: the plan's, or the district's check."""
        if self.is_open:
            return self.plan_due
        return self.check_due if self.status == "accepted" else None

    def as_json(self) -> dict:
        return {
            "unit_code": self.unit_code,
            "period": self.period,
            "rank": self.rank,
            "reason": self.reason,
            "plan_due": self.plan_due.isoformat(),
            "status": self.status,
            "round": self.round,
            "next_deadline": self.next_deadline.isoformat() if self.next_deadline else None,
            "check_due": self.check_due.isoformat() if self.check_due else None,
            "check_result": self.check_result,
            "required_event_id": str(self.required_by),
            "plan_event_id": str(self.plan_event) if self.plan_event else None,
            "plan_summary": self.plan_summary,
            "documents": list(self.documents),
            "history": list(self.history),
        }

    def step(self, event: Envelope) -> Rectification:
        """The order after one more event of its cycle."""
        p = event.payload
        seen = {"event_type": event.event_type, "event_id": str(event.event_id), "at": event.occurred_at.isoformat()}
        if event.event_type == "RectificationPlanSubmitted":
            return replace(
                self, status="plan_submitted", round=p.get("round", 1), plan_event=event.event_id,
                plan_summary=p["summary"], documents=tuple(p.get("documents", ())),
                history=(*self.history, seen | {"round": p.get("round", 1)}),
            )
        if event.event_type == "RectificationPlanReturned":
            return replace(
                self, status="returned", round=p["round"] + 1, plan_due=date.fromisoformat(str(p["plan_due"])),
                history=(*self.history, seen | {"round": p["round"], "reasons": p["reasons"]}),
            )
        if event.event_type == "RectificationPlanAccepted":
            return replace(
                self, status="accepted", check_due=date.fromisoformat(str(p["check_due"])),
                history=(*self.history, seen | {"round": p["round"], "reasons": p["reasons"]}),
            )
        if event.event_type == "RectificationChecked":
            return replace(
                self, status="checked", check_result=p["result"],
                history=(*self.history, seen | {"result": p["result"], "findings": p["findings"]}),
            )
        return self


@dataclass
class Decisions:
    vetoes: list[Veto] = field(default_factory=list)  # in force
    revoked: list[Veto] = field(default_factory=list)
    rectifications: dict[tuple[str, str], Rectification] = field(default_factory=dict)
    letters: dict[tuple[str, int], dict] = field(default_factory=dict)  # (unit, year) -> the letter's payload
    versions: dict[str, int] = field(default_factory=dict)

    def veto_for(self, unit_code: str, period: Period, *, containing: bool = True) -> Veto | None:
        """A veto for this period or, when vetoes reach the periods containing theirs, for a
        part of it (a veto in May sinks Q2 and the year)."""
        for veto in self.vetoes:
            if veto.unit_code == unit_code and (veto.period == period or (containing and period.contains(veto.period))):
                return veto
        return None

    def published(self, period: Period, level: str) -> bool:
        """A ranking of this period at this level is out (for villages: any town's)."""
        stream = ranking_stream(period, level, None)
        return any(s == stream or s.startswith(f"{stream}-") for s in self.versions)

    def rectification(self, unit_code: str, period: str) -> Rectification | None:
        return self.rectifications.get((unit_code, period))


def fold(events: Iterable[Envelope]) -> Decisions:
    decisions = Decisions()
    for e in sorted(events, key=lambda e: (e.recorded_at, e.stream_id, e.stream_version)):
        decisions.versions[e.stream_id] = max(decisions.versions.get(e.stream_id, 0), e.stream_version)
        p = e.payload
        if e.event_type == "VetoApplied":
            decisions.vetoes.append(
                Veto(p["unit_code"], Period.parse(p["period"]), p["reason"], p["decided_by"], e.event_id, e.occurred_at,
                     tuple(p.get("responsible_roles", ())))
            )
        elif e.event_type == "VetoRevoked":
            revoked = [v for v in decisions.vetoes if str(v.event_id) == str(p["revokes"])]
            decisions.vetoes = [v for v in decisions.vetoes if v not in revoked]
            decisions.revoked += [
                replace(v, revoked_by={"event_id": str(e.event_id), "reason": p["reason"], "decided_by": p["decided_by"],
                                       "occurred_at": e.occurred_at.isoformat()})
                for v in revoked
            ]
        elif e.event_type == "RectificationRequired":
            decisions.rectifications[(p["unit_code"], p["period"])] = Rectification(
                p["unit_code"], p["period"], p["rank"], p["reason"], date.fromisoformat(str(p["plan_due"])),
                e.event_id, e.occurred_at,
            )
        elif e.event_type == "ResponsibilityLetterSigned":
            decisions.letters[(p["unit_code"], int(p["year"]))] = dict(p) | {
                "event_id": str(e.event_id), "signed_targets": dict(p["targets"]), "amendments": [],
                "occurred_at": e.occurred_at,
            }
        elif e.event_type == "ResponsibilityLetterAmended":
            letter = decisions.letters.get((p["unit_code"], int(p["year"])))
            if letter is not None and letter["event_id"] == str(p["amends"]):
                letter["targets"] = letter["targets"] | p["targets"]
                letter["amendments"] = [*letter["amendments"], {
                    "event_id": str(e.event_id), "targets": dict(p["targets"]), "reason": p["reason"],
                    "decided_by": p["decided_by"], "occurred_at": e.occurred_at.isoformat(),
                }]
        elif e.event_type in RECTIFICATION_TYPES:
            key = (p["unit_code"], p["period"])
            if key in decisions.rectifications:
                decisions.rectifications[key] = decisions.rectifications[key].step(e)
    return decisions


def _next(decisions: Decisions, stream_id: str) -> int:
    return decisions.versions.get(stream_id, 0) + 1


def decide_veto(
    decisions: Decisions, *, unit_code: str, period: Period, reason: str, decided_by: str, tree,
    now: datetime, occurred_at: datetime | None = None, responsible_roles: Sequence[str] = (),
) -> Envelope:
    if unit_code not in tree:
        raise NotFound("unit_code", f"{unit_code} is not a unit of {tree.district.name}")
    if tree[unit_code].level == "district":
        raise Refusal("unit_code", "the district itself is not ranked; veto a town or a village")
    if any(v.unit_code == unit_code and v.period == period for v in decisions.vetoes):
        raise Conflict("unit_code", f"{unit_code} is already vetoed for {period}")
    stream = f"veto-{unit_code}-{period}"
    event = Envelope.new(
        event_type="VetoApplied", stream_id=stream, stream_version=_next(decisions, stream), unit_code=unit_code,
        source=SOURCE, occurred_at=occurred_at or now, recorded_at=now,
        payload={"unit_code": unit_code, "period": str(period), "reason": reason, "decided_by": decided_by,
                 "responsible_roles": list(responsible_roles), "responsible_ref": None},
    )
    if responsible_roles:  # the names stay in the assessment's store, under the event's id
        event.payload["responsible_ref"] = f"assessment:vetoes/{event.event_id}/responsible"
    return event


def decide_revocation(
    decisions: Decisions, *, unit_code: str, period: Period, reason: str, decided_by: str, now: datetime
) -> Envelope:
    """一票否决 revoked by a later decision: the veto in force for exactly this unit and period."""
    veto = next((v for v in decisions.vetoes if v.unit_code == unit_code and v.period == period), None)
    if veto is None:
        raise Conflict("unit_code", f"{unit_code} has no veto in force for {period}")
    stream = f"veto-{unit_code}-{period}"
    return Envelope.new(
        event_type="VetoRevoked", stream_id=stream, stream_version=_next(decisions, stream), unit_code=unit_code,
        source=SOURCE, occurred_at=now, recorded_at=now, causation_id=veto.event_id,
        payload={"unit_code": unit_code, "period": str(period), "revokes": str(veto.event_id), "reason": reason,
                 "decided_by": decided_by},
    )


def ranking_stream(period: Period, level: str, parent: str | None) -> str:
    return f"ranking-{period}-{level}" + (f"-{parent}" if parent else "")


def rewarded(rows: Sequence[Ranked], top_count: int) -> set[str]:
    """同奖同惩: the units at the top ``top_count`` ranks, among two or more in contention; a
    vetoed unit or one with nobody to count is never rewarded."""
    contending = [r for r in rows if r.unit.assessed or r.unit.veto]
    if len(contending) < 2:
        return set()
    return {r.unit.unit_code for r in contending if r.rank is not None and r.rank <= top_count and r.unit.assessed and not r.unit.veto}


def _score(row: Ranked) -> str:
    return "—" if row.unit.score is None else str(row.unit.score)  # a vetoed unit with nobody to count


def decide_publication(
    decisions: Decisions, rows: Sequence[Ranked], *, period: Period, level: str, parent: str | None,
    district_code: str, now: datetime, plan_due_days: int, reward_count: int = 0,
) -> list[Envelope]:
    """The ranking as published — the ranked units only: a unit not assessed has no score and
    no place in it — and a rectification order for each bottom unit that has no open one for
    this period yet."""
    rows = [r for r in rows if r.rank is not None]
    if not rows:
        raise Refusal("parent" if parent else "level", f"nobody to rank for {period} at level {level}: no unit has anyone to count")
    stream = ranking_stream(period, level, parent)
    top = rewarded(rows, reward_count)
    published = Envelope.new(
        event_type="RankingPublished", stream_id=stream, stream_version=_next(decisions, stream),
        unit_code=parent or district_code, source=SOURCE, occurred_at=now, recorded_at=now,
        payload={
            "period": str(period), "level": level, "parent_unit": parent,
            # Each row carries what the unit's own inbox is told: its rank of how many, its figures.
            "rows": [
                {"rank": r.rank, "unit_code": r.unit.unit_code, "score": r.unit.score, "veto": r.unit.veto,
                 "attainment": r.unit.attainment, "penalty": r.unit.penalty, "assessed": r.unit.assessed, "of": len(rows),
                 "reward": r.unit.unit_code in top}
                for r in rows
            ],
        },
    )
    orders = []
    for row in rows:
        existing = decisions.rectification(row.unit.unit_code, str(period))
        if not row.bottom or (existing is not None and not existing.is_closed):
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


def _order(decisions: Decisions, unit_code: str, period: Period) -> Rectification:
    existing = decisions.rectification(unit_code, str(period))
    if existing is None:
        # The unit exists; what it lacks is an order to answer: a decision that cannot be taken.
        raise Conflict("unit_code", f"{unit_code} has no rectification order for {period}")
    return existing


def _cycle_event(
    decisions: Decisions, order: Rectification, event_type: str, payload: dict, now: datetime
) -> Envelope:
    stream = f"rectification-{order.unit_code}-{order.period}"
    return Envelope.new(
        event_type=event_type, stream_id=stream, stream_version=_next(decisions, stream), unit_code=order.unit_code,
        source=SOURCE, occurred_at=now, recorded_at=now, causation_id=order.required_by,
        payload={"unit_code": order.unit_code, "period": order.period, **payload},
    )


def decide_plan(
    decisions: Decisions, *, unit_code: str, period: Period, summary: str, now: datetime,
    documents: Sequence[dict] = (),
) -> Envelope:
    """书面检查汇报, 整改方案: the report and the plan, each at least once among the documents."""
    order = _order(decisions, unit_code, period)
    if not order.is_open:
        raise Conflict("unit_code", f"{unit_code} owes no plan for {period}: its order is {order.status}")
    kinds = {d["kind"] for d in documents}
    if missing := [k for k in ("written_report", "rectification_plan") if k not in kinds]:
        raise Refusal("documents", f"missing {' and '.join(missing)}: the order asks for a written report and a plan")
    return _cycle_event(
        decisions, order, "RectificationPlanSubmitted",
        {"summary": summary, "round": order.round, "documents": list(documents)}, now,
    )


def decide_review(
    decisions: Decisions, *, unit_code: str, period: Period, accept: bool, reasons: Sequence[str],
    due: date, decided_by: str, now: datetime,
) -> Envelope:
    """Accept (the check is due by ``due``) or return (a new plan is due by ``due``)."""
    order = _order(decisions, unit_code, period)
    if order.status != "plan_submitted":
        raise Conflict("unit_code", f"{unit_code} has no plan awaiting review for {period}: its order is {order.status}")
    if due <= local_date(now):
        raise Refusal("due", f"{due.isoformat()} is not after today ({local_date(now).isoformat()})")
    common = {"round": order.round, "reasons": list(reasons), "decided_by": decided_by}
    if accept:
        return _cycle_event(decisions, order, "RectificationPlanAccepted", common | {"check_due": due.isoformat()}, now)
    return _cycle_event(decisions, order, "RectificationPlanReturned", common | {"plan_due": due.isoformat()}, now)


def decide_check(
    decisions: Decisions, *, unit_code: str, period: Period, rectified: bool, findings: str, checked_by: str,
    now: datetime,
) -> Envelope:
    order = _order(decisions, unit_code, period)
    if order.status != "accepted":
        raise Conflict("unit_code", f"{unit_code} has no accepted plan to check for {period}: its order is {order.status}")
    return _cycle_event(
        decisions, order, "RectificationChecked",
        {"result": "rectified" if rectified else "not_rectified", "findings": findings, "checked_by": checked_by}, now,
    )


def decide_letter(
    decisions: Decisions, *, unit_code: str, year: int, targets: dict[str, float], signed_on: date, signed_by: str,
    indicators: Sequence[str], tree, now: datetime,
) -> Envelope:
    """目标责任书, recorded at the start of the year: signed in the year before it or within its
    first quarter, once per unit and year, with targets for indicators the rules know."""
    if unit_code not in tree or tree[unit_code].level == "district":
        raise Refusal("unit_code", f"{unit_code}: a letter is signed by a town or a village of the district")
    if (unit_code, year) in decisions.letters:
        raise Conflict("unit_code", f"{unit_code} has signed its letter for {year} already")
    if not (date(year - 1, 1, 1) <= signed_on < date(year, 4, 1)):
        raise Refusal("signed_on", f"a letter for {year} is signed at the start of the year: by {year}-03-31")
    if signed_on > local_date(now):
        raise Refusal("signed_on", f"{signed_on.isoformat()} is in the future: record a letter once it is signed")
    _check_targets(targets, indicators)
    stream = f"letter-{unit_code}-{year}"
    # The letter binds from the day it was signed, not from the day someone typed it in: a
    # letter signed on 5 January and recorded in March was in force in February (as_of), though
    # not known then (known_at).
    return Envelope.new(
        event_type="ResponsibilityLetterSigned", stream_id=stream, stream_version=_next(decisions, stream),
        unit_code=unit_code, source=SOURCE, occurred_at=start_of(signed_on), recorded_at=now,
        payload={"unit_code": unit_code, "year": year, "targets": dict(targets), "signed_on": signed_on.isoformat(),
                 "signed_by": signed_by},
    )


def _check_targets(targets: dict[str, float], indicators: Sequence[str]) -> None:
    for indicator, target in targets.items():
        if indicator not in indicators:
            raise Refusal(f"targets.{indicator}", f"not an indicator (known: {', '.join(indicators)})")
        if not 0 <= target <= 1:
            raise Refusal(f"targets.{indicator}", f"a target is a rate from 0 to 1, not {target}")


def decide_amendment(
    decisions: Decisions, *, unit_code: str, year: int, targets: dict[str, float], reason: str, decided_by: str,
    indicators: Sequence[str], now: datetime, occurred_at: datetime | None = None,
) -> Envelope:
    """A later decision changing a signed letter's targets: the letter must exist, the decision
    fall between its signing and now, and change at least one target as the letter stands."""
    letter = decisions.letters.get((unit_code, year))
    if letter is None:
        raise NotFound("unit_code", f"{unit_code} has no responsibility letter for {year} to amend")
    _check_targets(targets, indicators)
    if all(letter["targets"].get(indicator) == target for indicator, target in targets.items()):
        raise Refusal("targets", "changes no target of the letter as it stands")
    occurred = occurred_at or now
    if occurred > now:
        raise Refusal("occurred_at", "is in the future: record an amendment once it is decided")
    if occurred < letter["occurred_at"]:
        raise Refusal("occurred_at", f"is before the letter was signed ({letter['occurred_at'].isoformat()})")
    stream = f"letter-{unit_code}-{year}"
    return Envelope.new(
        event_type="ResponsibilityLetterAmended", stream_id=stream, stream_version=_next(decisions, stream),
        unit_code=unit_code, source=SOURCE, occurred_at=occurred, recorded_at=now,
        payload={"unit_code": unit_code, "year": year, "amends": letter["event_id"], "targets": dict(targets),
                 "reason": reason, "decided_by": decided_by},
    )


def against_letter(letter: dict, figures: dict[str, tuple[int, int]]) -> list[dict]:
    """Each target of the letter beside the unit's figure for the year: met, short, or nobody counted."""
    out = []
    for indicator, target in letter["targets"].items():
        numerator, denominator = figures.get(indicator, (0, 0))
        rate = round(numerator / denominator, 4) if denominator else None
        out.append({
            "indicator": indicator, "target": target, "numerator": numerator, "denominator": denominator, "rate": rate,
            "met": None if rate is None else rate >= target,
            "gap": None if rate is None else round(target - rate, 4),
        })
    return out
