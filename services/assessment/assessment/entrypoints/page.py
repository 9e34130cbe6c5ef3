"""The page people look at: static HTML, CSS and plain JavaScript served by the service."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from platform_kit.problems import NotFound

PAGE = Path(__file__).resolve().parent.parent / "page"


router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(PAGE / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/page/{name}")
async def asset(name: str) -> FileResponse:
    allowed = {p.name: p for p in PAGE.iterdir() if p.suffix in {".js", ".css", ".svg"}}
    if name not in allowed:
        raise NotFound("path.name", "no such page asset")
    return FileResponse(allowed[name], headers={"Cache-Control": "no-cache"})
