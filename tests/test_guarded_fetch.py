"""The guarded fetcher that downloads what chat asks for, against loopback servers: addresses
inside the network refused however they are written or reached (redirects included), the
connection pinned to the checked address, one deadline and one byte cap for the whole download.

The URLs here are attacks on the server that runs the bot (server-side request forgery)."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from knowledge.loading.addresses import AllowList, address_refusal
from knowledge.loading.guarded_fetch import (
    FetchPolicy,
    FetchRefused,
    GuardedFetcher,
    Resolver,
    system_resolver,
)
from tests.loopback import drip, free_port, serve

PAGE = b"# Travel\n\nBook trains through the travel desk.\n"


@dataclass
class Site:
    """A loopback web server that records every request it gets."""

    base: str
    port: int
    hits: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)

    def secret_hits(self) -> list[str]:
        return [path for path in self.hits if path.startswith("/secret")]


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    state: dict[str, Site] = {}

    async def record(request: web.Request) -> None:
        state["site"].hits.append(request.path_qs)
        state["site"].hosts.append(request.headers.get("Host", ""))

    async def page(request: web.Request) -> web.StreamResponse:
        await record(request)
        return web.Response(body=PAGE, content_type="text/markdown")

    async def redirect(request: web.Request) -> web.StreamResponse:
        await record(request)
        raise web.HTTPFound(request.query["to"])

    async def hops(request: web.Request) -> web.StreamResponse:
        await record(request)
        left = int(request.match_info["left"])
        raise web.HTTPFound(f"/hops/{left - 1}" if left > 1 else "/secret.md")

    async def unauthorised(request: web.Request) -> web.StreamResponse:
        await record(request)
        return web.Response(status=401, text="who are you?")

    async def dripping(request: web.Request) -> web.StreamResponse:
        await record(request)
        return await drip(request)

    async def big(request: web.Request) -> web.StreamResponse:
        await record(request)
        if request.query.get("declared"):
            return web.Response(body=b"x" * 2_000_000, content_type="text/plain")
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        for _ in range(200):  # chunked: no Content-Length to refuse up front
            await response.write(b"x" * 10_000)
        return response

    app = web.Application()
    for path, handler in [
        ("/page.md", page),
        ("/secret.md", page),
        ("/to", redirect),
        ("/hops/{left}", hops),
        ("/401", unauthorised),
        ("/drip", dripping),
        ("/big", big),
    ]:
        app.router.add_get(path, handler)
    async with serve(app) as base:
        state["site"] = Site(base, int(base.rsplit(":", 1)[1]))
        yield state["site"]


def resolver(table: Mapping[str, Sequence[str]]) -> Resolver:
    """Names from ``table``; any other host (numeric ones) through the system's resolver."""

    async def resolve(host: str, port: int) -> Sequence[str]:
        return table[host] if host in table else await system_resolver(host, port)

    return resolve


# "intranet.test" is allowed by name and resolves to the loopback site: an allowed-looking host.
INTRANET = resolver({"intranet.test": ["127.0.0.1"], "hr.corp.test": ["10.1.2.3"]})


def fetcher(
    allowed: str = "", *, deadline: float = 5.0, max_bytes: int = 1_000_000
) -> GuardedFetcher:
    policy = FetchPolicy(AllowList.parse(allowed), max_bytes=max_bytes, deadline_seconds=deadline)
    return GuardedFetcher(policy, resolver=INTRANET)


async def refused(fetch: GuardedFetcher, url: str) -> FetchRefused:
    # A bound on the test itself, so a fetcher that hangs fails instead of stalling the suite.
    with pytest.raises(FetchRefused) as caught:
        await asyncio.wait_for(fetch.fetch(url), 15)
    assert str(caught.value) == f"{url}: could not be downloaded"
    return caught.value


