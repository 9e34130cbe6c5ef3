"""Personal data never reaches a log line."""

from __future__ import annotations

import logging

from platform_kit.logs import configure_logging, get_logger

PLANTED_ID = "370402198803151234"
PLANTED_PHONE = "13906321234"


def test_personal_fields_and_lookalike_values_are_masked(capsys):
    configure_logging("test", fmt="json")
    get_logger("t").info(
        "resident.registered",
        name="张秀英",
        id_number=PLANTED_ID,
        detail=f"called {PLANTED_PHONE} about {PLANTED_ID}",
        nested={"phone": PLANTED_PHONE, "unit": "370402005001"},
    )
    logging.getLogger("aiokafka").warning("library says %s", PLANTED_ID)
    err = capsys.readouterr().err
    assert "resident.registered" in err and "370402005001" in err
    for secret in (PLANTED_ID, PLANTED_PHONE, "张秀英"):
        assert secret not in err
