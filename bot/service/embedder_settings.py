"""The embedder settings, understood together: which embedder, which model, and so which
languages questions can be searched in. ``settings`` reads them from the environment."""

from __future__ import annotations

from typing import Any

from bot.core.language import ANY_LANGUAGE, ENGLISH_ONLY, SearchLanguages
from knowledge.embedders import LOCAL_MODEL_NAME

EMBEDDERS = ("local", "openai", "hashing")
DEFAULT_OPENAI_EMBEDDING_MODEL = "text-embedding-3-small"
# What SUPPORTBOT_EMBEDDING_MODEL may say for the bundled model, as if it said nothing.
BUNDLED_MODEL_NAMES = (LOCAL_MODEL_NAME, LOCAL_MODEL_NAME.split("/")[-1])


def embedder_settings(
    embedder: str | None, model: str | None, languages: str | None
) -> dict[str, Any]:
    """``embedder``, ``embedding_model`` and ``search_languages`` from the values of
    SUPPORTBOT_EMBEDDER, SUPPORTBOT_EMBEDDING_MODEL and SUPPORTBOT_SEARCH_LANGUAGES.

    Raises ValueError naming the variable. The bundled MiniLM and the hashing embedder only
    match English words; an OpenAI-compatible model or one of the operator's own is often
    multilingual, so those search any language unless SUPPORTBOT_SEARCH_LANGUAGES says otherwise.
    """
    embedder = (embedder or "local").lower()
    if embedder not in EMBEDDERS:
        raise ValueError(
            f"SUPPORTBOT_EMBEDDER must be one of {', '.join(EMBEDDERS)}, got {embedder!r}"
        )
    if embedder == "openai" and model is None:
        model = DEFAULT_OPENAI_EMBEDDING_MODEL
    if embedder == "local" and model in BUNDLED_MODEL_NAMES:
        model = None
    if languages is None:
        english_only = embedder == "hashing" or (embedder == "local" and model is None)
        search_languages = ENGLISH_ONLY if english_only else ANY_LANGUAGE
    else:
        try:
            search_languages = SearchLanguages.parse(languages)
        except ValueError as e:
            raise ValueError(f"SUPPORTBOT_SEARCH_LANGUAGES: {e}") from None
    return {"embedder": embedder, "embedding_model": model, "search_languages": search_languages}
