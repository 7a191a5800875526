"""``GET /api/users/{user_id}``: a tracked user's profile (``web.profile``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status

from web.deps import EngineDep, NowDep, StoreDep, ViewsDep
from web.documents.schema import UNAVAILABLE, answer
from web.formats import Document
from web.profile import build_profile

router = APIRouter(prefix="/users", tags=["users"])

# users.id is a PostgreSQL bigint: a larger id is a 422 here, not a database error.
UserId = Annotated[int, Path(ge=-(2**63), le=2**63 - 1, description="a tracked user's id")]


@router.get("/{user_id}", response_class=Document,
            responses={**answer("Profile", "the user's profile"),
                       404: {"description": "no such tracked user"}, **UNAVAILABLE})
def read_user(user_id: UserId, engine: EngineDep, store: StoreDep, views: ViewsDep,
              now: NowDep) -> Document:
    """The profile; 404 for an unknown id or a user no ``user_upsert`` has created yet."""
    profile, freshness = views.checked(lambda: build_profile(engine, store, user_id, now), now)
    if profile is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no tracked user {user_id}")
    profile.freshness = freshness
    return Document(profile)
