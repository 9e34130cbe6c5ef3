"""What the ``msp audit`` and ``msp replay`` commands share: which schema a service keeps its
store in, how to reach the database, and how long work shows its progress."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Coroutine
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from platform_kit.settings import KitSettings

# The default schema of each service that keeps an event store (each service's settings).
SERVICE_SCHEMAS = {"registry": "registry", "services-log": "services_log", "assessment": "assessment", "notifier": "notifier"}

# Exit codes scripts can rely on (docs/audit.md).
CLEAN, FOUND, USAGE, UNABLE = 0, 1, 2, 3

stdout = Console()
stderr = Console(stderr=True)

DatabaseUrl = Annotated[
    str | None, typer.Option("--database-url", envvar="DATABASE_URL", help="PostgreSQL URL (default: the local stack's)")
]
T = TypeVar("T")


def database_url(given: str | None) -> str:
    return given or KitSettings().database_url


def schemas_for(service: str | None, schema: str | None) -> list[tuple[str, str]]:
    """(label, schema) pairs to work on; a usage error (exit 2) for an unknown service."""
    if schema is not None:
        return [(service or schema, schema)]
    if service is None:
        return list(SERVICE_SCHEMAS.items())
    if service not in SERVICE_SCHEMAS:
        raise typer.BadParameter(f"{service!r} is not a service with an event store; one of {', '.join(SERVICE_SCHEMAS)}", param_hint="--service")
    return [(service, SERVICE_SCHEMAS[service])]


def unable(command: str, reason: str) -> typer.Exit:
    """Could not do the work at all (database unreachable, file unreadable): exit 3, so that a
    script never mistakes it for "clean" (0) or for "tampering found" (1)."""
    stderr.print(f"[bold red]msp {command}:[/] {reason}", highlight=False)
    return typer.Exit(UNABLE)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run the command's async work; in a thread of its own when called from inside a running
    event loop (the commands are plain functions that async code, tests included, may call)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


@contextmanager
def progress_bar(transient: bool = False):
    """Rows done, of how many, how long so far and how long still (ETA); on stderr so that
    stdout stays the command's answer."""
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=stderr, transient=transient,
    ) as progress:
        yield progress