async def test_an_allowed_host_is_fetched_through_the_checked_address(site: Site) -> None:
    got = await fetcher("intranet.test").fetch(f"http://intranet.test:{site.port}/page.md")
    assert got.data == PAGE and got.media_type == "text/markdown"
    assert site.hosts == [f"intranet.test:{site.port}"]  # the name still travels in Host


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        ("http://127.0.0.1:{port}/secret.md", "loopback"),
        ("http://localhost:{port}/secret.md", "loopback"),
        ("http://[::ffff:127.0.0.1]:{port}/secret.md", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://hr.corp.test/secret.md", "private"),
    ],
)
async def test_a_redirect_from_an_allowed_host_inside_the_network_is_refused(
    site: Site, target: str, kind: str
) -> None:
    to = target.format(port=site.port)
    error = await refused(fetcher("intranet.test"), f"http://intranet.test:{site.port}/to?to={to}")
    assert kind in error.detail
    assert len(site.hits) == 1 and site.secret_hits() == []


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:{port}/secret.md",
        "http://127.0.0.1:{port}/secret.md",
        "http://0x7f000001:{port}/secret.md",
        "http://2130706433:{port}/secret.md",
        "http://127.1:{port}/secret.md",
        "http://[::1]:{port}/secret.md",
        "http://[::ffff:127.0.0.1]:{port}/secret.md",
        "http://[::ffff:7f00:1]:{port}/secret.md",
    ],
)
async def test_loopback_however_written_is_refused_by_the_real_resolver(
    site: Site, url: str
) -> None:
    guard = GuardedFetcher(FetchPolicy())  # the system's resolver
    error = await refused(guard, url.format(port=site.port))
    assert "loopback" in error.detail
    assert site.hits == []


async def test_loopback_is_fetched_when_the_operator_allows_it(site: Site) -> None:
    guard = GuardedFetcher(FetchPolicy(AllowList.parse("127.0.0.1")))
    got = await guard.fetch(f"http://localhost:{site.port}/page.md")
    assert got.data == PAGE
    assert site.hosts == [f"localhost:{site.port}"]


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1", "0.0.0.0",
     "224.0.0.1", "240.0.0.1", "255.255.255.255", "::", "fe80::1", "fc00::1", "ff02::1",
     "fec0::1", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "2001:db8::1"],
)  # fmt: skip
def test_addresses_inside_the_network_are_refused_by_default(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1111", "64:ff9b::5db8:d822"])
def test_public_addresses_are_not_refused(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


async def test_a_private_address_is_refused_unless_allow_listed() -> None:
    error = await refused(fetcher(), "http://hr.corp.test/handbook")
    assert "10.1.2.3, private" in error.detail
    # Allowed by its network or by its name, it gets as far as connecting (nothing listens).
    for allowed in ("10.0.0.0/8", "hr.corp.test", ".corp.test"):
        error = await refused(fetcher(allowed, deadline=0.5), "http://hr.corp.test:9/handbook")
        assert "private" not in error.detail


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "http://x", "a b/c", "wiki!"])
def test_a_bad_allow_list_entry_is_named(bad: str) -> None:
    with pytest.raises(ValueError, match="neither a network"):
        AllowList.parse(f"127.0.0.1, {bad}")


async def test_redirects_are_followed_five_times_and_no_more(site: Site) -> None:
    guard = fetcher("intranet.test")
    got = await guard.fetch(f"http://intranet.test:{site.port}/hops/5")
    assert got.final_url == f"http://intranet.test:{site.port}/secret.md"
    error = await refused(guard, f"http://intranet.test:{site.port}/hops/6")
    assert "redirects" in error.detail


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://intranet.test/", "gopher://x/"])
async def test_only_http_and_https_are_fetched(site: Site, url: str) -> None:
    await refused(fetcher("intranet.test"), url)
    await refused(fetcher("intranet.test"), f"http://intranet.test:{site.port}/to?to={url}")


