"""``GET /api/export/{kind}.csv``: a tab's list as a CSV download."""

from __future__ import annotations

from typing import Annotated

import msgspec
from fastapi import APIRouter, Query, Response

from scoring.windows import Period
from web.api.tabs import FilterQuery, checked_filter
from web.deps import NowDep, ReaderDep, ViewsDep
from web.documents.schema import UNAVAILABLE
from web.exports import ExportKind, export_csv, export_filename

router = APIRouter(prefix="/export", tags=["export"])


@router.get("/{kind}.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "the CSV file: a header row of the columns, then"
                                            " the rows of the tab's list (ProblemUser,"
                                            " EngagementRow or TopPage), every cell quoted"},
                       **UNAVAILABLE})
def export(kind: ExportKind, *, reader: ReaderDep, views: ViewsDep, now: NowDep,
           period: Annotated[Period, Query(description="day, week (default) or month")] = "week",
           filter_: FilterQuery = "all") -> Response:
    """The rows of the problems, engagement or pages tab with a header row."""
    filter_ = checked_filter(kind, filter_)
    # the freshness is read after the rows: were they the read model?
    document = views.checked(lambda: reader.tab(kind, period, filter_, now), now)[0]
    name = export_filename(kind, period, filter_)
    return Response(
        export_csv(kind, msgspec.to_builtins(document)), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )
