"""After the bad day, once everything is back and quiet: what was accepted is in its store once,
what must be told was told once, nothing waits, and the assessment's live view equals a clean
rebuild. Every check reads the private PostgreSQL and Kafka, or a public API; none trusts a
service's own account of itself."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx

from bad_day import QUIET_FOR, Result, derived_ids, district_caller

from platform_kit.testing import read_topic_to_end


def _find(document: Any, key: str) -> list[Any]:
    """Every value of ``key`` anywhere in a JSON document (readiness nests its checks)."""
    if isinstance(document, dict):
        return [v for k, v in document.items() if k == key] + [x for v in document.values() for x in _find(v, key)]
    if isinstance(document, list):
        return [x for v in document for x in _find(v, key)]
    return []


class Verdict:
    def __init__(self, day: Any) -> None:
        self.day = day
        self.ledger = day.ledger
        self.schemas = day.district.schemas
        self.lost = self.doubled = self.stuck = 0
        self.department_behind = False
        self.details: list[str] = []

    def note(self, kind: str, count: int, what: str) -> None:
        if count:
            setattr(self, kind, getattr(self, kind) + count)
            self.details.append(f"{kind}: {count} {what}")

    async def reach(self) -> Result:
        day = self.day
        rejected = await self.department_settled()
        await self.quiet()
        connection = await day.db()
        try:
            await self.stores(connection, rejected)
            await self.notices(connection)
            await self.waiting(connection)
            events = await day.event_count()
        finally:
            await connection.close()
        await self.rebuild_equals_live()
        return Result(day.faults, events, self.lost, self.doubled, self.stuck, self.details)

    # ---- quiet -------------------------------------------------------------------------------

    async def department_settled(self) -> set[uuid.UUID]:
        """Sentinels each consumer must reject go last on the department partition: once both
        rejections are out, everything before them was decided. Returns the rejected ids."""
        day = self.day
        unknown_mother = day.department_message("BirthReported", day.villages[0], "2013-05-02T00:00:00+08:00", {
            "mother_resident_id": str(uuid.uuid4()), "child_resident_id": str(uuid.uuid4()), "birth_date": "2013-05-02",
            "sex": "male", "reported_by": "hospital", "report_ref": "HOSP-SENTINEL",
        })
        not_a_check = day.department_message("ServiceDelivered", day.villages[0], "2013-05-21T10:00:00+08:00", {
            "service_id": str(uuid.uuid4()), "service_kind": "policy_publicity", "resident_id": str(uuid.uuid4()),
            "delivered_by_unit": day.villages[0], "staff_ref": "hosp-staff-7",
        })
        sentinels = {uuid.UUID(unknown_mother["event_id"]), uuid.UUID(not_a_check["event_id"])}
        for message in (unknown_mother, not_a_check):
            await day.publish(message, "sentinel")
        deadline = time.monotonic() + QUIET_FOR
        while True:
            rejected = await self.rejected_ids()
            if sentinels <= rejected:
                return rejected - sentinels
            if time.monotonic() > deadline:
                # The gate is behind (or stalled): what it has not decided waits, it is not lost.
                self.details.append(f"the sentinels' rejections never came: {len(sentinels - rejected)} missing")
                self.department_behind = True
                return rejected - sentinels
            await asyncio.sleep(2)

    async def rejected_ids(self) -> set[uuid.UUID]:
        records = await read_topic_to_end(
            self.day.stack.bootstrap_servers, self.day.district.namespace + "ingest.rejected", timeout=QUIET_FOR
        )
        ids = set()
        for record in records:
            event_id = json.loads(record.value).get("event_id")
            if event_id:
                ids.add(uuid.UUID(event_id))
        return ids

    async def quiet(self) -> None:
        """Poll until no outbox holds a row, no delivery is pending and no projection lags."""
        deadline = time.monotonic() + QUIET_FOR
        while True:
            waiting = await self.day.retrying(self.waiting_rows)
            lag = await self.lag()
            if not any(waiting.values()) and lag == 0:
                return
            if time.monotonic() > deadline:
                self.details.append(f"not quiet after {QUIET_FOR:.0f} s: {waiting}, projection lag {lag}")
                return
            await asyncio.sleep(2)

    async def lag(self) -> int:
        total = 0
        async with httpx.AsyncClient(timeout=15, headers=district_caller()) as http:
            for name in self.schemas:
                try:
                    ready = (await http.get(self.day.district.url(name) + "/health/ready")).json()
                except (httpx.HTTPError, ValueError):
                    return -1
                total += sum(v for v in _find(ready, "total_lag") if isinstance(v, int))
        return total

    async def waiting_rows(self) -> dict[str, int]:
        connection = await self.day.db()
        try:
            rows: dict[str, int] = {}
            for name, schema in self.schemas.items():
                for table in ("outbox", "outbox_parked"):
                    if await connection.fetchval("SELECT to_regclass($1)", f"{schema}.{table}"):
                        rows[f"{name}.{table}"] = await connection.fetchval(f"SELECT count(*) FROM {schema}.{table}")
            notifier = self.schemas["notifier"]
            rows["notifier.deliveries pending"] = await connection.fetchval(
                f"SELECT count(*) FROM {notifier}.deliveries WHERE state = 'pending'")
            return rows
        finally:
            await connection.close()

    async def waiting(self, connection: Any) -> None:
        for what, count in (await self.waiting_rows()).items():
            self.note("stuck", count, f"rows in {what}")

    # ---- the stores --------------------------------------------------------------------------

    async def stores(self, connection: Any, rejected: set[uuid.UUID]) -> None:
        registry, services_log = self.schemas["registry"], self.schemas["services-log"]
        ledger = self.ledger
        accepted_http = [e for ids in ledger.registered.values() for e in ids] + [e for _, e in ledger.moves] + list(ledger.services.values())
        stored = {r["event_id"] for r in await connection.fetch(
            f"SELECT event_id FROM {registry}.events WHERE event_id = ANY($1::uuid[]) UNION ALL "
            f"SELECT event_id FROM {services_log}.events WHERE event_id = ANY($1::uuid[])", accepted_http)}
        self.note("lost", len(set(accepted_http) - stored), "accepted HTTP commands whose event is not stored")
        known_only_by_id = [f"resident-{r}" for r, ids in ledger.registered.items() if not ids]
        found = await connection.fetchval(
            f"SELECT count(DISTINCT stream_id) FROM {registry}.events WHERE event_type = 'ResidentRegistered' AND stream_id = ANY($1)",
            known_only_by_id)
        self.note("lost", len(known_only_by_id) - found, "registrations answered 'recorded already' but not stored")

        accepted_department = {i: k for i, k in ledger.department.items() if i not in rejected}
        by_owner: dict[str, list[uuid.UUID]] = {"registry": [], "services-log": []}
        for owner, event_id in derived_ids(accepted_department).values():
            by_owner[owner].append(event_id)
        for owner, ids in by_owner.items():
            there = await connection.fetchval(f"SELECT count(*) FROM {self.schemas[owner]}.events WHERE event_id = ANY($1::uuid[])", ids)
            self.note("stuck" if self.department_behind else "lost", len(ids) - there,
                      f"department messages for the {owner} neither stored nor rejected")
        self.details.append(
            f"accepted: {sum(1 for _ in ledger.registered)} registrations, {len(ledger.moves)} moves, {len(ledger.services)} services, "
            f"{len(accepted_department)} department messages ({len(ledger.department) - len(accepted_department)} rejected)")
        missing_oversized = [i for i in ledger.oversized if i not in rejected]
        self.note("stuck", len(missing_oversized), "oversized department messages never refused on ingest.rejected")

        registrations = await connection.fetchval(
            f"SELECT count(*) FROM {registry}.events WHERE event_type = 'ResidentRegistered' AND payload->>'via' = 'registration'")
        self.note("doubled", max(0, registrations - ledger.registrations_sent), "registrations stored more often than sent")
        self.note("doubled", await connection.fetchval(
            f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {registry}.events WHERE event_type = 'BirthReported' "
            "GROUP BY payload->>'report_ref') AS reports WHERE n > 1"), "birth reports stored twice")
        self.note("doubled", await connection.fetchval(
            f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {services_log}.events WHERE event_type = 'ServiceDelivered' "
            "GROUP BY stream_id) AS services WHERE n > 1"), "services stored twice")

    async def notices(self, connection: Any) -> None:
        """流入告知 for every migrant registered by staff or moved, 流出告知 for every move: each in
        the unit's inbox exactly once."""
        registry, notifier = self.schemas["registry"], self.schemas["notifier"]
        counts = await connection.fetch(
            f"""WITH required AS (
                  SELECT event_id, 'inflow' AS rule FROM {registry}.events
                   WHERE (event_type = 'ResidentRegistered' AND payload->>'via' = 'registration'
                          AND payload->>'population' = 'migrant')
                      OR event_type = 'ResidentMoved'
                  UNION ALL
                  SELECT event_id, 'outflow' FROM {registry}.events WHERE event_type = 'ResidentMoved')
                SELECT r.rule, count(i.notification_id) AS n
                  FROM required r LEFT JOIN {notifier}.inbox i ON i.caused_by_event_id = r.event_id AND i.rule = r.rule
                 GROUP BY r.event_id, r.rule""")
        self.note("lost", sum(1 for c in counts if c["n"] == 0), "required notices not in the inbox")
        self.note("doubled", sum(c["n"] - 1 for c in counts if c["n"] > 1), "notices in the inbox more than once")
        self.note("doubled", await connection.fetchval(
            f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {notifier}.notifications "
            "GROUP BY caused_by_event_id, rule, recipient) AS decided WHERE n > 1"), "notifications decided twice")
        self.details.append(f"notices checked: {len(counts)}")

    # ---- the read model against a clean rebuild ----------------------------------------------

    async def scoreboard(self, http: httpx.AsyncClient) -> dict[tuple[str, str], tuple[int, int]]:
        base = self.day.district.url("assessment")
        figures: dict[tuple[str, str], tuple[int, int]] = {}
        towns = (await http.get(base + "/api/scoreboard", params={"period": "2013", "level": "town"})).json()
        for town in towns["rows"]:
            villages = (await http.get(base + "/api/scoreboard", params={"period": "2013", "level": "village", "parent": town["unit_code"]})).json()
            for row in [town, *villages["rows"]]:
                for indicator, value in row["indicators"].items():
                    figures[(row["unit_code"], indicator)] = (value.get("numerator"), value.get("denominator"))
        return figures

    async def rebuild_equals_live(self) -> None:
        async with httpx.AsyncClient(timeout=30, headers=district_caller()) as http:
            live = await self.scoreboard(http)
            answer = await http.post(self.day.district.url("assessment") + "/api/admin/rebuild")
            if answer.status_code != 202:
                self.details.append(f"rebuild refused: {answer.status_code} {answer.text[:200]}")
                self.stuck += 1
                return
            deadline = time.monotonic() + QUIET_FOR
            rebuilt: dict = {}
            while time.monotonic() < deadline:
                await asyncio.sleep(3)
                try:
                    rebuilt = await self.scoreboard(http)
                except (httpx.HTTPError, ValueError, KeyError):
                    continue
                if rebuilt == live and await self.lag() == 0:
                    break
        self.details.append(f"assessment figures compared with a rebuild: {len(live)}")
        for key in set(live) | set(rebuilt):
            mine, clean = live.get(key, (0, 0)), rebuilt.get(key, (0, 0))
            for have, want in zip(mine, clean, strict=True):
                if have is None or want is None or have == want:
                    continue
                self.note("doubled" if have > want else "lost", abs(have - want), f"live {key} {mine} vs rebuilt {clean}")
