"""The signals the offline writer's quoting model weighs, sentence by sentence."""

from __future__ import annotations

import pytest

from bot.core.quoting import SIGNALS, QuotingModel, sentence_signals
from bot.service.chat_models import offline_writer
from bot.service.settings import Settings, SettingsError
from knowledge.embedders import HashingEmbedder, LocalEmbedder
from knowledge.types import ScoredChunk, ScoredSentence


def source(n: int, score: float, sentences: dict[str, float]) -> ScoredChunk:
    scored = tuple(ScoredSentence(text, similarity) for text, similarity in sentences.items())
    return ScoredChunk(f"c{n}", f"d{n}", "Handbook", "S", ("Handbook",), "u", " ".join(sentences),
                       score, max(sentences.values()), scored)  # fmt: skip


def test_each_sentence_is_measured_against_the_others_and_its_source() -> None:
    first = source(1, 2.0, {"**Q: Where do I log sick days?**": 0.8, "In BambooHR.": 0.5})
    second = source(2, 0.5, {"Sick leave is paid.": 0.6})
    rows = sentence_signals("where do i log sick days in bamboohr", [first, second])
    assert [(s.source, s.position, s.text) for s, _ in rows] == [
        (1, 0, "**Q: Where do I log sick days?**"),
        (1, 1, "In BambooHR."),
        (2, 0, "Sick leave is paid."),
    ]
    signals = [dict(zip(SIGNALS, row, strict=True)) for _, row in rows]
    assert [s["after_a_question"] for s in signals] == [0.0, 1.0, 0.0]
    assert [s["source_behind"] for s in signals] == [0.0, 0.0, -1.5]
    assert [s["similarity_behind"] for s in signals] == pytest.approx([0.0, -0.3, -0.2])
    assert [s["source_place"] for s in signals] == [1.0, 1.0, 0.5]
    # "bamboohr" is in one sentence only, "sick" in all three: the rare word counts more.
    assert signals[1]["rare_words"] > signals[2]["rare_words"]
    assert sentence_signals("anything", []) == []


def test_a_model_needs_a_weight_per_signal() -> None:
    with pytest.raises(ValueError, match="12 weights"):
        QuotingModel(weights=(1.0,), bias=0.0)


def test_a_quoting_model_for_another_embedder_is_set_as_fit_quoting_prints_it() -> None:
    own = QuotingModel(weights=tuple(float(n) for n in range(12)), bias=0.5)
    assert QuotingModel.parse(own.as_setting()) == own
    settings = Settings.from_env(
        {"SUPPORTBOT_EMBEDDER": "hashing", "SUPPORTBOT_QUOTING_MODEL": own.as_setting()}
    )
    assert offline_writer(settings, HashingEmbedder().model)._quoting == own
    assert offline_writer(settings, LocalEmbedder().model)._quoting == own, "the operator's wins"
    with pytest.raises(SettingsError, match="SUPPORTBOT_QUOTING_MODEL: missing similarity"):
        Settings.from_env({"SUPPORTBOT_QUOTING_MODEL": "bias=0"})
