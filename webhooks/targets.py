"""Where a delivery may connect: the private-address (SSRF) guard of the delivery worker.

A subscription's URL is checked when it is registered (:func:`webhooks.subscriptions.check_url`: literal
addresses and ``localhost`` only), but a host name can resolve to anything, and differently later (DNS
rebinding: a partner's name pointing at ``127.0.0.1`` or the cloud metadata address ``169.254.169.254``).
So the check that counts happens at every connection, inside the HTTP client's network backend
(:class:`GuardedBackend`): the host is resolved once, every address it resolves to is checked, and the
socket is opened to one of *those* addresses — there is no second resolution between the check and the
connect. TLS still verifies the certificate against the URL's host name (the connection's origin), so
pinning the address loses nothing of https.

An address is refused when it is private, loopback, link-local, multicast, reserved, unspecified or
otherwise not globally routable (IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry),
unless the deployment allows private targets (``CBEC_WEBHOOKS_ALLOW_PRIVATE=1``: tests, closed networks).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
import typing
from collections.abc import Callable, Sequence

import httpcore
import httpx

Resolver = Callable[[str, int], Sequence[str]]
"""``(host, port) -> addresses`` (text form, IPv4 or IPv6); the default is the system's resolver."""

_KINDS = ("loopback", "link_local", "multicast", "unspecified", "reserved", "private")


class PrivateTarget(Exception):
    """A delivery's host resolves to an address a partner's endpoint cannot have (the delivery is refused,
    not retried). Deliberately not an ``OSError``: it must never be mistaken for a network failure."""

    def __init__(self, host: str, refused: Sequence[tuple[str, str]]) -> None:
        self.host = host
        self.refused = list(refused)
        shown = ", ".join(f"{address} ({kind})" for address, kind in self.refused[:4])
        super().__init__(f"refused: {host} resolves to {shown}; partners' endpoints must be public "
                         "(CBEC_WEBHOOKS_ALLOW_PRIVATE=1 allows private targets)")


def system_resolver(host: str, port: int) -> list[str]:
    """Every address of ``host`` for a TCP connection to ``port``, in the resolver's order, without repeats."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def refusal(address: str) -> str | None:
    """Why ``address`` may not be a partner's endpoint (``"loopback"``, ``"link-local"``, ...), None when it is
    a public address."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 reaches 127.0.0.1
    for kind in _KINDS:
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    if not ip.is_global:  # e.g. shared address space 100.64.0.0/10 (carrier-grade NAT)
        return "not globally routable"
    return None


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose reads and writes all end by ``deadline`` (``time.monotonic()``): httpx's timeouts bound
    each read, so a partner trickling its answer a byte at a time would otherwise hold a thread for ever."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def _left(self, timeout: float | None, error: type[Exception]) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise error("the whole exchange took longer than the delivery's timeout")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, self._left(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(tls, self._deadline)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's network backend with the guard: resolve once, check every address, connect to a checked one;
    with ``total_s``, every connection's exchange ends within that time of its start."""

    def __init__(self, *, allow_private: bool, resolve: Resolver | None = None, total_s: float | None = None) -> None:
        self.allow_private = allow_private
        self.resolve = resolve or system_resolver
        self.total_s = total_s

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        started = time.monotonic()
        try:
            addresses = list(self.resolve(host, port))
        except OSError as exc:  # e.g. socket.gaierror: an ordinary connection failure, retried later
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"cannot resolve {host}: no address")
        if not self.allow_private:
            refused = [(a, kind) for a in addresses if (kind := refusal(a)) is not None]
            if refused:  # any of them: the resolver (or an attacker's DNS) may hand out another one next time
                raise PrivateTarget(host, refused)
        last: httpcore.ConnectError | None = None
        for address in addresses:  # the checked addresses themselves: no second resolution
            try:
                stream = super().connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                             socket_options=socket_options)
                return stream if self.total_s is None else _DeadlineStream(stream, started + self.total_s)
            except httpcore.ConnectError as exc:  # refused: the next address (a timeout ends the attempt)
                last = exc
        assert last is not None
        raise last


class GuardedTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` whose connections go through :class:`GuardedBackend`; one connection per request
    (no keep-alive: ``total_s`` bounds a connection's whole life, so it must be one exchange)."""

    def __init__(self, *, allow_private: bool, resolve: Resolver | None = None,
                 verify: ssl.SSLContext | bool = True, total_s: float | None = None) -> None:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=0)
        super().__init__(verify=verify, trust_env=False, limits=limits)
        # httpx takes no network backend: the pool it built is replaced by the same pool over ours
        # (httpcore.ConnectionPool's public parameters; tests/test_webhooks.py exercises both http and https).
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections, max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry, http1=True, http2=False, retries=0,
            network_backend=GuardedBackend(allow_private=allow_private, resolve=resolve, total_s=total_s))