async def test_a_slow_drip_is_stopped_at_the_total_deadline(site: Site) -> None:
    started = time.monotonic()
    error = await refused(
        fetcher("intranet.test", deadline=1.0), f"http://intranet.test:{site.port}/drip"
    )
    assert time.monotonic() - started < 3
    assert "within 1 s" in error.detail


@pytest.mark.parametrize("query", ["", "?declared=1"])
async def test_a_body_over_the_cap_is_refused(site: Site, query: str) -> None:
    error = await refused(
        fetcher("intranet.test", max_bytes=1_000_000),
        f"http://intranet.test:{site.port}/big{query}",
    )
    assert "more than 1000000 bytes" in error.detail


async def test_a_probe_answers_with_any_status_and_reads_only_html(site: Site) -> None:
    guard = fetcher("intranet.test", max_bytes=1_000_000)
    # A link check needs to know a link opens, not to download what it opens.
    big = await guard.probe(f"http://intranet.test:{site.port}/big?declared=1")
    assert (big.status, big.media_type, big.data) == (200, "text/plain", b"")
    unauthorised = await guard.probe(f"http://intranet.test:{site.port}/401")
    assert unauthorised.status == 401
    moved = await guard.probe(f"http://intranet.test:{site.port}/to?to=/page.md")
    assert moved.final_url == f"http://intranet.test:{site.port}/page.md"


async def test_a_probe_is_refused_where_a_download_is(site: Site) -> None:
    with pytest.raises(FetchRefused) as blocked:
        await fetcher().probe(f"http://intranet.test:{site.port}/page.md")
    assert blocked.value.blocked
    assert blocked.value.detail == "intranet.test resolves to 127.0.0.1, loopback"
    with pytest.raises(FetchRefused) as unreachable:
        await fetcher("intranet.test").probe(f"http://intranet.test:{free_port()}/page.md")
    assert not unreachable.value.blocked
    assert unreachable.value.detail.startswith("ConnectError: ")
    assert site.hits == []


async def test_every_failure_reads_the_same(site: Site) -> None:
    closed = f"http://intranet.test:{free_port()}/page.md"
    guard = fetcher("intranet.test", deadline=1.0)
    errors = [
        await refused(guard, url)
        for url in (
            closed,
            f"http://intranet.test:{site.port}/401",
            f"http://intranet.test:{site.port}/drip",
        )
    ]
    assert {e.reason for e in errors} == {"could not be downloaded"}
    assert len({e.detail for e in errors}) == 3  # the log still tells them apart


@dataclass
class HttpsSite:
    port: int
    client_context: ssl.SSLContext  # trusts the site's self-signed certificate


@pytest.fixture
async def https_site(tmp_path: Path) -> AsyncIterator[HttpsSite]:
    """An https server on 127.0.0.1 whose certificate is for ``intranet.test`` only."""
    cert_file, key_file = _self_signed(tmp_path, "intranet.test")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_file, key_file)

    async def page(_request: web.Request) -> web.Response:
        return web.Response(body=PAGE, content_type="text/markdown")

    app = web.Application()
    app.router.add_get("/page.md", page)
    runner = web.AppRunner(app)
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context)
    await server.start()
    port = server._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield HttpsSite(port, ssl.create_default_context(cafile=str(cert_file)))
    finally:
        await runner.cleanup()


async def test_https_pinned_to_the_address_checks_the_certificate_against_the_name(
    https_site: HttpsSite,
) -> None:
    guard = GuardedFetcher(
        FetchPolicy(AllowList.parse("intranet.test .other.test")),
        resolver=resolver({"intranet.test": ["127.0.0.1"], "www.other.test": ["127.0.0.1"]}),
        verify=https_site.client_context,
    )
    got = await guard.fetch(f"https://intranet.test:{https_site.port}/page.md")
    assert got.data == PAGE
    error = await refused(guard, f"https://www.other.test:{https_site.port}/page.md")
    assert "CERTIFICATE_VERIFY_FAILED" in error.detail


def _self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file
