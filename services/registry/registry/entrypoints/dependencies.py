"""What a route needs from the running registry (FastAPI dependencies)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from platform_kit.problems import Refusal
from platform_kit.runtime import runtime_of

from registry.service_layer.handlers import Registry

REGISTRY = "registry"  # where the bootstrap's setup keeps the service layer: declaration.extra[REGISTRY]


def registry_of(request: Request) -> Registry:
    declaration = runtime_of(request).declaration
    registry = declaration.extra.get(REGISTRY) if declaration is not None else None
    if registry is None:
        raise Refusal("service", "the registry is starting; try again in a moment", kind="unavailable")
    return registry


Reg = Annotated[Registry, Depends(registry_of)]
