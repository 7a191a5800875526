"""What leaves for a hook: the address checks, the signature and the formats.

The signature is verified here with an independent HMAC-SHA256 (not the library
that signs), and a changed body, timestamp or signature must fail it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from insights.alerts import payloads, signing
from insights.alerts.destination import Allowed, Answer, RefusedUrl, check
from insights.alerts.outbox import verdict
from insights.alerts.rules import Rule

AT = datetime(2026, 12, 6, 12, 0, 5, tzinfo=UTC)
NONE = Allowed()
LOOPBACK = Allowed.parse("127.0.0.1,::1")


def resolving(*addresses: str):  # type: ignore[no-untyped-def]
    return lambda host, port: list(addresses)


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "::1", "fe80::1", "fc00::5", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    "2002:7f00:1::", "224.0.0.1"])
def test_private_and_special_addresses_are_refused(address: str) -> None:
    with pytest.raises(RefusedUrl, match="not a public address"):
        check("https://hooks.example.com/x", NONE, resolving(address))


def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    with pytest.raises(RefusedUrl):
        check("https://hooks.example.com/x", NONE, resolving("93.184.215.14", "10.0.0.1"))


def test_a_public_https_url_is_taken_and_sent_to_the_checked_address() -> None:
    target = check("https://Hooks.Example.com:8443/in?x=1", NONE, resolving("93.184.215.14"))
    assert (target.scheme, target.host, target.port, target.path, target.address) == (
        "https", "hooks.example.com", 8443, "/in?x=1", "93.184.215.14")


@pytest.mark.parametrize("url", ["http://hooks.example.com/", "ftp://hooks.example.com/",
                                 "https://user:pw@hooks.example.com/", "https:///nohost",
                                 "https://hooks.example.com:99999/"])
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(RefusedUrl):
        check(url, NONE, resolving("93.184.215.14"))


def test_an_allowed_loopback_receiver_may_use_plain_http() -> None:
    assert check("http://127.0.0.1:9000/hook", LOOPBACK, resolving("127.0.0.1")).port == 9000
    with pytest.raises(RefusedUrl):
        check("http://127.0.0.1:9000/hook", NONE, resolving("127.0.0.1"))


def test_a_name_that_rebinds_to_a_private_address_is_refused_at_send() -> None:
    """Checked at save (public), resolved again at send (now private): refused then."""
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])
    rebinding = lambda host, port: next(answers)  # noqa: E731
    check("https://rebind.example.com/", NONE, rebinding)
    with pytest.raises(RefusedUrl, match=r"127\.0\.0\.1"):
        check("https://rebind.example.com/", NONE, rebinding)


def independent_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verifies(secret: str, headers: dict[str, str], body: bytes) -> bool:
    want = independent_signature(secret, headers["webhook-id"], headers["webhook-timestamp"],
                                 body)
    return any(hmac.compare_digest(want, s) for s in headers["webhook-signature"].split(" "))


def test_the_signature_verifies_and_any_change_breaks_it() -> None:
    secret, body = signing.new_secret(), b'{"type":"alert.firing"}'
    headers = signing.headers("msg_1", AT, body, [secret])
    assert headers["webhook-timestamp"] == str(int(AT.timestamp()))
    assert verifies(secret, headers, body)
    assert not verifies(secret, headers, body + b" ")
    assert not verifies(secret, {**headers, "webhook-timestamp": "1"}, body)
    assert not verifies(secret, {**headers, "webhook-id": "msg_2"}, body)
    tampered = headers["webhook-signature"][:-4] + "AAA="
    assert not verifies(secret, {**headers, "webhook-signature": tampered}, body)
    assert not verifies(signing.new_secret(), headers, body)


def test_while_rotating_both_secrets_sign() -> None:
    new, old, body = signing.new_secret(), signing.new_secret(), b"{}"
    headers = signing.headers("msg_1", AT, body, [new, old])
    assert verifies(new, headers, body) and verifies(old, headers, body)


@pytest.mark.parametrize(("status", "outcome"), [
    (200, "delivered"), (204, "delivered"), (500, "retry"), (503, "retry"), (429, "retry"),
    (408, "retry"), (None, "retry"), (301, "failed"), (302, "failed"), (400, "failed"),
    (404, "failed"), (410, "failed")])
def test_what_follows_each_answer(status: int | None, outcome: str) -> None:
    assert verdict(Answer(status, b"", 0.1)) == outcome


RULE = Rule(7, "problem score >= 60", "threshold", "problem_week", "warning", 60)
ITEMS = [payloads.Item(n, "70", "40", AT, {"user": {"email": f"u{n}@example.com"},
                                          "components": [{"name": "is_locked"}]})
         for n in (1, 2)]


def test_the_formats() -> None:
    notice = payloads.Notice("msg_9", RULE, "firing", AT, 5, ITEMS)
    plain = msgspec.json.decode(payloads.body(notice, "json", "https://d.example.com/"))
    assert plain["type"] == "alert.firing" and plain["count"] == 5
    assert plain["alerts"][0]["link"] == "https://d.example.com/#/users/1"
    assert plain["alerts"][0]["user"] == {"id": 1, "email": "u1@example.com"}
    text = msgspec.json.decode(payloads.body(notice, "slack", "https://d.example.com"))["text"]
    assert "5 users" in text and "u2@example.com" in text and "and 3 more" in text
    resolved = payloads.Notice("msg_10", RULE, "resolved", AT, 2, ITEMS)
    am = msgspec.json.decode(payloads.body(resolved, "alertmanager", "https://d.example.com"))
    assert [a["labels"]["user_id"] for a in am] == ["1", "2"]
    assert all(a["endsAt"] == AT.isoformat() for a in am)


def test_a_silent_receiver_is_a_timeout_and_a_closed_port_a_refusal() -> None:
    import socket

    from insights.alerts.destination import Target, post

    with socket.socket() as silent:                 # accepts, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        answer = post(Target("http", "127.0.0.1", port, "/", "127.0.0.1"), b"{}", {}, 0.3)
    assert answer.status is None and (answer.error or "").startswith("timeout")
    refused = post(Target("http", "127.0.0.1", port, "/", "127.0.0.1"), b"{}", {}, 0.3)
    assert (refused.error or "").startswith("connection refused")


def test_the_sealing_key_comes_from_the_environment_or_the_embedded_stacks_file(
        tmp_path: Path) -> None:
    from cryptography.fernet import Fernet
    from pydantic import SecretStr

    from insights.alerts import sealing
    from insights.settings import Settings

    embedded = Settings(postgres_url=None, state_dir=tmp_path)
    key = sealing.key(embedded)
    assert sealing.key(embedded) == key                              # kept in the file
    assert (tmp_path / sealing.KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert sealing.unseal(sealing.seal("whsec_x", key), key) == "whsec_x"
    configured = Settings(postgres_url="postgresql://db/x", state_dir=tmp_path)
    with pytest.raises(sealing.MissingKey, match="INSIGHTS_SECRET_KEY"):
        sealing.key(configured)
    given = Fernet.generate_key().decode()
    assert sealing.key(configured.model_copy(update={"secret_key": SecretStr(given)})) == (
        given.encode())
    with pytest.raises(sealing.MissingKey, match="not a Fernet key"):
        sealing.key(configured.model_copy(update={"secret_key": SecretStr("nope")}))
    with pytest.raises(sealing.MissingKey, match="changed"):
        sealing.unseal(sealing.seal("whsec_x", key), Fernet.generate_key())
