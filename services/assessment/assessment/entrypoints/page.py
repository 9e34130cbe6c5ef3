"""The page people look at: static HTML, CSS and plain JavaScript served by the service."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from platform_kit.problems import NotFound
from platform_kit.runtime import open_to_all

PAGE = Path(__file__).resolve().parent.parent / "page"


# Open: the page and its scripts hold no data, and must load before anyone can sign in on it.
router = open_to_all(APIRouter(include_in_schema=False))


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(PAGE / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/page/{name}")
async def asset(name: str) -> FileResponse:
    allowed = {p.name: p for p in PAGE.iterdir() if p.suffix in {".js", ".css", ".svg"}}
    if name not in allowed:
        raise NotFound("path.name", "no such page asset")
    return FileResponse(allowed[name], headers={"Cache-Control": "no-cache"})
