"""The page people look at: static HTML, CSS and plain JavaScript served by the service."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

PAGE = Path(__file__).resolve().parent.parent / "page"


def page_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def index() -> FileResponse:
        return FileResponse(PAGE / "index.html", headers={"Cache-Control": "no-cache"})

    @router.get("/page/{name}")
    async def asset(name: str) -> FileResponse:
        allowed = {p.name: p for p in PAGE.iterdir() if p.suffix in {".js", ".css", ".svg"}}
        if name not in allowed:
            raise HTTPException(404, detail=[{"loc": ["path", "name"], "msg": f"no page asset {name!r}", "type": "not_found"}])
        return FileResponse(allowed[name], headers={"Cache-Control": "no-cache"})

    return router
