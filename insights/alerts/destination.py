"""Where a hook may send: HTTPS to public addresses only, checked at save and again at send.

A hook URL is refused unless it is ``https`` and every address its host resolves
to is public (``ipaddress``'s ``is_global``, with IPv4 inside IPv6 judged as
IPv4), or the host or its addresses are allowed by ``INSIGHTS_HOOKS_ALLOW``
(which also admits plain ``http``: a receiver on loopback for tests and the
demo). At send time the host is resolved and checked again, and the request goes
to the checked address itself (the TLS certificate is still verified for the
host name), so a name that resolves to something else a moment later (DNS
rebinding) cannot redirect it. Redirects are not followed, and only the first
``BODY_CAP`` bytes of an answer are read.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import urllib3

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]
BODY_CAP: Final = 4096


class RefusedUrl(ValueError):
    """A hook URL that may not be called; the message says why."""


@dataclass(frozen=True)
class Allowed:
    """Hosts and networks allowed beyond public HTTPS (``INSIGHTS_HOOKS_ALLOW``)."""

    names: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @staticmethod
    def parse(setting: str) -> Allowed:
        names, networks = set(), []
        for entry in (e.strip() for e in setting.split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                names.add(entry.lower().rstrip("."))
        return Allowed(frozenset(names), tuple(networks))

    def admits(self, host: str, address: Address) -> bool:
        return host in self.names or any(address in n for n in self.networks)


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (``address``) and what to ask for."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (A and AAAA)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def public(address: Address) -> bool:
    """Whether ``address`` is on the public internet (IPv4 mapped or embedded in IPv6
    judged as the IPv4 address it carries)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is not None:
            return public(inner)
        if address.teredo is not None:
            return False
    return address.is_global and not address.is_multicast


def check(url: str, allowed: Allowed, resolve: Resolver = system_resolver) -> Target:
    """``url`` as a target to POST to, or ``RefusedUrl`` saying why it may not be."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise RefusedUrl("a hook URL is https://host/path")
    if parts.username is not None or parts.password is not None:
        raise RefusedUrl("a hook URL may not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise RefusedUrl(f"the port is not a number from 1 to 65535: {exc}") from exc
    host = parts.hostname.lower().rstrip(".")
    addresses = _resolved(host, port, resolve)
    for address in addresses:
        if not public(address) and not allowed.admits(host, address):
            raise RefusedUrl(f"{host} resolves to {address}, which is not a public address "
                             "(allow it with INSIGHTS_HOOKS_ALLOW if it is meant to be)")
    if parts.scheme == "http" and not all(allowed.admits(host, a) for a in addresses):
        raise RefusedUrl("a hook URL must use https (plain http only for hosts allowed by "
                         "INSIGHTS_HOOKS_ALLOW)")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path, str(addresses[0]))


def _resolved(host: str, port: int, resolve: Resolver) -> list[Address]:
    try:
        found = [ipaddress.ip_address(a.split("%")[0]) for a in resolve(host, port)]
    except (OSError, UnicodeError, ValueError) as exc:
        raise RefusedUrl(f"{host} does not resolve: {exc}") from exc
    if not found:
        raise RefusedUrl(f"{host} resolves to no address")
    return found


@dataclass(frozen=True)
class Answer:
    """What a receiver answered: ``status`` None when there was no answer (``error``)."""

    status: int | None
    body: bytes
    seconds: float
    error: str | None = None


def post(target: Target, body: bytes, headers: dict[str, str], timeout_s: float) -> Answer:
    """POST ``body`` to the checked address of ``target``; never raises, never redirects."""
    started = time.monotonic()
    pool = _pool(target, timeout_s)
    default_port = 443 if target.scheme == "https" else 80
    host = target.host if ":" not in target.host else f"[{target.host}]"
    host_header = host if target.port == default_port else f"{host}:{target.port}"
    try:
        response = pool.urlopen("POST", target.path, body=body,
                                headers={**headers, "Host": host_header}, redirect=False,
                                retries=False, preload_content=False, assert_same_host=False)
        try:
            answer = response.read(BODY_CAP)
        finally:
            response.release_conn()
            response.close()
        return Answer(response.status, answer, time.monotonic() - started)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        return Answer(None, b"", time.monotonic() - started, _reason(exc))
    finally:
        pool.close()


def _pool(target: Target, timeout_s: float) -> urllib3.HTTPConnectionPool:
    timeout = urllib3.Timeout(connect=min(5.0, timeout_s), read=timeout_s)
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            target.address, target.port, timeout=timeout, maxsize=1,
            server_hostname=target.host, assert_hostname=target.host, cert_reqs="CERT_REQUIRED")
    return urllib3.HTTPConnectionPool(target.address, target.port, timeout=timeout, maxsize=1)


def _reason(exc: BaseException) -> str:
    """A short cause of a failed attempt: timeout, connection refused, TLS, ..."""
    inner: BaseException = exc
    while isinstance(inner, urllib3.exceptions.HTTPError) and inner.__context__ is not None:
        inner = inner.__context__
    text = " ".join(str(inner).split())[:300]
    # The innermost cause first: urllib3 files a refused connection under its timeouts.
    if isinstance(inner, ConnectionRefusedError):
        name = "connection refused"
    elif isinstance(inner, ssl.SSLError):
        name = "TLS"
    elif isinstance(inner, TimeoutError | urllib3.exceptions.TimeoutError):
        name = "timeout"
    else:
        name = type(inner).__name__
    return f"{name}: {text}" if text else name
