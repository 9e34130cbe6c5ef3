"""``msp audit export`` and ``msp audit verify-bundle``: a unit's figures for a period, the
events that make them, the rules in force, signed; and the offline check of all of it.

The bundle (a zip; see :mod:`platform_kit.audit.bundle`):

    events.jsonl     one stored event per line, as sealed in its store's hash chain, with the
                     chain's hash before it and its own (so each line is checkable alone)
    figures.json     the unit, the period, the clocks, and the assessment's figures
    indicators.toml  the rules in force when the figures were made
    anchors.json     each source store's chain head at the export (also written to audit_anchor)
"""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import typer
from rich.table import Table

from platform_kit.audit import bundle
from platform_kit.audit.canonical import SELECT, link, sealed_form
from platform_kit.audit.chain import ChainSealer
from platform_kit.audit.keys import signing_key, verifying_key
from platform_kit.cli.audit_common import CLEAN, FOUND, DatabaseUrl, database_url, progress_bar, run, stdout, unable
from platform_kit.database import create_pool
from platform_kit.envelope import Envelope

# The stores the assessment's figures are made from (its projection reads their topics).
SOURCES = (("registry", "registry"), ("services-log", "services_log"))


def _period(text: str):
    from assessment.domain.periods import Period

    try:
        return Period.parse(text)
    except ValueError as error:
        raise typer.BadParameter(str(error).removeprefix("period: "), param_hint="--period") from None


def _instant(text: str | None, option: str):
    from assessment.domain.periods import parse_instant

    try:
        return parse_instant(text, field=option)
    except ValueError as error:
        raise typer.BadParameter(str(error).removeprefix(f"{option}: "), param_hint=option) from None


def _unit(text: str) -> str:
    from platform_kit.auth.hygiene import normalise_unit_code
    from platform_kit.units import unit_tree

    try:
        code = normalise_unit_code(text)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--unit") from None
    if code not in unit_tree():
        raise typer.BadParameter(f"{code} is not a unit of {unit_tree().district.name}", param_hint="--unit")
    return code


def envelope_of(form: dict[str, Any]) -> Envelope:
    """The event back from its sealed form (payload from the stored text)."""
    return Envelope.model_validate({**{k: v for k, v in form.items() if k != "position"}, "payload": json.loads(form["payload"])})


def export(
    unit: Annotated[str, typer.Option("--unit", help="the unit code (12 digits): village, town or the district")],
    period: Annotated[str, typer.Option("--period", help="2013, 2013-Q2 or 2013-05")],
    out: Annotated[Path, typer.Option("--out", help="the bundle to write (a zip)", dir_okay=False)],
    known_at: Annotated[str | None, typer.Option("--known-at", help="figures as known then (date = end of that day, CST); needs --assessment-url")] = None,
    assessment_url: Annotated[str | None, typer.Option("--assessment-url", envvar="MSP_ASSESSMENT_URL", help="take the figures from the running assessment's API (default: its read model in PostgreSQL)")] = None,
    token: Annotated[str | None, typer.Option("--token", envvar="MSP_TOKEN", help="bearer token for --assessment-url (default: an auditor token from the development key)")] = None,
    assessment_schema: Annotated[str, typer.Option("--assessment-schema", help="the assessment's schema (read model)")] = "assessment",
    registry_schema: Annotated[str, typer.Option("--registry-schema")] = "registry",
    services_schema: Annotated[str, typer.Option("--services-schema")] = "services_log",
    rules: Annotated[Path | None, typer.Option("--rules", help="the rules in force (default: the assessment's indicators.toml)", exists=True, dir_okay=False)] = None,
    url: DatabaseUrl = None,
) -> None:
    """Write a signed bundle with a unit's figures for a period, the events that make them
    and the rules in force. Exit 0 written and consistent; 1 written, but the figures differ
    from what the events give (the difference is printed); 2 usage; 3 could not export."""
    from assessment.settings import DEFAULT_RULES

    code, asked = _unit(unit), _period(period)
    known = _instant(known_at, "--known-at")
    if known is not None and assessment_url is None:
        raise typer.BadParameter("the read model holds today's figures only; give --assessment-url for past knowledge", param_hint="--known-at")
    rules_bytes = (rules or DEFAULT_RULES).read_bytes()
    schemas = ((SOURCES[0][0], registry_schema), (SOURCES[1][0], services_schema))
    try:
        result = run(_export(database_url(url), schemas, code, asked, known, assessment_url, token, assessment_schema, rules_bytes, out))
    except (OSError, asyncpg.PostgresError, ValueError, RuntimeError) as error:
        raise unable("audit export", f"{type(error).__name__}: {error}") from None
    events, differences = result
    stdout.print(f"wrote {out}: {events} events, unit {code}, period {asked}", highlight=False)
    if differences:
        _print_differences(differences)
        raise typer.Exit(FOUND)


