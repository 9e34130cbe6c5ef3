"""``GET /api/scoreboard/export``: the league table as an Excel workbook (colour bands kept)
or as CSV (UTF-8 with a byte-order mark, so Excel reads the Chinese)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from assessment.domain.units_en import english_name
from assessment.entrypoints.params import Asked, Level, Parent, Service
from platform_kit import problems

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILLS = {"green": "C6EFCE", "yellow": "FFEB9C", "red": "FFC7CE", "grey": "EDEDED"}
WORDS = {
    "zh": {"rank": "排名", "change": "名次变化", "code": "单位代码", "unit": "单位", "parent": "所属镇街", "score": "得分",
           "attainment": "目标达成分", "penalty": "扣分", "veto": "一票否决", "flags": "标记", "rate": "率",
           "numerator": "分子", "denominator": "分母", "yes": "是", "no": "", "period": "考核期",
           "as_of": "截至（发生）", "known_at": "截至（登记）", "generated": "导出时间", "now": "现在"},
    "en": {"rank": "Rank", "change": "Rank change", "code": "Unit code", "unit": "Unit", "parent": "Town", "score": "Score",
           "attainment": "Attainment", "penalty": "Penalty", "veto": "Veto", "flags": "Flags", "rate": "rate",
           "numerator": "numerator", "denominator": "denominator", "yes": "yes", "no": "", "period": "Period",
           "as_of": "As of (occurred)", "known_at": "Known at (recorded)", "generated": "Exported at", "now": "now"},
}


def table(board: dict, lang: str) -> tuple[list[str], list[list], list[list[str | None]]]:
    """Header, rows, and each row's cell bands (for the colours)."""
    w = WORDS[lang]
    names = {i["id"]: i["name_zh"] if lang == "zh" else i["name_en"] for i in board["indicators"]}
    village = board["level"] == "village"
    header = [w["rank"], w["change"], w["code"], w["unit"], *([w["parent"]] if village else []), w["score"],
              w["attainment"], w["penalty"], w["veto"], w["flags"]]
    for name in names.values():
        header += [f"{name} {w['rate']}", f"{name} {w['numerator']}", f"{name} {w['denominator']}"]
    rows, bands = [], []
    for r in board["rows"]:
        unit = r["unit_name"] if lang == "zh" else r["unit_name_en"]
        parent = r["parent_name"] if lang == "zh" else english_name(r["parent_name"] or "")
        row = [r["rank"], r["rank_change"], r["unit_code"], unit, *([parent] if village else []), r["score"],
               r["attainment"], r["penalty"], w["yes"] if r["veto"] else w["no"], " ".join(r["flags"])]
        band_row: list[str | None] = [None] * len(row)
        for indicator in names:
            f = r["indicators"][indicator]
            row += [f["rate"], f["numerator"], f["denominator"]]
            band_row += [f["band"], None, None]
        rows.append(row)
        bands.append(band_row)
    return header, rows, bands


def to_csv(board: dict, lang: str) -> bytes:
    header, rows, _ = table(board, lang)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(board: dict, lang: str) -> bytes:
    w = WORDS[lang]
    header, rows, bands = table(board, lang)
    book = Workbook()
    sheet = book.active
    sheet.title = f"{board['period']} {board['level']}"[:31]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row, band_row in zip(rows, bands, strict=True):
        sheet.append(row)
        for column, band in enumerate(band_row, start=1):
            if band:
                cell = sheet.cell(row=sheet.max_row, column=column)
                cell.fill = PatternFill("solid", fgColor=FILLS[band])
                cell.number_format = "0.0%"
    sheet.freeze_panes = "E2"
    for column in range(1, len(header) + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 14
    about = book.create_sheet("about")
    for key, value in (
        ("period", board["period"]), ("as_of", board["as_of"] or w["now"]),
        ("known_at", board["known_at"] or w["now"]), ("generated", datetime.now(UTC).isoformat(timespec="seconds")),
    ):
        about.append([w[key], value])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


router = APIRouter(prefix="/api")


@router.get(
    "/scoreboard/export", tags=["scoreboard"], summary="The league table as xlsx or CSV",
    responses={200: {"content": {XLSX: {}, "text/csv": {}}}, **problems.responses(404, 422)},
)
async def export(
    asked: Asked, service: Service, format: Literal["xlsx", "csv"] = "xlsx", level: Level = "town",
    parent: Parent = None, lang: Literal["zh", "en"] = "zh",
) -> Response:
    board = await service.scoreboards.scoreboard(asked.period, level, parent, asked.clocks)
    name = f"scoreboard-{board['period']}-{level}{'-' + parent if parent else ''}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "csv":
        return Response(to_csv(board, lang), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(to_xlsx(board, lang), media_type=XLSX, headers=headers)
