"""``GET /api/users?q=``: tracked users found by name, e-mail or id (``web.user_search``);
``GET /api/users/{user_id}``: a tracked user's profile (``web.profile``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from sqlalchemy.engine import Engine

from web.deps import EngineDep, NowDep, StoreDep, ViewsDep
from web.documents.profile import Profile
from web.documents.schema import UNAVAILABLE, answer
from web.documents.users import UserMatch, UserSearch
from web.formats import Document
from web.live.views import Views
from web.profile import build_profile
from web.tabs.store import Store
from web.user_search import LIMIT, MAX_QUERY, find_users

router = APIRouter(prefix="/users", tags=["users"])

# users.id is a PostgreSQL bigint: a larger id is a 422 here, not a database error.
UserId = Annotated[int, Path(ge=-(2**63), le=2**63 - 1, description="a tracked user's id")]


@router.get("", response_class=Document,
            responses={**answer("UserSearch", "the users found"), **UNAVAILABLE})
def search_users(
    engine: EngineDep,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY,
                            description="beginnings of the name's words or of the e-mail"
                                        " address, or an id")],
    limit: Annotated[int, Query(ge=1, le=50, description="users returned at most")] = LIMIT,
) -> Document:
    """Tracked users whose name's words or e-mail address begin with each word of ``q``
    (case ignored), or whose id ``q`` is; served from an index."""
    with engine.connect() as conn:
        rows = find_users(conn, q, limit)
    return Document(UserSearch(query=q, users=[
        UserMatch(id=r.id, name=r.name, email=r.email, role=r.role, company=r.company)
        for r in rows]))


@router.get("/{user_id}", response_class=Document,
            responses={**answer("Profile", "the user's profile"),
                       404: {"description": "no such tracked user"}, **UNAVAILABLE})
def read_user(user_id: UserId, engine: EngineDep, store: StoreDep, views: ViewsDep,
              now: NowDep) -> Document:
    """The profile; 404 for an unknown id or a user no ``user_upsert`` has created yet."""
    return Document(profile_of(user_id, (engine, store, views), now))


def profile_of(user_id: int, read: tuple[Engine, Store, Views], now: datetime) -> Profile:
    """The profile of ``user_id`` with its freshness (the profile and its exports); an
    HTTP 404 for an unknown id or a user no ``user_upsert`` has created yet."""
    engine, store, views = read
    profile, freshness = views.checked(lambda: build_profile(engine, store, user_id, now), now)
    if profile is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no tracked user {user_id}")
    profile.freshness = freshness
    return profile