async def _export(url, schemas, code, period, known_at, assessment_url, token, assessment_schema, rules_bytes, out):
    from assessment.domain.audit_figures import needed_events, unit_figures
    from assessment.domain.facts import PERSON_EVENT_TYPES
    from assessment.domain.periods import Clocks
    from assessment.domain.policy import Rules
    from platform_kit.units import unit_tree

    tree, rules = unit_tree(), Rules.model_validate(tomllib.loads(rules_bytes.decode()))
    clocks = Clocks(known_at=known_at)
    pool = await create_pool(url, max_size=2)
    try:
        lines, anchors = [], {}
        with progress_bar() as progress:
            for label, schema in schemas:
                sealer = ChainSealer(pool, schema)
                await sealer.setup()
                await sealer.seal_all()  # every exported event is sealed, and the head anchored
                head = await sealer.anchor("msp audit export")
                anchors[label] = {"schema": schema, "position": head.position, "hash": head.hex}
                task = progress.add_task(f"reading {label}", total=head.position)
                after = 0
                while after < head.position:
                    rows = await pool.fetch(
                        f"SELECT {', '.join('e.' + c for c in SELECT.split(', '))}, c.hash, coalesce(p.hash, $4::bytea) AS prev "
                        f"FROM {schema}.events e JOIN {schema}.event_chain c ON c.position = e.position "
                        f"LEFT JOIN {schema}.event_chain p ON p.position = e.position - 1 "
                        "WHERE e.position > $1 AND e.position <= $2 AND e.event_type = ANY($3::text[]) "
                        "ORDER BY e.position LIMIT 5000",
                        after, head.position, sorted(PERSON_EVENT_TYPES), bytes(32),
                    )
                    if not rows:
                        break
                    for row in rows:
                        lines.append({"store": label, "sealed": sealed_form(row), "prev_hash": bytes(row["prev"]).hex(), "hash": bytes(row["hash"]).hex()})
                    progress.update(task, completed=rows[-1]["position"])
                    after = rows[-1]["position"]
                progress.update(task, completed=head.position)
        events = [envelope_of(line["sealed"]) for line in lines]
        needed = {e.event_id for e in needed_events(events, tree, code)}
        chosen = [line for line, e in zip(lines, events, strict=True) if e.event_id in needed]
        chosen_events = [e for e in events if e.event_id in needed]
        if unit_figures(chosen_events, rules, tree, code, period, clocks) != unit_figures(events, rules, tree, code, period, clocks):
            raise RuntimeError("the events chosen for the unit do not give the figures all events give: the selection is incomplete")
        if assessment_url:
            figures, source = await _figures_from_api(assessment_url, token, code, period, known_at), f"assessment API {assessment_url}"
        else:
            figures, source = await _figures_from_read_model(pool, assessment_schema, code, period, rules), f"assessment read model {assessment_schema}.coverage"
    finally:
        await pool.close()
    recomputed = unit_figures(chosen_events, rules, tree, code, period, clocks)
    document = {
        "unit": code, "period": str(period), "known_at": known_at.isoformat() if known_at else None,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"), "source": source,
        "figures": {i: {"numerator": n, "denominator": d} for i, (n, d) in sorted(figures.items())},
    }
    files = {
        "events.jsonl": "".join(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n" for line in chosen).encode(),
        "figures.json": json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True).encode(),
        "indicators.toml": rules_bytes,
        "anchors.json": json.dumps(anchors, indent=2, sort_keys=True).encode(),
    }
    key, kind = signing_key()
    bundle.write(out, files, key, kind)
    return len(chosen), _differences(figures, recomputed)


async def _figures_from_read_model(pool, schema, code, period, rules) -> dict[str, tuple[int, int]]:
    rows = await pool.fetch(
        f"SELECT indicator, numerator, denominator FROM {schema}.coverage WHERE unit_code = $1 AND period = $2", code, str(period)
    )
    figures = {i.id: (0, 0) for i in rules.indicators}
    figures.update({r["indicator"]: (r["numerator"], r["denominator"]) for r in rows})
    return figures


