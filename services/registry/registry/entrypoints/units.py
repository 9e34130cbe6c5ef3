"""The unit tree (区—镇(街)—村(居)), the associations, and how many residents a unit has."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from platform_kit import problems
from platform_kit.auth import ensure_unit_scope
from platform_kit.problems import NotFound
from platform_kit.units import Unit, associations

from registry.entrypoints.access import Caller
from registry.entrypoints.dependencies import Reg
from registry.entrypoints.schemas import AssociationView, Counts, UnitDetail, UnitView
from registry.service_layer.handlers import Registry

router = APIRouter(prefix="/api", tags=["units"])


def _unit(u: Unit) -> UnitView:
    return UnitView(code=u.code, name=u.name, kind=u.kind, level=u.level, parent_code=u.parent_code)


def _known_unit(registry: Registry, code: str, field: str) -> Unit:
    if code not in registry.units:
        raise NotFound(field, f"{code} is not a unit of {registry.units.district.name}")
    return registry.units[code]


@router.get(
    "/units", responses=problems.responses(404, 503),
    summary="The unit tree: 市中区, its 11 towns and streets, their 162 villages and communities",
)
async def list_units(
    registry: Reg,
    level: Annotated[Literal["district", "town", "village"] | None, Query()] = None,
    parent: Annotated[str | None, Query(description="only the children of this unit")] = None,
) -> list[UnitView]:
    tree = registry.units
    if parent is not None:
        _known_unit(registry, parent, "parent")
        units = tree.children(parent)
    else:
        units = [tree.district, *tree.towns(), *tree.villages()]
    return [_unit(u) for u in units if level is None or u.level == level]


@router.get("/units/{code}", responses=problems.responses(404, 503), summary="One unit, its ancestors and its children")
async def get_unit(registry: Reg, code: str) -> UnitDetail:
    unit = _known_unit(registry, code, "code")
    tree = registry.units
    return UnitDetail(
        **_unit(unit).model_dump(),
        ancestors=[_unit(u) for u in tree.ancestors(code)],
        children=[_unit(u) for u in tree.children(code)],
    )


@router.get(
    "/units/{code}/counts", responses=problems.responses(404, 503),
    summary="How many residents a unit has (erased people still count)",
)
async def counts(registry: Reg, code: str, caller: Caller) -> Counts:
    _known_unit(registry, code, "code")
    ensure_unit_scope(caller, code, field="code")
    rows = await registry.read_model.counts(registry.villages_under(code, "code"))
    by_population: dict[str, int] = {}
    by_sex: dict[str, int] = {}
    living = departed = erased = 0
    for row in rows:
        n = row["n"]
        if row["status"] == "living":
            living += n
            by_population[row["population"]] = by_population.get(row["population"], 0) + n
            by_sex[row["sex"]] = by_sex.get(row["sex"], 0) + n
        else:
            departed += n
        erased += n if row["erased"] else 0
    return Counts(
        unit_code=code, living=living, departed=departed, erased=erased,
        by_population=by_population, by_sex=by_sex,
    )


@router.get("/associations", summary="The 13 流动人口计生协会 and the units that host them")
async def list_associations() -> list[AssociationView]:
    return [AssociationView(ref=a.ref, name=a.name, host_unit_code=a.host_unit_code, host_kind=a.host_kind) for a in associations()]
