"""CoverageChanged v2 lists many cells; a v1 event (one cell, as stored before) still reads,
as a list of one, so a consumer sees one shape however old the event."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from platform_kit.contract import catalogue
from platform_kit.contract.assessment import MOST_FIGURES
from platform_kit.envelope import Envelope

CELL = {
    "unit_code": "370402005003", "indicator": "free_pregnancy_checks", "period": "2013-Q4", "numerator": 87,
    "denominator": 100, "rate": 0.87, "target": 0.9, "band": "yellow",
}


def coverage_changed(version: int, payload: dict) -> Envelope:
    return Envelope.new(
        event_type="CoverageChanged", schema_version=version, stream_id="coverage-370402005003-x", stream_version=1,
        unit_code="370402005003", source="assessment", occurred_at="2013-12-03T10:00:00+08:00", payload=payload,
    )


def test_a_v1_announcement_of_one_cell_reads_as_a_v2_list_of_one():
    loaded = catalogue.load(coverage_changed(1, CELL))
    assert loaded.model_dump(mode="json") == {"figures": [CELL]}
    assert catalogue.upcast(coverage_changed(1, CELL)).schema_version == 2


def test_an_announcement_lists_at_least_one_figure_and_at_most_the_bound():
    with pytest.raises(ValidationError, match="figures"):
        catalogue.load(coverage_changed(2, {"figures": []}))
    with pytest.raises(ValidationError, match="figures"):
        catalogue.load(coverage_changed(2, {"figures": [CELL] * (MOST_FIGURES + 1)}))
    with pytest.raises(ValidationError, match="figures.0.band"):
        catalogue.load(coverage_changed(2, {"figures": [CELL | {"band": "blue"}]}))
