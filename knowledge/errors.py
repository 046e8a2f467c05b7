"""The knowledge package's errors. Each message is one line a person can act on."""

from __future__ import annotations


class KnowledgeError(Exception):
    """Base class for everything the knowledge base reports."""


class LoadError(KnowledgeError):
    """A file or URL could not be turned into a document."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class DatabaseUnavailableError(KnowledgeError):
    """The database could not be reached or refused the connection."""


class SchemaOutdatedError(KnowledgeError):
    """The database schema is not at the version this code expects."""


class EmbeddingModelMismatchError(KnowledgeError):
    """The stored vectors come from a different model than the configured one."""


class EmbeddingError(KnowledgeError):
    """The embedding model could not be loaded or did not answer."""


class DocumentNotFoundError(KnowledgeError):
    """No stored document matches the given id, link or title."""


class RerankerError(KnowledgeError):
    """The reranking model could not be loaded or did not score the candidates."""


class MetadataError(KnowledgeError):
    """A document's metadata cannot be set as asked (a bad status, an unknown successor)."""
