"""The chat model and what is built on it: the answer writer, the LLM reranker and the
evaluation's judge, on the configured OpenAI-compatible endpoint.

Answering live, the model sits behind its circuit breaker and the writer quotes the documents
whenever the model cannot be used; the evaluation gets neither, since it must see failures.
"""

from __future__ import annotations

from bot.core.breaker import CircuitBreaker, GuardedChatModel
from bot.core.llm import ChatModel, OpenAIChatModel
from bot.core.llm_reranker import LLMReranker
from bot.core.offline_writer import ExtractiveAnswerWriter
from bot.core.prompts import Prompts
from bot.core.quoting import FITTED_FOR_MINILM as FITTED_QUOTING
from bot.core.writers import AnswerWriter, DegradingAnswerWriter, LLMAnswerWriter
from bot.evaluation.judge import Judge, LexicalJudge, LLMJudge
from bot.loop.change_summary import ChangeSummarizer
from bot.service.safeguards import Safeguards
from bot.service.settings import Settings, SettingsError
from knowledge.embedders import LOCAL_MODEL_NAME
from knowledge.reranking import CrossEncoderReranker, Reranker

# The part of the answer deadline a follow-up's rewrite (before the search) may take.
REWRITE_SHARE = 1 / 3


def build_chat_model(
    settings: Settings, model: str, breaker: CircuitBreaker | None = None
) -> ChatModel:
    """A chat model on the configured endpoint, behind ``breaker`` if one is given."""
    chat = OpenAIChatModel(
        model,
        api_key=settings.openai_api_key.reveal() if settings.openai_api_key else None,
        base_url=settings.openai_base_url,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
    )
    return chat if breaker is None else GuardedChatModel(chat, breaker)


def build_writer(
    settings: Settings,
    prompts: Prompts,
    breaker: CircuitBreaker | None = None,
    *,
    degrade: bool = False,
    embedding_model: str,
) -> AnswerWriter:
    """The chat model's writer when an LLM is configured, else the offline extractive one;
    ``degrade``: the offline writer stands in whenever the model cannot be used.
    ``embedding_model`` is the model that scored the sources' sentences."""
    if settings.chat_model is None:
        return offline_writer(settings, embedding_model)
    chat = rewriter = build_chat_model(settings, settings.chat_model)
    deadline = settings.llm_answer_deadline or None
    if breaker is not None:
        # An asker waits for the model only so long before the documents are quoted instead;
        # a follow-up's one-sentence rewrite gets a share of that, so the two together fit.
        chat = GuardedChatModel(chat, breaker, deadline)
        rewriter = GuardedChatModel(rewriter, breaker, deadline and deadline * REWRITE_SHARE)
    writer = LLMAnswerWriter(chat, prompts, company=settings.company_name, rewriter=rewriter)
    fallback = offline_writer(settings, embedding_model)
    return DegradingAnswerWriter(writer, fallback) if degrade else writer


def offline_writer(settings: Settings, embedding_model: str) -> ExtractiveAnswerWriter:
    """The offline writer; it quotes by the operator's fitted quoting model if one is set, else
    by the one fitted for the bundled embedding model when ``embedding_model`` is that model
    (the sentences' similarities mean something else under another), else by similarity."""
    bundled = FITTED_QUOTING if embedding_model == LOCAL_MODEL_NAME else None
    return ExtractiveAnswerWriter(quoting=settings.quoting_model or bundled)


def build_reranker(settings: Settings, breaker: CircuitBreaker | None = None) -> Reranker | None:
    """The configured second-stage reranker, if any; a cross-encoder loads on first use."""
    if settings.reranker is None:
        return None
    if settings.reranker != "llm":
        return CrossEncoderReranker(settings.reranker)
    if settings.chat_model is None:
        raise SettingsError("SUPPORTBOT_RERANKER=llm needs a chat model: set SUPPORTBOT_CHAT_MODEL")
    chat = build_chat_model(settings, settings.chat_model, breaker)
    return LLMReranker(chat, Prompts.load(settings.style_file))


def build_judge(settings: Settings, prompts: Prompts, model: str | None = None) -> Judge:
    """The evaluation's grader: ``model`` (else the chat model) when an LLM is configured."""
    model = model or settings.chat_model
    if model is None:
        return LexicalJudge()
    return LLMJudge(build_chat_model(settings, model), prompts)


def change_summarizer(settings: Settings, safeguards: Safeguards) -> ChangeSummarizer | None:
    """What summarises a document's change for announcements, when a chat model is set."""
    if settings.chat_model is None:
        return None
    return ChangeSummarizer(build_chat_model(settings, settings.chat_model, safeguards.breaker))
