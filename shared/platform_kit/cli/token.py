"""``msp token``: a bearer token signed with this machine's development key.

For the demo and for tests: the services trust it only in development
(``AUTH_ENVIRONMENT=development`` with ``AUTH_PUBLIC_KEY_FILE=<key dir>/jwks.json``). The
token goes to stdout alone, so ``TOKEN=$(msp token --role town --unit 370402001000)`` works.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from platform_kit.auth.dev_key import DevKey
from platform_kit.auth.hygiene import normalise_unit_code
from platform_kit.auth.principal import ROLES, Principal
from platform_kit.auth.settings import DEFAULT_AUDIENCE, DEV_ISSUER, default_key_dir
from platform_kit.cli.errors import fail, stderr
from platform_kit.topics import DEPARTMENTS
from platform_kit.units import unit_tree

TTL = re.compile(r"^(\d+)([smhd])$")
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_TTL_SECONDS = 30 * 86400


def parse_ttl(text: str) -> int:
    match = TTL.match(text.strip())
    if not match or int(match[1]) == 0:
        raise ValueError(f"--ttl {text!r}: a number and a unit, like 30m, 8h or 7d")
    seconds = int(match[1]) * SECONDS[match[2]]
    if seconds > MAX_TTL_SECONDS:
        raise ValueError("--ttl: at most 30d")
    return seconds


def principal_for(role: str, units: list[str], department: str | None, sub: str | None) -> Principal:
    """The principal the options describe, checked against the unit tree; ValueError if not."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if role == "department":
        if department not in DEPARTMENTS or units:
            raise ValueError(f"a department token needs --department, one of {', '.join(DEPARTMENTS)} (and no --unit)")
        return Principal(sub=sub or f"dept:{department}", role=role, units=(department,))
    if department:
        raise ValueError("--department goes with --role department or --client-credentials")
    tree = unit_tree()
    codes = []
    for unit in units:
        try:
            code = normalise_unit_code(unit)
        except ValueError as error:
            raise ValueError(f"--unit {unit!r}: {error}") from None
        if code not in tree:
            raise ValueError(f"--unit {code}: not a unit of {tree.district.name}")
        codes.append(code)
    if role in ("district", "auditor"):
        codes = codes or [tree.district.code]
        if codes != [tree.district.code]:
            raise ValueError(f"a {role} token covers the whole district; give no --unit (or {tree.district.code})")
    else:
        if not codes:
            raise ValueError(f"a {role} token needs --unit (a {role} code)")
        wrong = [code for code in codes if tree[code].level != role]
        if wrong:
            raise ValueError(f"--unit {wrong[0]} is a {tree[wrong[0]].level}, not a {role}")
    return Principal(sub=sub or f"dev-{role}-{codes[0]}", role=role, units=tuple(dict.fromkeys(codes)))


def token(
    role: Annotated[str | None, typer.Option(help=f"one of: {', '.join(ROLES)}")] = None,
    unit: Annotated[list[str] | None, typer.Option(help="a unit code (12 digits), repeatable; the tier of the role")] = None,
    department: Annotated[str | None, typer.Option(help=f"for department tokens: {', '.join(DEPARTMENTS)}")] = None,
    client_credentials: Annotated[
        bool, typer.Option("--client-credentials", help="a department system's token (the OAuth client-credentials grant's shape)")
    ] = False,
    sub: Annotated[str | None, typer.Option(help="who the token names (default: made from role and unit)")] = None,
    ttl: Annotated[str, typer.Option(help="how long it is valid: 30m, 8h, 7d (at most 30d)")] = "8h",
    audience: Annotated[str, typer.Option(help="the `aud` claim")] = DEFAULT_AUDIENCE,
    issuer: Annotated[str, typer.Option(help="the `iss` claim")] = DEV_ISSUER,
    key_dir: Annotated[
        Path | None, typer.Option(envvar="MSP_KEY_DIR", help="where the development key lives (default $STACK_DIR/keys or .stack/keys)")
    ] = None,
) -> None:
    """Print a bearer token signed with the local development key (made on first use)."""
    if client_credentials:
        if role not in (None, "department"):
            fail("token", "--client-credentials makes a department token; drop --role")
        role = "department"
    if role is None:
        fail("token", f"give --role ({', '.join(ROLES)}) or --client-credentials --department NAME")
    try:
        seconds = parse_ttl(ttl)
        principal = principal_for(role, unit or [], department, sub)
    except ValueError as error:
        fail("token", str(error))
    directory = key_dir or default_key_dir()
    try:
        key = DevKey.load_or_create(directory)
    except (OSError, ValueError) as error:
        fail("token", f"the development key in {directory} cannot be used: {error}")
    claims = {"sub": principal.sub, "role": principal.role, "units": list(principal.units)}
    if client_credentials:
        claims["client_id"] = principal.sub
    print(key.mint(claims, ttl_seconds=seconds, issuer=issuer, audience=audience))
    stderr.print(
        f"[dim]{principal.role} {', '.join(principal.units)} as {principal.sub}, valid {ttl}; "
        f"services trust it with AUTH_ENVIRONMENT=development AUTH_PUBLIC_KEY_FILE={key.jwks_path}[/]",
        highlight=False, markup=True,
    )
