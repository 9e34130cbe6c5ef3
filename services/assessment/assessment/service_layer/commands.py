"""The district centre's commands: apply a one-vote veto, publish a ranking (which orders the
bottom units to rectify), and the rectification cycle: a unit's plan with its documents, the
district's review, the follow-up check. Each loads the decisions so far,
decides, and appends; a concurrent writer makes the store refuse, and we decide again."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta

import asyncpg

from assessment.adapters import decisions_store
from assessment.domain import decisions as decide
from assessment.domain.decisions import Decisions
from assessment.domain.periods import Clocks, Period
from assessment.service_layer.scoreboard import Scoreboards
from platform_kit.clock import SYSTEM_CLOCK, Clock
from platform_kit.envelope import Envelope
from platform_kit.event_store import ConcurrencyConflict, EventStore
from platform_kit.calendar import local_date
from platform_kit.problems import Conflict, NotFound, Refusal

ATTEMPTS = 5


class Commands:
    def __init__(self, store: Callable[[], EventStore], scoreboards: Scoreboards, clock: Clock = SYSTEM_CLOCK) -> None:
        self._store = store
        self.scoreboards = scoreboards
        self.clock = clock

    async def _decide_and_append(self, decide_from: Callable[[Decisions], Awaitable[list[Envelope]]]) -> list[Envelope]:
        for _ in range(ATTEMPTS):
            store = self._store()
            decisions = await decisions_store.decisions(store.pool, store.schema)
            events = await decide_from(decisions)
            if not events:
                return events
            try:
                await store.append(events)
                return events
            except (ConcurrencyConflict, asyncpg.UniqueViolationError):
                continue
        raise Conflict("stream_version", "changed meanwhile by other decisions, again and again; try again")

    async def apply_veto(
        self, *, unit_code: str, period: Period, reason: str, decided_by: str, occurred_at: datetime | None,
        responsible: list[dict] = (),
    ) -> Envelope:
        """``responsible``: role and name of each person held to account; the names are kept here,
        under the event's id, and never put on the event."""
        async def decide_from(decisions: Decisions) -> list[Envelope]:
            event = decide.decide_veto(
                decisions, unit_code=unit_code, period=period, reason=reason, decided_by=decided_by,
                tree=self.scoreboards.reads.tree, now=self.clock.now(), occurred_at=occurred_at,
                responsible_roles=[r["role"] for r in responsible],
            )
            if responsible:
                store = self._store()
                await decisions_store.keep_responsible(store.pool, store.schema, event.event_id, responsible)
            return [event]

        return (await self._decide_and_append(decide_from))[0]

    async def revoke_veto(self, *, unit_code: str, period: Period, reason: str, decided_by: str) -> Envelope:
        self.scoreboards.reads.unit(unit_code, field="unit_code")

        async def decide_from(decisions: Decisions) -> list[Envelope]:
            return [decide.decide_revocation(
                decisions, unit_code=unit_code, period=period, reason=reason, decided_by=decided_by, now=self.clock.now(),
            )]

        return (await self._decide_and_append(decide_from))[0]

    async def vetoes(self, period: Period | None, *, with_names: bool, clocks: Clocks = Clocks()) -> list[dict]:
        """Vetoes in force and revoked (as decided by ``as_of`` and recorded by ``known_at``);
        the responsible people's names only ``with_names``."""
        store = self._store()
        decisions = await decisions_store.decisions(store.pool, store.schema, clocks)
        chosen = [v for v in (*decisions.vetoes, *decisions.revoked) if period is None or v.period == period]
        names = await decisions_store.responsible(store.pool, store.schema, [v.event_id for v in chosen]) if with_names else {}
        return [
            v.as_json() | {"responsible": names.get(v.event_id) if with_names else None}
            for v in sorted(chosen, key=lambda v: (str(v.period), v.unit_code, v.occurred_at))
        ]

    async def publish_ranking(
        self, *, period: Period, level: str, parent: str | None, unless_published: bool = False
    ) -> list[Envelope]:
        """The ranking as it stands now; for villages without a parent, one per town.
        ``unless_published``: nothing when this period's ranking at this level is out already
        (the schedule's replicas and restarts announce each period once)."""

        async def decide_from(decisions: Decisions) -> list[Envelope]:
            if unless_published and decisions.published(period, level):
                return []
            events: list[Envelope] = []
            groups = await self.scoreboards.ranking(period, level, parent, Clocks(), field="parent")
            if parent is None and level == "village":
                # One ranking per town that has anyone to rank; a town whose villages are all
                # not assessed publishes none (refused only when no town has anyone).
                groups = [g for g in groups if any(r.rank is not None for r in g[1])] or groups[:1]
            for town, rows, _ in groups:
                events += decide.decide_publication(
                    decisions, rows, period=period, level=level, parent=town.code if town else None,
                    district_code=self.scoreboards.reads.tree.district.code, now=self.clock.now(),
                    plan_due_days=self.scoreboards.reads.rules.rectification.plan_due_days,
                    reward_count=self.scoreboards.reads.rules.reward.top_count,
                )
            return events

        return await self._decide_and_append(decide_from)

    async def submit_plan(self, *, unit_code: str, period: Period, summary: str, documents: list[dict]) -> Envelope:
        self.scoreboards.reads.unit(unit_code, field="unit_code")
        described = [await self._keep(unit_code, index, document) for index, document in enumerate(documents)]

        async def decide_from(decisions: Decisions) -> list[Envelope]:
            return [decide.decide_plan(
                decisions, unit_code=unit_code, period=period, summary=summary, now=self.clock.now(), documents=described,
            )]

        return (await self._decide_and_append(decide_from))[0]

    async def _keep(self, unit_code: str, index: int, document: dict) -> dict:
        """The document as the event describes it; its bytes, when given, kept by their hash."""
        field = f"documents[{index}]"
        content, reference = document.get("content_base64"), document.get("reference")
        if (content is None) == (reference is None):
            raise Refusal(field, "give either content_base64 (the bytes) or reference (where they are filed), not both")
        described = {k: document[k] for k in ("kind", "name", "media_type", "sha256", "size")}
        if reference is not None:
            return described | {"reference": reference}
        try:
            data = base64.b64decode(content, validate=True)
        except binascii.Error:
            raise Refusal(f"{field}.content_base64", "not base64") from None
        if len(data) != document["size"]:
            raise Refusal(f"{field}.size", f"says {document['size']} bytes; the content has {len(data)}")
        if (digest := hashlib.sha256(data).hexdigest()) != document["sha256"]:
            raise Refusal(f"{field}.sha256", f"does not match the content (its SHA-256 is {digest})")
        store = self._store()
        await decisions_store.keep_document(
            store.pool, store.schema, sha256=digest, media_type=document["media_type"], content=data, unit_code=unit_code
        )
        return described | {"reference": f"assessment:documents/{digest}"}

    async def review_plan(
        self, *, unit_code: str, period: Period, accept: bool, reasons: list[str], due: date | None, decided_by: str
    ) -> Envelope:
        self.scoreboards.reads.unit(unit_code, field="unit_code")
        days = self.scoreboards.reads.rules.rectification
        due = due or local_date(self.clock.now()) + timedelta(days=days.check_due_days if accept else days.resubmit_due_days)

        async def decide_from(decisions: Decisions) -> list[Envelope]:
            return [decide.decide_review(
                decisions, unit_code=unit_code, period=period, accept=accept, reasons=reasons, due=due,
                decided_by=decided_by, now=self.clock.now(),
            )]

        return (await self._decide_and_append(decide_from))[0]

    async def check(self, *, unit_code: str, period: Period, rectified: bool, findings: str, checked_by: str) -> Envelope:
        self.scoreboards.reads.unit(unit_code, field="unit_code")

        async def decide_from(decisions: Decisions) -> list[Envelope]:
            return [decide.decide_check(
                decisions, unit_code=unit_code, period=period, rectified=rectified, findings=findings,
                checked_by=checked_by, now=self.clock.now(),
            )]

        return (await self._decide_and_append(decide_from))[0]

    async def document(self, sha256: str) -> tuple[str, bytes, str] | None:
        store = self._store()
        row = await decisions_store.document(store.pool, store.schema, sha256)
        return (row["media_type"], bytes(row["content"]), row["unit_code"]) if row else None

    async def rectifications(
        self, period: Period | None, *, unit_code: str | None = None, open_only: bool = False, clocks: Clocks = Clocks()
    ) -> list[dict]:
        """The orders, by period and unit, where each stood on the clocks asked; ``open_only``:
        those not yet closed by a check, the next deadline first."""
        store = self._store()
        decisions = await decisions_store.decisions(store.pool, store.schema, clocks)
        chosen = [
            r for r in decisions.rectifications.values()
            if (period is None or r.period == str(period)) and (unit_code is None or r.unit_code == unit_code)
            and not (open_only and r.is_closed)
        ]
        if open_only:
            return [r.as_json() for r in sorted(chosen, key=lambda r: (r.next_deadline or date.max, r.unit_code))]
        return [r.as_json() for r in sorted(chosen, key=lambda r: (r.period, r.unit_code))]

    async def sign_letter(
        self, *, unit_code: str, year: int, targets: dict[str, float], signed_on: date, signed_by: str
    ) -> Envelope:
        reads = self.scoreboards.reads
        reads.unit(unit_code, field="unit_code")

        async def decide_from(decisions: Decisions) -> list[Envelope]:
            return [decide.decide_letter(
                decisions, unit_code=unit_code, year=year, targets=targets, signed_on=signed_on, signed_by=signed_by,
                indicators=[i.id for i in reads.rules.indicators], tree=reads.tree, now=self.clock.now(),
            )]

        return (await self._decide_and_append(decide_from))[0]

    async def amend_letter(
        self, *, unit_code: str, year: int, targets: dict[str, float], reason: str, decided_by: str,
        occurred_at: datetime | None,
    ) -> Envelope:
        reads = self.scoreboards.reads
        reads.unit(unit_code, field="unit_code")

        async def decide_from(decisions: Decisions) -> list[Envelope]:
            return [decide.decide_amendment(
                decisions, unit_code=unit_code, year=year, targets=targets, reason=reason, decided_by=decided_by,
                indicators=[i.id for i in reads.rules.indicators], now=self.clock.now(), occurred_at=occurred_at,
            )]

        return (await self._decide_and_append(decide_from))[0]

    async def letter(self, unit_code: str, year: int, clocks: Clocks) -> dict:
        """The unit's letter for the year beside its figures for that year (on the given clocks)."""
        reads = self.scoreboards.reads
        reads.unit(unit_code, field="unit_code")
        store = self._store()
        decisions = await decisions_store.decisions(store.pool, store.schema, clocks)
        letter = decisions.letters.get((unit_code, year))
        if letter is None:
            raise NotFound("unit_code", f"{unit_code} has no responsibility letter for {year}")
        period = Period(year)
        cells = (await reads.figures([period], clocks, units=[unit_code]))[period]
        figures = {i.id: cells.get((unit_code, i.id), (0, 0)) for i in reads.rules.indicators}
        kept = ("unit_code", "year", "targets", "signed_targets", "amendments", "signed_on", "signed_by", "event_id")
        return {**clocks.as_json(), "letter": {k: letter[k] for k in kept},
                "comparison": decide.against_letter(letter, figures)}
