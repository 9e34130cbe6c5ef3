"""Refusals are logged: every 401, 403 and 429 a service answers, as ``auth.refused``.

The services keep no sign-in sessions (each request carries its token), so the sign-ins
themselves are the identity provider's record; what the services can add is who was turned
away from what. A line holds the status, the method, the route's template (never the query
string, which may carry a purpose text), the caller's ``sub`` and role when the token was
valid (a 403 or 429), and the reason a token was refused (a 401's ``error_description``,
which never quotes the token). Never the token itself."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from platform_kit.logs import get_logger

log = get_logger("platform_kit.auth")
REFUSED = frozenset({401, 403, 429})
_DESCRIPTION = re.compile(r'error_description="([^"]*)"')


class RefusalLog:
    """Plain ASGI middleware: looks at the answer's status line only; bodies pass untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in REFUSED:
                refused(scope, message)
            await send(message)

        await self.app(scope, receive, watch)


def refused(scope: Scope, message: Message) -> None:
    route = scope.get("route")
    principal = scope.get("state", {}).get("principal")
    challenge = dict(message.get("headers", [])).get(b"www-authenticate", b"").decode("latin-1")
    reason = _DESCRIPTION.search(challenge)
    log.warning(
        "auth.refused", status=message["status"], method=scope.get("method"),
        route=getattr(route, "path", None) or "(no route)",
        sub=getattr(principal, "sub", None), role=getattr(principal, "role", None),
        reason=reason.group(1) if reason else ("no token" if message["status"] == 401 else None),
    )
