"""Sources over an open knowledge base: the manager with its records, its sync engine and
what each kind's connector gets from the settings."""

from __future__ import annotations

from bot.core.knowledge_base import KnowledgeBase
from bot.service.settings import Settings
from knowledge.sources.connector import ConnectorContext
from knowledge.sources.kinds import SourceKind
from knowledge.sources.manager import SourceManager
from knowledge.sources.records import PgSourceRecords
from knowledge.sources.sync import SourceSync


def source_manager(settings: Settings, kb: KnowledgeBase) -> SourceManager:
    """The sources of ``kb``, synced with the configured limits and credentials."""
    records = PgSourceRecords(kb.engine)
    syncer = SourceSync(kb.store, records, chunking=kb.chunking, limits=kb.load_options.limits)

    def context_for(kind: SourceKind) -> ConnectorContext:
        return ConnectorContext(
            credentials={
                name: settings.source_credentials[name].reveal()
                for name in kind.credentials
                if name in settings.source_credentials
            },
            allowed=settings.fetch_allowed,
            groups=settings.access.sources.groups,
            timeout=settings.fetch_timeout,
            max_bytes=settings.max_document_bytes,
        )

    return SourceManager(kb.store, records, syncer, context_for)
