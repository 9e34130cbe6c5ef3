"""Query parameters a route does not take are refused, not ignored; codes typed in full-width
digits are read as the codes they are (``FOLDED``).

Ignored, a misspelt filter (``?unit=370402001`` for ``unit_code``, ``?opened=true``) answers
the whole list as if that were what was asked, and a district officer reads the wrong figures
without knowing. Every route of every service therefore answers a parameter it does not declare
with a 422 naming it (``query.<name>``) and listing what the route takes. Installed by the kit's
runtime on every service's app (``ServiceRuntime.http_app``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from pydantic import BaseModel, BeforeValidator

from platform_kit.envelope import UNIT_CODE_PATTERN, nfkc
from platform_kit.problems import Refusal

# A code in a path or a query, as a village manager's keyboard may type it (３７０４０２…): folded
# to ASCII (NFKC) before the route's pattern is checked, as the contract's bodies are
# (contract/common.py). After the ``Path``/``Query`` in the ``Annotated``, so that the OpenAPI
# document keeps the pattern: ``Annotated[str, Path(pattern=...), FOLDED]``.
FOLDED = BeforeValidator(nfkc)
# ``?unit_code=``: only this unit's (a town's: its villages' too), full-width digits folded.
UnitCodeFilter = Annotated[str | None, Query(pattern=UNIT_CODE_PATTERN), FOLDED]

_DECLARED = "_platform_kit_query_names"


def declared_query_names(route: object) -> frozenset[str] | None:
    """The query parameter names a FastAPI route declares (its own and its dependencies'),
    or None for a route that is not FastAPI's (the docs pages, mounted apps): those are left alone."""
    names = getattr(route, _DECLARED, None)
    if names is not None:
        return names
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    found: set[str] = set()
    for param in _query_params(dependant):
        annotation = param.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):  # a query model: its fields
            found.update(f.alias or n for n, f in annotation.model_fields.items())
        else:
            found.add(param.alias)
    names = frozenset(found)
    setattr(route, _DECLARED, names)
    return names


def _query_params(dependant) -> list:
    """The route's query parameters and those of every dependency it has, however deep."""
    params, pending = [], [dependant]
    while pending:
        current = pending.pop()
        params.extend(current.query_params)
        pending.extend(current.dependencies)
    return params


def refuse_undeclared_query(request: Request) -> None:
    """A FastAPI dependency for the whole app."""
    declared = declared_query_names(request.scope.get("route"))
    if declared is None:
        return
    for name in request.query_params:
        if name not in declared:
            takes = f"it takes {', '.join(sorted(declared))}" if declared else "it takes none"
            raise Refusal(f"query.{name}" if name else "query", f"is not a parameter of this route ({takes})")
