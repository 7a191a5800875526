"""``GET /api/export/{kind}.csv`` and ``.json``: a tab's list as a download;
``GET /api/export/users/{user_id}.csv`` and ``.json``: a tracked user's profile."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Query, Response

from scoring.windows import Period
from web.api.tabs import FilterQuery, checked_filter
from web.api.users import UserId, profile_of
from web.deps import EngineDep, NowDep, ReaderDep, StoreDep, ViewsDep
from web.documents.schema import UNAVAILABLE, ref
from web.exports import BOM, LIST_KEYS, ExportKind, Language, export_csv, export_filename
from web.live.views import Views
from web.profile_export import profile_csv, profile_filename
from web.reader import Filter, TabReader

router = APIRouter(prefix="/export", tags=["export"])

PeriodQuery = Annotated[Period, Query(description="day, week (default) or month")]
LangQuery = Annotated[Language | None, Query(
    description="header labels in en or pl (default: the field names)")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such tracked user"}}


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
           period: PeriodQuery = "week", filter_: FilterQuery = "all", lang: LangQuery = None,
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


# ``/{kind}.csv`` never matches a path with a slash: ``users/42.csv`` is not a tab's.
@router.get("/users/{user_id}.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "the profile as CSV (UTF-8 with a byte order"
                                            " mark): a header row, then one row per figure"
                                            " or list item, each starting with the user's"
                                            " id, every cell quoted"},
                       **NOT_FOUND, **UNAVAILABLE})
def export_user(user_id: UserId, *, engine: EngineDep, store: StoreDep, views: ViewsDep,
                now: NowDep, lang: LangQuery = None) -> Response:
    """A tracked user's profile in rows (``web.profile_export``); 404 for an unknown id."""
    profile = msgspec.to_builtins(profile_of(user_id, (engine, store, views), now))
    return Response(BOM + profile_csv(profile, lang), media_type="text/csv; charset=utf-8",
                    headers=_attachment(profile_filename(user_id)))


@router.get("/users/{user_id}.json", response_class=Response,
            responses={200: {"content": {"application/json": {"schema": ref("Profile")}},
                             "description": "the profile, as GET /api/users/{user_id}"},
                       **NOT_FOUND, **UNAVAILABLE})
def export_user_json(user_id: UserId, *, engine: EngineDep, store: StoreDep,
                     views: ViewsDep, now: NowDep) -> Response:
    """A tracked user's profile as a JSON download; 404 for an unknown id."""
    profile = profile_of(user_id, (engine, store, views), now)
    return Response(msgspec.json.encode(profile), media_type="application/json",
                    headers=_attachment(profile_filename(user_id, "json")))
