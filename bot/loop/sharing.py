"""Who may see what an answer was written from: the scopes a training example keeps, and
whether an escalation channel may be shown a question and its answer."""

from __future__ import annotations

from collections.abc import Sequence

from bot.loop.answer_records import AnswerRecord
from knowledge.store import PgDocumentStore
from knowledge.types import PUBLIC_SCOPE, ScoredChunk, visible


async def sources_scopes(
    store: PgDocumentStore,
    sources: Sequence[ScoredChunk],
    *,
    unknown: Sequence[str],
    chosen: Sequence[str] = (),
) -> tuple[str, ...]:
    """Every scope of the documents ``sources`` come from, and ``chosen``: what an example
    written from them carries (it is for those who may see all of them). A document removed
    since counts as ``unknown`` (the asker's scopes: what it could have been).
    Raises ``DatabaseUnavailableError``."""
    ids = {s.document_id for s in sources}
    found = await store.scopes_of(ids)
    scopes = {*chosen, *(scope for document in found.values() for scope in document)}
    if len(found) < len(ids):
        scopes.update(unknown)
    return tuple(sorted(scopes or {PUBLIC_SCOPE}))


async def shareable(
    store: PgDocumentStore,
    record: AnswerRecord | None,
    *,
    asked_with: Sequence[str],
    audience: Sequence[str],
) -> bool:
    """Whether ``audience`` may see every source the answer of ``record`` cites; a cited
    document removed since counts as not visible. Without the record (forgotten, or never kept),
    whether ``audience`` may see all that the question's conversation (``asked_with``) could:
    everything the answer could have cited. Raises ``DatabaseUnavailableError``."""
    if record is None:
        return all(visible([scope], audience) for scope in asked_with)
    cited = {c.doc_id for c in record.answer.citations}
    found = await store.scopes_of(cited)
    return len(found) == len(cited) and all(visible(s, audience) for s in found.values())
