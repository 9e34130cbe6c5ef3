"""Security headers on every answer (pages and API): no framing, no sniffing, no referrer,
and content only from the service itself. FastAPI's /docs page loads Swagger UI from its CDN
and runs one inline script, so those few paths get a policy that allows exactly that."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "frame-ancestors 'none'; base-uri 'self'"
)
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")


def security_headers(csp: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", csp.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
    ]


class SecurityHeaders:
    """Plain ASGI middleware (streams pass through untouched); a header the route set itself wins."""

    def __init__(self, app: ASGIApp, *, docs_paths: Iterable[str] = DOCS_PATHS) -> None:
        self.app = app
        self.docs_paths = frozenset(docs_paths)
        self.default = security_headers(CONTENT_SECURITY_POLICY)
        self.docs = security_headers(DOCS_CONTENT_SECURITY_POLICY)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.docs if scope.get("path") in self.docs_paths else self.default

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_security_headers(app: FastAPI, *, docs_paths: Iterable[str] = DOCS_PATHS) -> None:
    app.add_middleware(SecurityHeaders, docs_paths=tuple(docs_paths))
