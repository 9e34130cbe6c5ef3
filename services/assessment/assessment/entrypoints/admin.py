"""Operations: rebuild the live view from history (the topics keep every event forever)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from platform_kit.runtime import ServiceRuntime


def admin_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(prefix="/api/admin", tags=["operations"])

    @router.post("/rebuild", status_code=202, summary="Empty the live view and read every event again from the beginning")
    async def rebuild() -> dict:
        if not runtime.runners:
            raise HTTPException(503, detail=[{"loc": ["service"], "msg": "the projection is not running", "type": "unavailable"}])
        for runner in runtime.runners:
            runner.request_rebuild()
        return {"rebuilding": [runner.name for runner in runtime.runners]}

    return router
