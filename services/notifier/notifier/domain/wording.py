"""A rule's Chinese text template, filled in with facts.

``{fact}`` is the fact's value; ``{fact_name}`` the name of the unit it holds (市中区's own
units by name, other places by code); ``{fact_label}`` the value's label from the rules'
``[labels]`` table. A fact the event does not carry reads 未知 (unknown): an omitted
optional field must not stop a notification. Misspelt fields are caught when the rules are
checked against the contract (``notifier.domain.checks``), not here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from platform_kit.units import UnitTree

from notifier.domain.addressing import place_name

UNKNOWN = "未知"


class _Words(Mapping[str, str]):
    def __init__(self, facts: Mapping[str, Any], tree: UnitTree, labels: Mapping[str, Mapping[str, str]]) -> None:
        self.facts, self.tree, self.labels = facts, tree, labels

    def __getitem__(self, key: str) -> str:
        if key in self.facts:
            return _text(self.facts[key])
        base, _, suffix = key.rpartition("_")
        value = self.facts.get(base)
        if suffix == "name":
            return place_name(value, self.tree)
        if suffix == "label" and value is not None:
            return self.labels.get(base, {}).get(str(value), str(value))
        return UNKNOWN

    def __iter__(self) -> Iterator[str]:
        return iter(self.facts)

    def __len__(self) -> int:
        return len(self.facts)


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):  # reasons, say: one sentence after another
        return "；".join(_text(v) for v in value) if value else UNKNOWN
    return UNKNOWN if value is None or value == "" else str(value)


def render(template: str, facts: Mapping[str, Any], tree: UnitTree, labels: Mapping[str, Mapping[str, str]]) -> str:
    return template.format_map(_Words(facts, tree, labels))
