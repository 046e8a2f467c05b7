"""The one place that reads the environment. Everything else receives a ``Settings``.

Tests build settings from a plain dict: ``Settings.from_env({"DATABASE_URL": ...})``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import platformdirs

from bot.core.coverage import CoverageModel
from bot.core.language import ENGLISH_ONLY, SearchLanguages
from bot.core.quoting import QuotingModel
from bot.platforms.access import AccessFileError, AccessRules
from bot.platforms.assistant_messages import DEFAULT_SUGGESTED_PROMPTS
from bot.service.console_settings import public_url
from bot.service.embedder_settings import embedder_settings
from bot.service.guard_settings import breaker_settings, rate_limit_settings
from bot.service.platform_settings import SLACK_API_URL, slack_settings, teams_settings
from bot.service.secret import Secret as Secret
from bot.service.secret import SettingsError as SettingsError
from bot.service.secret import secret
from bot.service.source_settings import source_settings
from knowledge.loading.addresses import AllowList
from knowledge.ranking import RankingModel

T = TypeVar("T")

DEFAULT_CHAT_MODEL = "gpt-4o-mini"
DEFAULT_TUNE_BASE_MODEL = "gpt-4o-mini-2024-07-18"
OFFLINE_CHAT_MODEL = "offline"


@dataclass(frozen=True)
class Settings:
    """Every setting of the product; see the README's configuration table."""

    home: Path
    database_url: Secret | None = None
    eval_database_url: Secret | None = None
    redis_url: Secret | None = None
    embedder: str = "local"
    embedding_model: str | None = None
    embedding_dimension: int | None = None
    search_languages: SearchLanguages = ENGLISH_ONLY
    openai_api_key: Secret | None = field(default=None)
    openai_base_url: str | None = None
    chunk_size: int = 1000
    chunk_overlap: int = 150
    top_k: int = 4
    min_similarity: float = 0.2
    reranker: str | None = None
    rerank_candidates: int = 20
    max_document_mb: float = 25.0
    fetch_timeout: float = 20.0
    fetch_allowed: AllowList = field(default_factory=AllowList)
    parse_timeout: float = 30.0
    parse_memory_mb: int = 1024
    max_pdf_pages: int = 500
    log_level: str = "WARNING"
    chat_model: str | None = None
    llm_timeout: float = 20.0
    llm_max_retries: int = 2
    llm_breaker_failures: int = 3
    llm_breaker_window: float = 60.0
    llm_breaker_cooldown: float = 30.0
    # Seconds the model has to answer (streamed: to begin) when answering live; 0: no deadline.
    llm_answer_deadline: float = 10.0
    questions_per_minute: int = 0
    questions_per_day: int = 0
    style_file: Path | None = None
    company_name: str = "our company"
    contact: str = "your manager or the People Team"
    # Both None: the decision fitted for the bundled model, or 0.35 with any other embedder.
    answer_min_similarity: float | None = None
    decline_model: CoverageModel | None = None
    ranking_model: RankingModel | None = None
    quoting_model: QuotingModel | None = None
    cache_ttl_seconds: int = 86_400
    max_question_chars: int = 2000
    prompt_price_per_1k: float = 0.0
    completion_price_per_1k: float = 0.0
    tune_base_model: str = DEFAULT_TUNE_BASE_MODEL
    access: AccessRules = field(default_factory=AccessRules)
    redis_namespace: str = "supportbot"
    user_hash_key: Secret | None = None
    slack_bot_token: Secret | None = None
    slack_signing_secret: Secret | None = None
    slack_app_token: Secret | None = None
    slack_api_url: str = SLACK_API_URL
    slack_admins: tuple[str, ...] = ()
    slack_admin_channel: str | None = None
    slack_escalation_channel: str | None = None
    slack_experts: tuple[str, ...] = ()
    # The suggested prompts of a new thread in Slack's assistant pane.
    slack_suggested_prompts: tuple[str, ...] = DEFAULT_SUGGESTED_PROMPTS
    teams_app_id: str | None = None
    teams_app_password: Secret | None = None
    teams_tenant_id: str | None = None
    teams_app_type: str = "MultiTenant"
    teams_admins: tuple[str, ...] = ()
    teams_escalation_channel: str | None = None
    teams_escalation_user: str | None = None
    teams_reply_within_seconds: float = 10.0
    teams_allow_unauthenticated: bool = False
    teams_allowed_tenants: tuple[str, ...] = ()
    teams_service_url: str | None = None
    shutdown_timeout: float = 20.0
    job_workers: int = 1
    job_stalled_seconds: float = 30.0
    socket_lock_seconds: float = 15.0
    question_lease_seconds: float = 10.0
    answer_memory_days: float = 14.0
    change_poll_seconds: float = 15.0
    gap_similarity: float = 0.85
    source_interval_minutes: int = 60
    source_credentials: Mapping[str, Secret] = field(default_factory=dict)
    public_url: str | None = None

    @property
    def max_document_bytes(self) -> int:
        return int(self.max_document_mb * 1024 * 1024)

    @property
    def teams_authenticated(self) -> bool:
        """Whether Teams requests must carry a Bot Framework token (else: loopback only)."""
        return self.teams_app_id is not None

    @property
    def teams_enabled(self) -> bool:
        """Whether ``/api/messages`` exists: with Bot Framework credentials, or without any for
        local development when ``TEAMS_ALLOW_UNAUTHENTICATED`` says so."""
        return self.teams_authenticated or self.teams_allow_unauthenticated

    @property
    def slack_enabled(self) -> bool:
        """Whether the Slack adapter runs (over HTTP, or Socket Mode with an app token)."""
        return self.slack_bot_token is not None

    @property
    def uses_llm(self) -> bool:
        """Whether answers are written by a chat model (else by the offline writer)."""
        return self.chat_model is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from environment variables (``os.environ`` when none are given)."""
        env = dict(os.environ if environ is None else environ)

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def number(name: str, kind: Callable[[str], T], default: T, minimum: float) -> T:
            raw = get(name)
            if raw is None:
                return default
            try:
                value = kind(raw)
            except ValueError:
                raise SettingsError(f"{name} must be a number, got {raw!r}") from None
            if value < minimum:  # type: ignore[operator]
                raise SettingsError(f"{name} must be at least {minimum}, got {raw!r}")
            return value

        try:
            embedding = embedder_settings(
                get("SUPPORTBOT_EMBEDDER"),
                get("SUPPORTBOT_EMBEDDING_MODEL"),
                get("SUPPORTBOT_SEARCH_LANGUAGES"),
            )
        except ValueError as e:
            raise SettingsError(str(e)) from None
        dimension = get("SUPPORTBOT_EMBEDDING_DIMENSION")
        chunk_size = number("SUPPORTBOT_CHUNK_SIZE", int, 1000, 100)
        overlap = number("SUPPORTBOT_CHUNK_OVERLAP", int, 150, 0)
        if overlap >= chunk_size // 2:
            raise SettingsError("SUPPORTBOT_CHUNK_OVERLAP must be less than half the chunk size")
        min_similarity = number("SUPPORTBOT_MIN_SIMILARITY", float, 0.2, -1.0)
        if min_similarity > 1:
            raise SettingsError("SUPPORTBOT_MIN_SIMILARITY must be between -1 and 1")
        chat_model = get("SUPPORTBOT_CHAT_MODEL")
        llm_configured = get("OPENAI_API_KEY") or get("OPENAI_BASE_URL")
        if chat_model is None and llm_configured:
            chat_model = DEFAULT_CHAT_MODEL
        if chat_model == OFFLINE_CHAT_MODEL:
            chat_model = None
        reranker = get("SUPPORTBOT_RERANKER")
        if reranker is not None and reranker.lower() in ("none", "llm"):
            reranker = None if reranker.lower() == "none" else "llm"
        if reranker == "llm" and chat_model is None:
            raise SettingsError(
                "SUPPORTBOT_RERANKER=llm needs a chat model: set SUPPORTBOT_CHAT_MODEL, "
                "OPENAI_API_KEY or OPENAI_BASE_URL"
            )
        style_file = get("SUPPORTBOT_STYLE_FILE")
        if style_file and not Path(style_file).is_file():
            raise SettingsError(f"SUPPORTBOT_STYLE_FILE {style_file!r} is not a readable file")
        answer_min_similarity = (
            number("SUPPORTBOT_ANSWER_MIN_SIMILARITY", float, 0.35, -1.0)
            if get("SUPPORTBOT_ANSWER_MIN_SIMILARITY")
            else None
        )
        if answer_min_similarity is not None and answer_min_similarity > 1:
            raise SettingsError("SUPPORTBOT_ANSWER_MIN_SIMILARITY must be between -1 and 1")
        decline_model = _fitted(
            "SUPPORTBOT_DECLINE_MODEL", get("SUPPORTBOT_DECLINE_MODEL"), CoverageModel.parse
        )
        if decline_model is not None and answer_min_similarity is not None:
            raise SettingsError(
                "SUPPORTBOT_DECLINE_MODEL and SUPPORTBOT_ANSWER_MIN_SIMILARITY are both set: "
                "each decides alone what is covered, so unset one"
            )
        access_file = get("SUPPORTBOT_ACCESS_FILE")
        try:
            access = AccessRules.from_file(Path(access_file)) if access_file else AccessRules()
        except AccessFileError as e:
            raise SettingsError(f"SUPPORTBOT_ACCESS_FILE: {e}") from None
        try:
            fetch_allowed = AllowList.parse(get("SUPPORTBOT_FETCH_ALLOWED_NETWORKS") or "")
        except ValueError as e:
            raise SettingsError(f"SUPPORTBOT_FETCH_ALLOWED_NETWORKS: {e}") from None
        return cls(
            home=Path(get("SUPPORTBOT_HOME") or platformdirs.user_data_path("supportbot")),
            database_url=secret(get("DATABASE_URL")),
            eval_database_url=secret(get("SUPPORTBOT_EVAL_DATABASE_URL")),
            redis_url=secret(get("REDIS_URL")),
            **embedding,
            embedding_dimension=(
                number("SUPPORTBOT_EMBEDDING_DIMENSION", int, 0, 1) if dimension else None
            ),
            openai_api_key=secret(get("OPENAI_API_KEY")),
            openai_base_url=get("OPENAI_BASE_URL"),
            chunk_size=chunk_size,
            chunk_overlap=overlap,
            top_k=number("SUPPORTBOT_TOP_K", int, 4, 1),
            min_similarity=min_similarity,
            reranker=reranker,
            rerank_candidates=number("SUPPORTBOT_RERANK_CANDIDATES", int, 20, 1),
            max_document_mb=number("SUPPORTBOT_MAX_DOCUMENT_MB", float, 25.0, 0.001),
            fetch_timeout=number("SUPPORTBOT_FETCH_TIMEOUT", float, 20.0, 0.1),
            fetch_allowed=fetch_allowed,
            parse_timeout=number("SUPPORTBOT_PARSE_TIMEOUT", float, 30.0, 1.0),
            parse_memory_mb=number("SUPPORTBOT_PARSE_MEMORY_MB", int, 1024, 64),
            max_pdf_pages=number("SUPPORTBOT_MAX_PDF_PAGES", int, 500, 1),
            log_level=(get("SUPPORTBOT_LOG_LEVEL") or "WARNING").upper(),
            chat_model=chat_model,
            llm_timeout=number("SUPPORTBOT_LLM_TIMEOUT", float, 20.0, 0.1),
            llm_max_retries=number("SUPPORTBOT_LLM_MAX_RETRIES", int, 2, 0),
            **breaker_settings(number),
            **rate_limit_settings(number),
            style_file=Path(style_file) if style_file else None,
            company_name=get("SUPPORTBOT_COMPANY_NAME") or "our company",
            contact=get("SUPPORTBOT_CONTACT") or "your manager or the People Team",
            answer_min_similarity=answer_min_similarity,
            decline_model=decline_model,
            ranking_model=_fitted(
                "SUPPORTBOT_RANKING_MODEL", get("SUPPORTBOT_RANKING_MODEL"), RankingModel.parse
            ),
            quoting_model=_fitted(
                "SUPPORTBOT_QUOTING_MODEL", get("SUPPORTBOT_QUOTING_MODEL"), QuotingModel.parse
            ),
            cache_ttl_seconds=number("SUPPORTBOT_CACHE_TTL", int, 86_400, 1),
            max_question_chars=number("SUPPORTBOT_MAX_QUESTION_CHARS", int, 2000, 10),
            prompt_price_per_1k=number("SUPPORTBOT_PROMPT_PRICE_PER_1K", float, 0.0, 0.0),
            completion_price_per_1k=number("SUPPORTBOT_COMPLETION_PRICE_PER_1K", float, 0.0, 0.0),
            tune_base_model=get("SUPPORTBOT_TUNE_BASE_MODEL") or DEFAULT_TUNE_BASE_MODEL,
            access=access,
            redis_namespace=get("SUPPORTBOT_REDIS_NAMESPACE") or "supportbot",
            user_hash_key=secret(get("SUPPORTBOT_USER_HASH_KEY")),
            **slack_settings(get),
            **teams_settings(get),
            teams_reply_within_seconds=number("TEAMS_REPLY_WITHIN_SECONDS", float, 10.0, 0.0),
            shutdown_timeout=number("SUPPORTBOT_SHUTDOWN_TIMEOUT", float, 20.0, 0.0),
            job_workers=number("SUPPORTBOT_JOB_WORKERS", int, 1, 0),
            answer_memory_days=number("SUPPORTBOT_ANSWER_MEMORY_DAYS", float, 14.0, 0.01),
            change_poll_seconds=number("SUPPORTBOT_CHANGE_POLL_SECONDS", float, 15.0, 0.1),
            gap_similarity=number("SUPPORTBOT_GAP_SIMILARITY", float, 0.85, 0.0),
            job_stalled_seconds=number("SUPPORTBOT_JOB_STALLED_SECONDS", float, 30.0, 3.0),
            socket_lock_seconds=number("SUPPORTBOT_SOCKET_LOCK_SECONDS", float, 15.0, 3.0),
            **source_settings(get, number),
            question_lease_seconds=number("SUPPORTBOT_QUESTION_LEASE_SECONDS", float, 10.0, 1.0),
            public_url=public_url(get("SUPPORTBOT_PUBLIC_URL")),
        )


def _fitted(name: str, value: str | None, parse: Callable[[str], T]) -> T | None:
    """The fitted model setting ``name`` holds (as ``supportbot eval --fit-…`` prints it)."""
    if value is None:
        return None
    try:
        return parse(value)
    except ValueError as e:
        raise SettingsError(f"{name}: {e}") from None
