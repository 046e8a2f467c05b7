"""Requests for URLs the server did not choose, guarded against reaching inside the network
(server-side request forgery): what someone in chat asks the server to download, and the
documents' links a link check opens (a document's link can come from chat too: a file's front
matter, a page's redirect).

Only http(s). Each host is resolved once and every address it resolves to must be allowed;
the connection then goes to that checked address (the name still travels in the Host header
and, for https, in SNI, so certificates are checked against the name). Loopback, link-local,
private, shared (CGNAT), multicast, unspecified and reserved addresses, and IPv6 forms that
embed one, are refused unless the operator's ``AllowList`` names them. Redirects are followed
here, each hop checked again. One deadline covers the whole download and one byte cap the whole
body. Every refusal and failure of a download is the same ``FetchRefused``: what went wrong is
logged (with the host only, never the URL), not told to the person who asked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urljoin

import httpx

from knowledge.errors import LoadError
from knowledge.loading.addresses import AllowList, address_refusal

log = logging.getLogger(__name__)

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""``(host, port)`` → the addresses the host resolves to, as strings."""

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchRefused(LoadError):
    """The URL was refused or could not be downloaded. Its message is the same whatever the
    cause, so it can be shown in chat; ``detail`` says why, for the server log (and the
    operator) only; ``blocked`` is whether the guard refused an address, ``too_large`` whether
    the body was over the size cap."""

    def __init__(
        self, url: str, detail: str, *, blocked: bool = False, too_large: bool = False
    ) -> None:
        super().__init__(url, "could not be downloaded")
        self.detail = detail
        self.blocked = blocked
        self.too_large = too_large


@dataclass(frozen=True)
class FetchPolicy:
    """What a guarded download may do: ``deadline_seconds`` for all of it (every hop and the
    whole body), at most ``max_bytes`` of body and ``max_redirects`` hops."""

    allowed: AllowList = field(default_factory=AllowList)
    max_bytes: int = 25 * 1024 * 1024
    deadline_seconds: float = 20.0
    max_redirects: int = 5


@dataclass(frozen=True)
class Fetched:
    """A downloaded body; ``final_url`` is where the last redirect led."""

    url: str
    final_url: str
    media_type: str
    data: bytes


@dataclass(frozen=True)
class Probe:
    """What answered at the end of a link's redirects: its ``status`` and, for a successful
    HTML page, its body (``data`` is empty for anything else)."""

    url: str
    final_url: str
    status: int
    media_type: str
    data: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


def is_web_link(target: str) -> bool:
    """Whether ``target`` is an http(s) URL with a host: the only thing chat may ask for."""
    try:
        url = httpx.URL(target)
    except (httpx.InvalidURL, ValueError):
        return False
    return url.scheme in ("http", "https") and bool(url.host)


