"""``msp audit``: is the history unaltered, and what proves a figure.

    msp audit verify [--service S] [--database-url URL] [--anchor POSITION:HASH]
    msp audit anchor [--service S]
    msp audit export --unit CODE --period P --out FILE
    msp audit verify-bundle FILE
    msp audit diff --period P --known-at A --known-at B

Exit codes: 0 clean, 1 tampering (or a difference) found, 2 the command line is wrong,
3 the check could not be made (database unreachable, file unreadable).
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
import typer
from rich.table import Table

from platform_kit.audit.chain import ChainSealer
from platform_kit.audit.verify import Report, verify as verify_chain
from platform_kit.cli import audit_bundle, audit_diff
from platform_kit.cli.audit_common import (
    CLEAN, FOUND, DatabaseUrl, database_url, progress_bar, run, schemas_for, stderr, stdout, unable,
)
from platform_kit.database import connect, create_pool

app = typer.Typer(no_args_is_help=True, help="Tamper evidence and audit bundles: verify, anchor, export, verify-bundle, diff.")

Service = Annotated[str | None, typer.Option("--service", help="registry, services-log, assessment or notifier (default: all)")]
Schema = Annotated[str | None, typer.Option("--schema", help="the store's schema, when not the service's default")]
MAX_LINES = 200

app.command("export")(audit_bundle.export)
app.command("verify-bundle")(audit_bundle.verify_bundle)
app.command("diff")(audit_diff.diff)


def _anchor(text: str) -> tuple[int, bytes]:
    try:
        position, digest = text.split(":", 1)
        value = (int(position), bytes.fromhex(digest))
    except ValueError:
        raise typer.BadParameter(f"{text!r}: POSITION:HASH, the hash in hex", param_hint="--anchor") from None
    if value[0] < 1 or len(value[1]) != 32:
        raise typer.BadParameter(f"{text!r}: a position from 1 and a 64-digit SHA-256", param_hint="--anchor")
    return value


@app.command("verify")
def verify(
    service: Service = None,
    schema: Schema = None,
    url: DatabaseUrl = None,
    anchor: Annotated[
        list[str] | None, typer.Option("--anchor", help="POSITION:HASH published elsewhere, checked too (repeatable)")
    ] = None,
) -> None:
    """Recompute each store's hash chain and report every edited, deleted, inserted or moved
    row with its position and stream. Exit 0 clean, 1 tampering found, 3 could not check."""
    targets = schemas_for(service, schema)
    anchors = [_anchor(a) for a in anchor or []]
    try:
        reports = run(_verify_all(database_url(url), targets, anchors))
    except (OSError, asyncpg.PostgresError) as error:
        raise unable("audit verify", f"cannot read the stores: {type(error).__name__}: {error}") from None
    tampered = False
    for label, report in reports:
        if report is None:
            stderr.print(f"[dim]{label}: no event store in this database (skipped)[/]")
            continue
        tampered |= not report.clean
        _print(label, report)
    raise typer.Exit(FOUND if tampered else CLEAN)


async def _verify_all(url: str, targets, anchors) -> list[tuple[str, Report | None]]:
    conn = await connect(url)
    try:
        out = []
        for label, schema in targets:
            if not await _has_chain(conn, schema):
                out.append((label, None))
                continue
            total = await conn.fetchval(f"SELECT count(*) FROM {schema}.events")
            with progress_bar(transient=True) as progress:
                task = progress.add_task(f"{label}: recomputing the chain", total=total)
                report = await verify_chain(conn, schema, anchors=anchors, progress=lambda n: progress.advance(task, n))
            out.append((label, report))
        return out
    finally:
        await conn.close()


async def _has_chain(conn: asyncpg.Connection, schema: str) -> bool:
    return await conn.fetchval("SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL",
                               f"{schema}.events", f"{schema}.event_chain")


def _print(label: str, report: Report) -> None:
    summary = (f"{label} ({report.schema}): {report.events} events, sealed to position {report.sealed_head}, "
               f"{report.unsealed} not sealed yet, {report.anchors_checked} anchors checked")
    if report.clean:
        stdout.print(f"[green]✓ unaltered[/] {summary}", highlight=False)
        return
    stdout.print(f"[bold red]✗ {len(report.findings)} finding(s)[/] {summary}", highlight=False)
    table = Table("kind", "position", "stream", "what", box=None)
    for finding in report.findings[:MAX_LINES]:
        table.add_row(finding.kind, str(finding.position), finding.stream_id, finding.detail)
    stdout.print(table)
    if len(report.findings) > MAX_LINES:
        stdout.print(f"… and {len(report.findings) - MAX_LINES} more")


@app.command("anchor")
def anchor(service: Service = None, schema: Schema = None, url: DatabaseUrl = None) -> None:
    """Seal everything committed so far and anchor the head now; prints `label position hash`
    per store, to publish where the database's administrators cannot reach."""
    targets = schemas_for(service, schema)
    try:
        heads = run(_anchor_all(database_url(url), targets))
    except (OSError, asyncpg.PostgresError) as error:
        raise unable("audit anchor", f"{type(error).__name__}: {error}") from None
    for label, head in heads:
        print(f"{label} {head.position} {head.hex}")


async def _anchor_all(url: str, targets):
    pool = await create_pool(url, max_size=2)
    try:
        heads = []
        for label, schema in targets:
            if await pool.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{schema}.events"):
                sealer = ChainSealer(pool, schema)
                await sealer.setup()
                await sealer.seal_all()
                heads.append((label, await sealer.anchor("msp audit anchor")))
        return heads
    finally:
        await pool.close()