async def _figures_from_api(base, token, code, period, known_at) -> dict[str, tuple[int, int]]:
    import httpx

    from platform_kit.auth.dev_key import DevKey
    from platform_kit.auth.settings import default_key_dir

    token = token or DevKey.load_or_create(default_key_dir()).mint(
        {"sub": "msp-audit-export", "role": "auditor", "units": [code[:6] + "000000"]}, ttl_seconds=600
    )
    params = {"period": str(period), **({"known_at": known_at.isoformat()} if known_at else {})}
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        answer = await client.get(f"/api/units/{code}/coverage", params=params, headers={"Authorization": f"Bearer {token}"})
    if answer.status_code != 200:
        raise RuntimeError(f"the assessment answered {answer.status_code}: {answer.text[:300]}")
    return {i["id"]: (i["numerator"], i["denominator"]) for i in answer.json()["indicators"]}


def _differences(published: dict, recomputed: dict) -> list[tuple[str, tuple, tuple]]:
    return [(i, published.get(i), recomputed.get(i)) for i in sorted(set(published) | set(recomputed)) if published.get(i) != recomputed.get(i)]


def _print_differences(differences) -> None:
    table = Table("indicator", "published n/d", "from the events n/d", title="figures that the events do not give", box=None)
    for indicator, published, recomputed in differences:
        table.add_row(indicator, "/".join(map(str, published or ("—",))), "/".join(map(str, recomputed or ("—",))))
    stdout.print(table)


def verify_bundle(
    file: Annotated[Path, typer.Argument(help="the bundle (zip) to check", dir_okay=False)],
    public_key: Annotated[Path | None, typer.Option("--public-key", help="the district's audit public key (PEM); default $MSP_AUDIT_PUBLIC_KEY_FILE, else the development key")] = None,
) -> None:
    """Check a bundle offline, with nothing running: the signature, every file's hash and the
    archive's bytes, each event against its chain seal, and the figures recomputed from the
    bundle's events alone with the assessment's domain code. Exit 0 proven, 1 refused, 2
    usage, 3 could not check (no key, unreadable file)."""
    from assessment.domain.audit_figures import unit_figures
    from assessment.domain.periods import Clocks, Period
    from assessment.domain.policy import Rules
    from platform_kit.units import unit_tree

    try:
        key = verifying_key(public_key)
    except (OSError, ValueError) as error:
        raise unable("audit verify-bundle", str(error)) from None
    if not file.exists():
        raise unable("audit verify-bundle", f"{file}: no such file")
    try:
        opened = bundle.open_checked(file, key)
        stdout.print(f"[green]✓[/] signature and {len(opened.manifest['files'])} file hashes ({opened.manifest['signed_by']['kind']})")
        lines = [json.loads(line) for line in opened.files["events.jsonl"].decode().splitlines() if line]
        for line in lines:
            if link(bytes.fromhex(line["prev_hash"]), line["sealed"]) != bytes.fromhex(line["hash"]):
                raise bundle.BundleRefused(f"events.jsonl: the {line['store']} event at position {line['sealed']['position']} is not what its seal says")
        stdout.print(f"[green]✓[/] {len(lines)} events match their chain seals")
        document = json.loads(opened.files["figures.json"])
        rules = Rules.model_validate(tomllib.loads(opened.files["indicators.toml"].decode()))
        known = datetime.fromisoformat(document["known_at"]) if document["known_at"] else None
        recomputed = unit_figures(
            [envelope_of(line["sealed"]) for line in lines], rules, unit_tree(), document["unit"],
            Period.parse(document["period"]), Clocks(known_at=known),
        )
    except bundle.BundleRefused as error:
        stdout.print(f"[bold red]✗ refused:[/] {error}", highlight=False)
        raise typer.Exit(FOUND) from None
    except (KeyError, ValueError, TypeError) as error:
        stdout.print(f"[bold red]✗ refused:[/] the signed content is not a figures bundle: {type(error).__name__}: {error}", highlight=False)
        raise typer.Exit(FOUND) from None
    published = {i: (f["numerator"], f["denominator"]) for i, f in document["figures"].items()}
    differences = _differences(published, recomputed)
    if differences:
        _print_differences(differences)
        raise typer.Exit(FOUND)
    table = Table("indicator", "numerator", "denominator", title=f"{document['unit']} {document['period']}: recomputed = published", box=None)
    for indicator, (n, d) in sorted(recomputed.items()):
        table.add_row(indicator, str(n), str(d))
    stdout.print(table)
    raise typer.Exit(CLEAN)



