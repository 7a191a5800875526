"""``GET /api/export/{kind}.csv`` and ``.json``: a tab's list as a download."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Query, Response

from scoring.windows import Period
from web.api.tabs import FilterQuery, checked_filter
from web.deps import NowDep, ReaderDep, ViewsDep
from web.documents.schema import UNAVAILABLE
from web.exports import BOM, LIST_KEYS, ExportKind, Language, export_csv, export_filename
from web.live.views import Views
from web.reader import Filter, TabReader

router = APIRouter(prefix="/export", tags=["export"])

PeriodQuery = Annotated[Period, Query(description="day, week (default) or month")]


def _rows(kind: ExportKind, filter_: Filter, read: tuple[TabReader, Views, datetime],
          period: Period) -> dict[str, Any]:
    """The tab's document as JSON values (the freshness is read after the rows: were they
    the read model?)."""
    reader, views, now = read
    checked = checked_filter(kind, filter_)
    document = views.checked(lambda: reader.tab(kind, period, checked, now), now)[0]
    built: dict[str, Any] = msgspec.to_builtins(document)
    return built


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename={name}"}


@router.get("/{kind}.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "the CSV file (UTF-8 with a byte order mark): a"
                                            " header row, then the rows of the tab's list"
                                            " (ProblemUser, EngagementRow or TopPage), a"
                                            " user's rows starting with its id, every cell"
                                            " quoted"},
                       **UNAVAILABLE})
def export(kind: ExportKind, *, reader: ReaderDep, views: ViewsDep, now: NowDep,
           period: PeriodQuery = "week", filter_: FilterQuery = "all",
           lang: Annotated[Language | None, Query(
               description="header labels in en or pl (default: the field names)")] = None,
           ) -> Response:
    """The rows of the problems, engagement or pages tab with a header row."""
    document = _rows(kind, filter_, (reader, views, now), period)
    return Response(BOM + export_csv(kind, document, lang),
                    media_type="text/csv; charset=utf-8",
                    headers=_attachment(export_filename(kind, period, filter_)))


@router.get("/{kind}.json", response_class=Response,
            responses={200: {"content": {"application/json": {"schema": {"type": "array"}}},
                             "description": "the tab's list as in its document (ProblemUser,"
                                            " EngagementRow or TopPage rows)"},
                       **UNAVAILABLE})
def export_json(kind: ExportKind, *, reader: ReaderDep, views: ViewsDep, now: NowDep,
                period: PeriodQuery = "week", filter_: FilterQuery = "all") -> Response:
    """The rows of the problems, engagement or pages tab as a JSON array."""
    document = _rows(kind, filter_, (reader, views, now), period)
    return Response(msgspec.json.encode(document.get(LIST_KEYS[kind]) or []),
                    media_type="application/json",
                    headers=_attachment(export_filename(kind, period, filter_, "json")))