async def system_resolver(host: str, port: int) -> Sequence[str]:
    """The system's resolver (getaddrinfo), run off the event loop."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class GuardedFetcher:
    """Downloads a URL for someone in chat, or raises ``FetchRefused``.

    ``resolver`` and ``verify`` (an SSL context) are for tests; by default the system's
    resolver and certificate store are used. Proxies from the environment are ignored: a
    proxy would resolve the name itself, after the check.
    """

    def __init__(
        self,
        policy: FetchPolicy,
        *,
        resolver: Resolver = system_resolver,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._verify = verify
        self._context: ssl.SSLContext | None = None

    async def fetch(self, url: str) -> Fetched:
        try:
            answer = await self._answer(url, _successful)
            if not _successful(answer.status, answer.media_type):
                raise FetchRefused(answer.final_url, f"HTTP {answer.status}")
        except FetchRefused as e:
            log.warning("chat download from %s refused: %s", _host_of(url), e.detail)
            raise FetchRefused(url, e.detail, blocked=e.blocked, too_large=e.too_large) from None
        return Fetched(url, answer.final_url, answer.media_type, answer.data)

    async def probe(self, url: str) -> Probe:
        """Where ``url`` leads and what answers there, whatever the status, under the same
        guard, deadline and caps as ``fetch``: for checking that a link opens. Raises
        ``FetchRefused`` when nothing answered (refused address, unreachable, too slow)."""
        return await self._answer(url, _html_page)

    async def get(self, url: str, headers: Mapping[str, str]) -> Probe:
        """What answers ``url`` requested with ``headers`` (conditional ones, say), whatever
        the status, with the body of a successful answer and the last answer's headers, under
        the same guard, deadline and caps as ``fetch``. Raises ``FetchRefused`` when nothing
        answered."""
        return await self._answer(url, _successful, headers)

    async def _answer(
        self,
        url: str,
        wants_body: Callable[[int, str], bool],
        headers: Mapping[str, str] | None = None,
    ) -> Probe:
        try:
            async with asyncio.timeout(self._policy.deadline_seconds):
                return await self._follow(url, wants_body, headers or {})
        except FetchRefused:
            raise
        except TimeoutError:
            detail = f"not done within {self._policy.deadline_seconds:g} s"
        except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as e:
            detail = f"{type(e).__name__}: {_first_line(e)}"
        raise FetchRefused(url, detail) from None

    async def _follow(
        self, url: str, wants_body: Callable[[int, str], bool], extra: Mapping[str, str]
    ) -> Probe:
        current = url
        for _ in range(self._policy.max_redirects + 1):
            target = httpx.URL(current)
            pinned = await self._pinned(target)
            # A client per hop: a pooled connection opened for another name must not be reused.
            async with (
                httpx.AsyncClient(
                    verify=self._ssl_context(),
                    trust_env=False,
                    follow_redirects=False,
                    timeout=self._policy.deadline_seconds,
                ) as client,
                client.stream(
                    "GET",
                    pinned,
                    headers={
                        **extra,
                        "Host": target.netloc.decode("ascii"),
                        "User-Agent": "supportbot (knowledge base ingest)",
                    },
                    extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
                ) as response,
            ):
                location = response.headers.get("location")
                if response.status_code in _REDIRECTS and location:
                    current = urljoin(current, location)
                    continue
                status = response.status_code
                media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                wanted = wants_body(status, media_type)
                data = await self._body(current, response) if wanted else b""
                return Probe(url, current, status, media_type, data, dict(response.headers))
        raise FetchRefused(url, f"more than {self._policy.max_redirects} redirects")

    def _ssl_context(self) -> ssl.SSLContext | bool:
        """The certificate store, loaded once (loading it costs tens of milliseconds: per
        request, that was most of a sync of unchanged pages)."""
        if self._verify is not True:
            return self._verify
        if self._context is None:
            self._context = httpx.create_ssl_context()
        return self._context

    async def _pinned(self, url: httpx.URL) -> httpx.URL:
        """``url`` with its host replaced by the address it resolves to, once that is checked."""
        if url.scheme not in ("http", "https") or not url.host:
            raise FetchRefused(str(url), f"not an http(s) URL: scheme {url.scheme!r}", blocked=True)
        host = url.raw_host.decode("ascii")
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = [
            ipaddress.ip_address(a.split("%")[0]) for a in await self._resolver(host, port)
        ]
        if not addresses:
            raise FetchRefused(str(url), f"{host} resolves to no address")
        allowed = self._policy.allowed
        if not allowed.allows_host(host):
            for address in addresses:
                kind = address_refusal(address)
                if kind and not allowed.allows_address(address):
                    raise FetchRefused(
                        str(url), f"{host} resolves to {address}, {kind}", blocked=True
                    )
        return url.copy_with(host=str(addresses[0]))

    async def _body(self, url: str, response: httpx.Response) -> bytes:
        limit = self._policy.max_bytes
        try:
            return await read_capped(response, limit)
        except BodyTooLarge as e:
            verb = "declares" if e.declared is not None else "sends"
            raise FetchRefused(url, f"{verb} more than {limit} bytes", too_large=True) from None


class BodyTooLarge(Exception):
    """A response body over its cap; ``declared`` is its Content-Length when that said so."""

    def __init__(self, declared: int | None) -> None:
        super().__init__(declared)
        self.declared = declared


async def read_capped(response: httpx.Response, limit: int) -> bytes:
    """A streamed response's body, stopped as soon as it is known to pass ``limit`` bytes."""
    declared = int(response.headers.get("content-length") or 0)
    if declared > limit:
        raise BodyTooLarge(declared)
    data = bytearray()
    async for piece in response.aiter_bytes():
        data += piece
        if len(data) > limit:
            raise BodyTooLarge(None)
    return bytes(data)


def _successful(status: int, _media_type: str) -> bool:
    return 200 <= status < 300


def _html_page(status: int, media_type: str) -> bool:
    """Whether a link check reads the body: only a page whose anchors it can look for."""
    return _successful(status, media_type) and media_type in ("text/html", "application/xhtml+xml")


def _host_of(url: str) -> str:
    try:
        return httpx.URL(url).host or "(no host)"
    except (httpx.InvalidURL, ValueError):
        return "(not a URL)"


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0]
