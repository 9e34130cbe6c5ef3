"""The league table exported to Excel (with its colour bands) and to CSV."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from assessment_examples import XINHUA, ZHONGXINJIE, worked_examples

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

PARAMS = {"period": "2013-Q2", "level": "village", "parent": ZHONGXINJIE}


@pytest.fixture
async def examples(running):
    await running.publish(worked_examples().events)
    await running.settled()
    return running


async def test_the_xlsx_has_every_row_with_its_bands(examples):
    response = await examples.http.get("/api/scoreboard/export", params=PARAMS | {"format": "xlsx"})
    assert response.status_code == 200
    assert 'filename="scoreboard-2013-Q2-village-370402001000.xlsx"' in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert header[:6] == ("排名", "名次变化", "单位代码", "单位", "所属镇街", "得分")
    assert len(rows) == 1 + 10
    xinhua = next(r for r in sheet.iter_rows(min_row=2) if r[2].value == XINHUA)
    rate = header.index("子女义务教育入学率 率")  # Xiao Ming, not yet enrolled in Q2: 0/1
    assert xinhua[rate].value == 0.0
    assert xinhua[rate].fill.fgColor.rgb.endswith("FFC7CE")  # red
    # The eight villages with nobody to count: no rank and no score (empty cells), not 100, last.
    assert [(r[0], r[5], r[6]) for r in rows[3:]] == [(None, None, None)] * 8
    assert [r[5] for r in rows[1:3]] == [27.53, 0]  # the two ranked villages (example 6)


async def test_the_csv_reads_in_excel_and_speaks_english_when_asked(examples):
    response = await examples.http.get("/api/scoreboard/export", params=PARAMS | {"format": "csv", "lang": "en"})
    assert response.status_code == 200 and response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Rank", "Rank change", "Unit code"]
    xinhua = next(r for r in rows[1:] if r[2] == XINHUA)
    assert xinhua[0] == "2" and xinhua[4] == "Zhongxinjie Subdistrict"
    score = rows[0].index("Score")
    assert [(r[0], r[score]) for r in rows[3:]] == [("", "")] * 8  # not assessed: no rank, no score


async def test_an_export_as_known_on_a_past_date_says_so(examples):
    response = await examples.http.get("/api/scoreboard/export", params=PARAMS | {"known_at": "2013-06-30"})
    about = dict(load_workbook(io.BytesIO(response.content))["about"].iter_rows(values_only=True))
    assert about["截至（登记）"].startswith("2013-06-30T23:59:59")
