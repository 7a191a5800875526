"""``GET /api/tabs/{tab}``: one dashboard tab's document (``docs/api.md``), from the tab
reader; its schema is the ``TabDocument`` component (``web.documents.schema``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from scoring.windows import Period
from web.deps import NowDep, ReaderDep, ViewsDep
from web.documents.schema import UNAVAILABLE, answer
from web.formats import Document
from web.reader import Filter, Tab, filter_refused

router = APIRouter(prefix="/tabs", tags=["tabs"])

PeriodQuery = Annotated[Period, Query(description="day, week (default) or month")]
FilterQuery = Annotated[Filter, Query(
    alias="filter", description="overview: the sessions (all, logged or anonymous);"
    " engagement: the list's status (all, active, at_risk or dormant); all elsewhere")]


def checked_filter(tab: Tab, filter_: Filter) -> Filter:
    """``filter_`` if it filters ``tab``, else a 422 naming the tab's filters."""
    refused = filter_refused(tab, filter_)
    if refused:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, refused)
    return filter_


# A plain ``def``: the reader is synchronous and runs in the threadpool.
@router.get("/{tab}", response_class=Document,
            responses={**answer("TabDocument", "the tab's document (one schema per tab)"),
                       **UNAVAILABLE})
def read_tab(tab: Tab, *, reader: ReaderDep, views: ViewsDep, now: NowDep,
             period: PeriodQuery = "week", filter_: FilterQuery = "all") -> Document:
    """The tab as of now, with its ``freshness``; unknown tab, period or filter is a 422
    naming the choices."""
    filter_ = checked_filter(tab, filter_)
    document, freshness = views.checked(lambda: reader.tab(tab, period, filter_, now), now)
    document.freshness = freshness
    return Document(document)
