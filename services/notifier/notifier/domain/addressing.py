"""Who a recipient expression of the rules means, with the unit tree 区—镇(街)—村(居).

Recipients are addresses of inboxes: ``unit:<12-digit code>`` (a unit's managers),
``resident:<uuid>`` (the person), ``place:<code>`` (a place outside the district, e.g. a
registration place 户籍地, reached through its subscribed channels).
"""

from __future__ import annotations

from typing import Any

from platform_kit.units import UnitTree


def resolve(expr: str, facts: dict[str, Any], tree: UnitTree) -> str | None:
    """The inbox ``expr`` names for these facts, or None if the facts name nobody."""
    if expr == "district":
        return f"unit:{tree.district.code}"
    kind, fact = expr.split(":", 1)
    value = facts.get(fact)
    if not value:
        return None
    value = str(value)
    if kind == "resident":
        return f"resident:{value}"
    if kind == "unit":
        return f"unit:{value}" if value in tree else f"place:{value}"
    if value not in tree:
        return None  # outside the district: no town or supervisor of ours
    unit = tree[value]
    if kind == "town":
        return None if unit.level == "district" else f"unit:{tree.town_of(value).code}"
    # supervisor: the office right above
    return f"unit:{unit.parent_code}" if unit.parent_code else None


def recipients(exprs: list[str], facts: dict[str, Any], tree: UnitTree) -> list[str]:
    """The distinct inboxes named, in the order the rule lists them."""
    resolved = (resolve(expr, facts, tree) for expr in exprs)
    return list(dict.fromkeys(r for r in resolved if r))


def unit_of(recipient: str) -> str | None:
    kind, _, code = recipient.partition(":")
    return code if kind == "unit" else None


def place_name(code: str | None, tree: UnitTree) -> str:
    if not code:
        return "未知"
    return tree[code].name if code in tree else f"{code}（区外）"
