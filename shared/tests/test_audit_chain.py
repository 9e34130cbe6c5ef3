"""The hash chain on the real PostgreSQL: sealed beside the store, and every kind of tampering
found at its exact position and stream, by the library and by ``msp audit verify``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from platform_kit.audit.chain import ChainSealer
from platform_kit.audit.verify import verify
from platform_kit.event_store import EventStore
from platform_kit.testing import service_delivered

STREAMS = ["resident-a", "resident-b", "resident-c"]


@pytest.fixture
async def sealed(pool, schema):
    """Nine events over three streams, all sealed: (store, sealer)."""
    store = EventStore(pool, schema)
    await store.setup()
    sealer = ChainSealer(pool, schema, batch_size=4)  # several rounds, to cross batch edges
    await sealer.setup()
    for version in (1, 2, 3):
        await store.append([service_delivered(s, version, index=version) for s in STREAMS])
    head = await sealer.seal_all()
    assert head.position == 9
    return store, sealer


def kinds(report) -> list[tuple[str, int, str]]:
    return [(f.kind, f.position, f.stream_id) for f in report.findings]


async def stream_at(pool, schema, position: int) -> str:
    return await pool.fetchval(f"SELECT stream_id FROM {schema}.events WHERE position = $1", position)


class TestSealing:
    async def test_an_untouched_store_verifies_clean(self, sealed, pool, schema):
        report = await verify(pool, schema)
        assert report.clean and (report.events, report.sealed_head, report.unsealed) == (9, 9, 0)

    async def test_new_events_are_sealed_after_the_head_and_the_chain_continues(self, sealed, pool, schema):
        store, sealer = sealed
        before = await sealer.head()
        await store.append([service_delivered("resident-a", 4, index=4)])
        assert (await verify(pool, schema)).unsealed == 1
        after = await sealer.seal_all()
        assert after.position == 10 and after.hash != before.hash
        assert (await verify(pool, schema)).clean

    async def test_sealing_stops_at_a_hole_and_never_seals_over_it(self, pool, schema):
        store = EventStore(pool, schema)
        await store.setup()
        sealer = ChainSealer(pool, schema)
        await sealer.setup()
        await store.append([service_delivered(s, 1) for s in STREAMS])
        await pool.execute(f"DELETE FROM {schema}.outbox")
        await pool.execute(f"DELETE FROM {schema}.events WHERE position = 2")
        assert (await sealer.seal_all()).position == 1

    async def test_an_erased_persons_events_still_verify(self, sealed, pool, schema):
        # Erasure deletes a key in the registry's vault; the stored (sealed) payload is not
        # touched, so nothing the chain covers changes. Deleting a table the chain does not
        # cover stands for it here.
        await pool.execute(f"DROP TABLE {schema}.outbox_parked")
        assert (await verify(pool, schema)).clean


class TestTamperingIsLocated:
    async def test_an_edited_payload(self, sealed, pool, schema):
        await pool.execute(
            f"UPDATE {schema}.events SET payload = jsonb_set(payload, '{{free_of_charge}}', 'false') WHERE position = 5"
        )
        report = await verify(pool, schema)
        assert kinds(report) == [("edited", 5, await stream_at(pool, schema, 5))]

    async def test_an_edited_clock_is_found_too(self, sealed, pool, schema):
        await pool.execute(f"UPDATE {schema}.events SET recorded_at = recorded_at - interval '1 day' WHERE position = 2")
        assert kinds(await verify(pool, schema)) == [("edited", 2, "resident-b")]

    async def test_a_deleted_row(self, sealed, pool, schema):
        stream = await stream_at(pool, schema, 4)
        await pool.execute(f"DELETE FROM {schema}.outbox WHERE position = 4")
        await pool.execute(f"DELETE FROM {schema}.events WHERE position = 4")
        assert kinds(await verify(pool, schema)) == [("deleted", 4, stream)]

    async def test_an_inserted_row_renumbering_the_rows_after_it(self, sealed, pool, schema):
        # A forged event slipped in at position 8: the rows from 8 on moved up to make room.
        await pool.execute(f"DELETE FROM {schema}.outbox")
        await pool.execute(f"UPDATE {schema}.events SET position = -position WHERE position >= 8")
        await pool.execute(f"UPDATE {schema}.events SET position = 1 - position WHERE position < 0")
        forged = service_delivered("resident-z", 1)
        await pool.execute(
            f"INSERT INTO {schema}.events (position, event_id, stream_id, stream_version, event_type, schema_version,"
            " occurred_at, recorded_at, unit_code, source, payload)"
            " VALUES (8, $1, $2, 1, $3, 1, $4, $5, $6, $7, $8)",
            forged.event_id, forged.stream_id, forged.event_type, forged.occurred_at, forged.recorded_at,
            forged.unit_code, forged.source, forged.payload,
        )
        assert kinds(await verify(pool, schema)) == [
            ("inserted", 8, "resident-z"), ("moved", 9, "resident-b"), ("moved", 10, "resident-c"),
        ]

    async def test_an_inserted_row_below_the_first_position(self, sealed, pool, schema):
        forged = service_delivered("resident-z", 1)
        await pool.execute(
            f"INSERT INTO {schema}.events SELECT 0, $1, 'resident-z', 1, event_type, schema_version, occurred_at,"
            f" recorded_at, unit_code, source, NULL, NULL, payload FROM {schema}.events WHERE position = 1",
            forged.event_id,
        )
        assert kinds(await verify(pool, schema)) == [("inserted", 0, "resident-z")]

    async def test_two_positions_swapped(self, sealed, pool, schema):
        await pool.execute(f"DELETE FROM {schema}.outbox")
        await pool.execute(f"UPDATE {schema}.events SET position = -1 WHERE position = 3")
        await pool.execute(f"UPDATE {schema}.events SET position = 3 WHERE position = 7")
        await pool.execute(f"UPDATE {schema}.events SET position = 7 WHERE position = -1")
        # Position 3 held resident-c's first event, position 7 resident-a's third.
        report = await verify(pool, schema)
        assert kinds(report) == [("moved", 3, "resident-a"), ("moved", 7, "resident-c")]
        assert "sealed at position 7" in report.findings[0].detail

    async def test_events_and_chain_rewritten_together_miss_the_anchor(self, sealed, pool, schema):
        _, sealer = sealed
        anchored = await sealer.anchor("test")
        await pool.execute(
            f"UPDATE {schema}.events SET payload = jsonb_set(payload, '{{free_of_charge}}', 'false') WHERE position = 5"
        )
        # The forger re-seals from position 5 on, so that every link checks out again...
        await pool.execute(f"DELETE FROM {schema}.event_chain WHERE position >= 5")
        await sealer.seal_all()
        report = await verify(pool, schema)
        # ...but the head no longer reaches the hash anchored (and published) before.
        assert kinds(report) == [("chain", 9, "resident-c")]
        assert anchored.hex[:16] in report.findings[0].detail


class TestCommand:
    def msp(self, *args: str, url: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", "from platform_kit.cli import main; main()", "audit", *args, "--database-url", url],
            capture_output=True, text=True, timeout=120,
        )

    async def test_exit_codes_and_the_located_finding(self, sealed, pool, schema, stack):
        clean = self.msp("verify", "--schema", schema, url=stack.database_url)
        assert clean.returncode == 0, clean.stderr
        assert "unaltered" in clean.stdout
        await pool.execute(f"DELETE FROM {schema}.outbox WHERE position = 6")
        await pool.execute(f"DELETE FROM {schema}.events WHERE position = 6")
        found = self.msp("verify", "--schema", schema, url=stack.database_url)
        assert found.returncode == 1, found.stderr
        assert "deleted" in found.stdout and "6" in found.stdout and "resident-c" in found.stdout

    def test_a_wrong_command_line_is_exit_2(self, stack):
        assert self.msp("verify", "--service", "nonesuch", url=stack.database_url).returncode == 2
        assert self.msp("verify", "--anchor", "x:y", url=stack.database_url).returncode == 2

    def test_an_unreachable_database_is_exit_3_not_clean(self, stack):
        result = self.msp("verify", "--schema", "nowhere", url="postgresql://postgres@127.0.0.1:1/none")
        assert result.returncode == 3, result.stderr
