"""Loading documents from files, folders and URLs.

``load`` is the one entry point: give it what the user typed (paths, folders, URLs) and it
yields a ``Document`` or a ``LoadError`` per file, so one bad file never stops a batch.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import httpx

from knowledge.errors import LoadError
from knowledge.loading.isolation import parse_bounded
from knowledge.loading.limits import ParseLimits
from knowledge.loading.links import DEFAULT_LINK_STYLE, LinkStyle, clashes, file_link, is_readme
from knowledge.loading.parsing import parse
from knowledge.loading.source_metadata import with_source_metadata
from knowledge.loading.sources import (
    RawSource,
    fetch_url,
    files_in,
    is_url,
    read_file,
    supported_extensions,
    uploaded,
)
from knowledge.types import Document

__all__ = [
    "LinkStyle",
    "LoadOptions",
    "LoadOutcome",
    "LoadPlan",
    "ParseLimits",
    "RawSource",
    "load",
    "parse",
    "plan",
    "uploaded",
]


@dataclass(frozen=True)
class LoadOptions:
    """How to load: overrides for scope and owner, link base and style, limits.

    ``scopes`` and ``owner`` replace what a document declares itself when given; ``link_style``
    is how files under ``base_url`` are linked and anchored (None: the default, ``pretty``);
    ``timeout`` is the seconds a URL's download may take in all; ``limits`` bound each
    document's parse.
    """

    base_url: str | None = None
    link_style: LinkStyle | None = None
    scopes: tuple[str, ...] | None = None
    owner: str | None = None
    max_bytes: int = 25 * 1024 * 1024
    timeout: float = 20.0
    limits: ParseLimits = field(default_factory=ParseLimits)


@dataclass(frozen=True)
class LoadOutcome:
    """One loaded document, or the error that stopped it.

    ``skipped`` marks files in a folder that were passed over for their format: reported, but
    not a failure.
    """

    source: str
    document: Document | None = None
    error: LoadError | None = None
    skipped: bool = False


@dataclass(frozen=True)
class LoadPlan:
    """What ``load`` will try to read: each source's size in bytes by the name its outcome will
    carry (0 for a URL, whose size is known only once fetched)."""

    sizes: Mapping[str, int]


def plan(targets: Sequence[str | RawSource]) -> LoadPlan:
    """The sources ``load(targets)`` will yield a document or an error for, before it reads any;
    files it will skip for their format are left out. Blocking: it lists folders."""
    sizes: dict[str, int] = {}
    for target in targets:
        if isinstance(target, RawSource):
            sizes[target.name] = len(target.data)
        elif is_url(target):
            sizes[target] = 0
        elif _kind_of(Path(target)) == "folder":
            sizes.update((str(file), _size(file)) for file in files_in(Path(target))[0])
        else:
            sizes[target] = _size(Path(target))
    return LoadPlan(sizes)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


async def load(
    targets: Sequence[str | RawSource], options: LoadOptions | None = None
) -> AsyncIterator[LoadOutcome]:
    """Load every file, folder (recursively) and URL in ``targets``, in order.

    A ``RawSource`` target is bytes already in hand (a file uploaded in chat).
    """
    options = options or LoadOptions()
    async with httpx.AsyncClient(
        follow_redirects=True,
        timeout=options.timeout,
        headers={"User-Agent": "supportbot (knowledge base ingest)"},
    ) as client:
        for target in targets:
            async for outcome in _load_target(target, options, client):
                yield outcome


async def _load_target(
    target: str | RawSource, options: LoadOptions, client: httpx.AsyncClient
) -> AsyncIterator[LoadOutcome]:
    if isinstance(target, RawSource):
        yield await _outcome(target.name, options, _given(target))
        return
    if is_url(target):
        yield await _outcome(target, options, _fetch(target, client, options))
        return
    path = Path(target)
    kind = await asyncio.to_thread(_kind_of, path)
    if kind == "folder":
        supported, unsupported = await asyncio.to_thread(files_in, path)
        if not supported:
            yield LoadOutcome(
                target,
                error=LoadError(
                    target, f"has no supported files (supported: {supported_extensions()})"
                ),
            )
        clashing = _clashes(supported, path, options)
        for file in supported:
            if file in clashing:
                yield clashing[file]
                continue
            yield await _outcome(str(file), options, _read(file, path, options))
        for file in unsupported:
            reason = LoadError(str(file), f"unsupported format {file.suffix or '(none)'}")
            yield LoadOutcome(str(file), error=reason, skipped=True)
        return
    if kind == "missing":
        yield LoadOutcome(target, error=LoadError(target, "no such file, folder or URL"))
        return
    yield await _outcome(target, options, _read(path, None, options))


def _kind_of(path: Path) -> str:
    return "folder" if path.is_dir() else "file" if path.exists() else "missing"


def _clashes(files: Sequence[Path], root: Path, options: LoadOptions) -> dict[Path, LoadOutcome]:
    """What becomes of files that would link to another file's page: a README beside an
    index page is skipped (sites leave it out); any other is refused, naming the other."""
    if not options.base_url:
        return {}
    form = (options.link_style or DEFAULT_LINK_STYLE).form
    relatives = {PurePosixPath(f.relative_to(root).as_posix()): f for f in files}
    outcomes = {}
    for relative, keeper in clashes(relatives, form).items():
        name, kept = str(relatives[relative]), relatives[keeper]
        skipped = is_readme(relative) and not is_readme(keeper)
        if skipped:
            reason = f"left out: {kept} is the page of its folder"
        else:
            link = file_link(options.base_url, relative, form)
            reason = f"would link to {link}, as {kept} does: rename one, or use the path style"
        outcomes[relatives[relative]] = LoadOutcome(
            name, error=LoadError(name, reason), skipped=skipped
        )
    return outcomes


async def _read(path: Path, root: Path | None, options: LoadOptions) -> RawSource:
    return await asyncio.to_thread(
        read_file,
        path,
        root=root,
        base_url=options.base_url,
        max_bytes=options.max_bytes,
        style=options.link_style or DEFAULT_LINK_STYLE,
    )


async def _fetch(url: str, client: httpx.AsyncClient, options: LoadOptions) -> RawSource:
    source = await fetch_url(url, client, max_bytes=options.max_bytes, deadline=options.timeout)
    return dataclasses.replace(source, slugs=(options.link_style or DEFAULT_LINK_STYLE).slugs)


async def _given(source: RawSource) -> RawSource:
    return source


async def _outcome(name: str, options: LoadOptions, reading: Awaitable[RawSource]) -> LoadOutcome:
    try:
        source = await reading
        document = await parse_bounded(source, options.limits)
        document = with_source_metadata(document, source.metadata, name)
    except LoadError as e:
        return LoadOutcome(name, error=e)
    if options.scopes:
        document = dataclasses.replace(document, scopes=options.scopes)
    if options.owner:
        document = dataclasses.replace(document, owner=options.owner)
    return LoadOutcome(name, document=document)
