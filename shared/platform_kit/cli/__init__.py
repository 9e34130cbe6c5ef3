"""``msp``: the project's one command-line tool, for operators and auditors.

Each command lives in its own module and is listed here once; add yours the same way
(``app.command("replay")(replay.replay)``, or ``app.add_typer(audit.app, name="audit")``).
Exit codes: 0 done, 2 the command line is wrong (typer's usage errors), 1 anything else,
with the reason on stderr.
"""

from __future__ import annotations

import typer

from platform_kit.cli import audit, replay, token

app = typer.Typer(
    name="msp",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("token", no_args_is_help=True)(token.token)
app.add_typer(audit.app, name="audit")
app.command("replay", no_args_is_help=True)(replay.replay)


@app.callback()
def msp() -> None:
    """Migrant-services platform (市中区): tools for operators and auditors."""


def main() -> None:
    app(prog_name="msp")
