"""How a command fails: one line on stderr saying why, and exit code 1."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text

stderr = Console(stderr=True)


def fail(command: str, reason: str) -> NoReturn:
    stderr.print(Text.assemble((f"msp {command}: ", "bold red"), reason))
    raise typer.Exit(1)
