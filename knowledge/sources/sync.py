"""Syncing a source: list its items, skip the unchanged ones, store the changed ones through
the ingest path, remove the ones gone, and record how it went.

An item whose change marker (and scopes) are those of the last sync is skipped without being
fetched; one fetched whose bytes, link and scopes are those stored is skipped before parsing;
only a changed one is parsed, chunked and stored, and only its changed chunks are embedded.
One item's failure is that item's line in the report; its stored document stays. A source that
cannot be listed, or that refuses the credentials while syncing, removes nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from knowledge.chunking import ChunkingOptions, chunk_document
from knowledge.errors import KnowledgeError, LoadError
from knowledge.loading.isolation import parse_bounded
from knowledge.loading.limits import ParseLimits
from knowledge.sources.connector import ItemGone, SourceConnector, SourceError
from knowledge.sources.records import PgSourceRecords
from knowledge.sources.types import ItemContent, KnownItem, SourceConfig, SourceItem, SyncReport
from knowledge.store import PgDocumentStore

log = logging.getLogger(__name__)

_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class _Outcome:
    item_id: str
    status: str  # "added", "updated", "unchanged", "gone" or "failed"
    problem: str = ""
    stops_source: bool = False


class SourceSync:
    """Syncs sources into the document store, ``concurrency`` items at a time."""

    def __init__(
        self,
        store: PgDocumentStore,
        records: PgSourceRecords,
        *,
        chunking: ChunkingOptions | None = None,
        limits: ParseLimits | None = None,
        concurrency: int = 4,
    ) -> None:
        self._store = store
        self._records = records
        self._chunking = chunking
        self._limits = limits or ParseLimits()
        self._concurrency = concurrency

    async def sync(self, config: SourceConfig, connector: SourceConnector) -> SyncReport:
        """Bring the documents of ``config`` in line with the source; returns what changed."""
        name = config.name
        known = await self._records.known_items(name)
        cursor = await self._records.cursor(name)
        try:
            listing = await connector.list_items(cursor)
        except SourceError as e:
            return await self._failed(name, len(known), str(e))
        except KnowledgeError:
            raise
        except Exception as e:
            log.exception("source %s could not be listed", name)
            return await self._failed(name, len(known), f"unexpected {type(e).__name__}")
        gate = asyncio.Semaphore(self._concurrency)

        async def one(item: SourceItem) -> _Outcome:
            async with gate:
                return await self._item(config, connector, item, known.get(item.id))

        current = [i for i in listing.items if not i.removed]
        outcomes = await asyncio.gather(*(one(i) for i in current))
        stopped = next((o.problem for o in outcomes if o.stops_source), None)
        gone = {i.id for i in listing.items if i.removed}
        gone |= {o.item_id for o in outcomes if o.status == "gone"}
        if listing.complete:
            gone |= set(known) - {i.id for i in current}
        gone &= set(known)
        if stopped is None:
            await self._remove(name, [known[i] for i in gone])
        else:
            gone = set()
        stored = set(known) | {o.item_id for o in outcomes if o.status in ("added", "updated")}
        count = {s: sum(1 for o in outcomes if o.status == s) for s in ("added", "updated")}
        report = SyncReport(
            name,
            pages=len(stored - gone),
            added=count["added"],
            updated=count["updated"],
            unchanged=sum(1 for o in outcomes if o.status == "unchanged"),
            removed=len(gone),
            failures=tuple(o.problem for o in outcomes if o.status == "failed"),
            error=stopped,
        )
        # A change feed is read again from the same place until every change in it is stored.
        advance = stopped is None and not report.failures
        await self._records.finish_sync(name, report, listing.cursor if advance else cursor)
        return report

    async def _failed(self, name: str, pages: int, error: str) -> SyncReport:
        report = SyncReport(name, pages=pages, error=error)
        await self._records.finish_sync(name, report, None)
        return report

    async def _item(
        self,
        config: SourceConfig,
        connector: SourceConnector,
        item: SourceItem,
        known: KnownItem | None,
    ) -> _Outcome:
        scopes = item.scopes if item.scopes is not None else config.scopes
        scope_key = ",".join(sorted(scopes))
        token = f"{scope_key}{_SEPARATOR}{item.change}"
        if known is not None and known.document_id and item.change and known.change == token:
            return _Outcome(item.id, "unchanged")
        known_scopes, _, known_marker = (known.change if known else "").partition(_SEPARATOR)
        same_scopes = known is not None and known.document_id and known_scopes == scope_key
        previous = known_marker if same_scopes else None
        try:
            content = await connector.fetch(item, previous or None)
            if content is None:
                if known is not None and known.change != token and item.change:
                    await self._records.keep_item(
                        config.name, dataclasses.replace(known, change=token)
                    )
                return _Outcome(item.id, "unchanged")
            return await self._store_item(config, item, known, content, scopes, scope_key)
        except ItemGone:
            return _Outcome(item.id, "gone")
        except SourceError as e:
            return _Outcome(item.id, "failed", str(e), stops_source=True)
        except LoadError as e:
            return _Outcome(item.id, "failed", str(e))
        except KnowledgeError:
            raise  # the database or the embedder: every item would fail alike
        except Exception as e:
            # A source answering what its connector did not expect fails that item alone.
            log.exception("item %s of source %s failed unexpectedly", item.id, config.name)
            return _Outcome(item.id, "failed", f"{item.id}: unexpected {type(e).__name__}")

    async def _store_item(
        self,
        config: SourceConfig,
        item: SourceItem,
        known: KnownItem | None,
        content: ItemContent,
        scopes: tuple[str, ...],
        scope_key: str,
    ) -> _Outcome:
        raw = content.raw
        digest = hashlib.sha256(
            _SEPARATOR.join((raw.format, raw.url or "", scope_key)).encode() + raw.data
        ).hexdigest()
        token = f"{scope_key}{_SEPARATOR}{item.change or content.change}"
        if known is not None and known.document_id and known.content_hash == digest:
            await self._records.keep_item(config.name, dataclasses.replace(known, change=token))
            return _Outcome(item.id, "unchanged")
        document = await parse_bounded(raw, self._limits)
        document = dataclasses.replace(
            document, scopes=scopes, origin=f"source:{config.name}:{item.id}"
        )
        result = await self._store.upsert(document, chunk_document(document, self._chunking))
        await self._records.keep_item(
            config.name, KnownItem(item.id, result.document_id, token, digest)
        )
        if result.status == "unchanged":
            return _Outcome(item.id, "unchanged")
        return _Outcome(item.id, "added" if known is None or not known.document_id else "updated")

    async def _remove(self, name: str, items: list[KnownItem]) -> None:
        if not items:
            return
        documents = [i.document_id for i in items if i.document_id]

        async def forget(connection: AsyncConnection) -> None:
            await self._records.forget_items(connection, name, [i.id for i in items])

        await self._store.remove_documents(documents, along=forget)
