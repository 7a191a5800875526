"""The WebSocket caps: per credential and in all, places given back on close."""

from __future__ import annotations

from web.server.socket_quota import SERVER_BUSY, TOO_MANY_FOR_CREDENTIAL, SocketQuota


def test_each_credential_gets_its_share_and_the_process_its_total() -> None:
    quota = SocketQuota(total=3, per_credential=2)
    assert quota.take("s:a") is None and quota.take("s:a") is None
    refused = quota.take("s:a")
    assert refused is not None and refused.code == TOO_MANY_FOR_CREDENTIAL
    assert len(refused.reason.encode()) <= 123
    assert quota.take("t:b") is None
    assert quota.full()
    busy = quota.take("t:c")
    assert busy is not None and busy.code == SERVER_BUSY
    assert quota.open() == 3


def test_released_places_are_taken_again() -> None:
    quota = SocketQuota(total=2, per_credential=1)
    assert quota.take("s:a") is None and quota.take(None) is None
    quota.release("s:a")
    assert not quota.full() and quota.take("s:a") is None
    quota.release("s:a")
    quota.release(None)
    assert quota.open() == 0 and quota.take(None) is None
