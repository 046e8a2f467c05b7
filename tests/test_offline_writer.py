"""The offline writer quotes by meaning: the sentence that answers leads (closest to the
question, or likeliest by the fitted quoting model), and it cites only the sources it quotes."""

from __future__ import annotations

from bot.core.offline_writer import ExtractiveAnswerWriter, OfflineWriterOptions
from bot.core.quoting import FITTED_FOR_MINILM
from bot.service.chat_models import offline_writer
from bot.service.settings import Settings
from knowledge.embedders import HashingEmbedder, LocalEmbedder
from knowledge.types import ScoredChunk, ScoredSentence


def source(n: int, sentences: dict[str, float], title: str = "Policy") -> ScoredChunk:
    scored = tuple(ScoredSentence(text, similarity) for text, similarity in sentences.items())
    text = " ".join(sentences)
    best = max(sentences.values(), default=0.0)
    return ScoredChunk(f"c{n}", f"d{n}", title, "S", (title, "S"), f"https://hb.test/{n}",
                       text, 1.0 / n, best, scored)  # fmt: skip


def lines(text: str) -> list[str]:
    return [line.removeprefix("- ") for line in text.splitlines()[2:]]


async def test_the_sentence_closest_in_meaning_leads_even_with_fewer_shared_words() -> None:
    adoption = source(1, {
        "Adoption leave is available to employees who adopt a child.": 0.55,
        "You must be 21 or over to adopt.": 0.71,
        "Ask your People Partner about the forms.": 0.20,
    })  # fmt: skip
    draft = await ExtractiveAnswerWriter().write("how old do i need to be to adopt", [adoption])

    assert not draft.declined
    assert lines(draft.text)[0] == "You must be 21 or over to adopt. [1]"
    assert "Ask your People Partner about the forms. [1]" not in draft.text


async def test_only_sources_whose_best_sentence_clears_the_bar_are_quoted_and_cited() -> None:
    close = source(1, {"Partners get 4 weeks of paid leave.": 0.70, "It starts at birth.": 0.66})
    related = source(2, {"Office hours are 9 to 5 in Lisbon.": 0.40})
    draft = await ExtractiveAnswerWriter().write("how much partner leave", [related, close])

    assert lines(draft.text) == [
        "Partners get 4 weeks of paid leave. [2]",
        "It starts at birth. [2]",
    ]
    assert "[1]" not in draft.text


async def test_it_quotes_at_most_the_configured_number_of_sentences() -> None:
    many = source(1, {f"Rule number {i} about leave applies.": 0.6 - i / 1000 for i in range(9)})
    writer = ExtractiveAnswerWriter(OfflineWriterOptions(max_sentences=2))
    draft = await writer.write("leave rules", [many])
    assert len(lines(draft.text)) == 2


async def test_sources_stored_before_sentences_are_quoted_by_shared_words() -> None:
    text = "Meals are paid. You can carry over 5 days of annual leave."
    old = ScoredChunk("c1", "d1", "Leave", "S", ("Leave",), "https://hb.test/1", text, 1.0, 0.5)
    draft = await ExtractiveAnswerWriter().write("carry over annual leave days", [old])
    assert lines(draft.text) == ["You can carry over 5 days of annual leave. [1]"]


async def test_no_sentences_at_all_is_a_decline() -> None:
    empty = ScoredChunk("c1", "d1", "T", "S", ("T",), "https://hb.test/1", "", 1.0, 0.5)
    draft = await ExtractiveAnswerWriter().write("anything", [empty])
    assert draft.declined


async def test_a_question_in_the_source_gives_its_place_to_the_sentence_that_answers_it() -> None:
    faq = source(1, {
        "**Q: Can I have multiple mentors?**": 0.80,
        "We recommend 1 mentor for each 3-month mentorship period.": 0.45,
        "Mentors meet new hires weekly.": 0.50,
    })  # fmt: skip
    draft = await ExtractiveAnswerWriter().write("can i have 2 mentors at once", [faq])
    assert lines(draft.text)[0] == ("We recommend 1 mentor for each 3-month mentorship period. [1]")
    assert "Can I have multiple mentors" not in draft.text


async def test_a_sentence_two_sources_repeat_is_quoted_once() -> None:
    first = source(1, {"Tenure: you must have been here for 8+ months.": 0.75})
    second = source(2, {"Tenure: you must have been here for 8+ months.": 0.75})
    draft = await ExtractiveAnswerWriter().write("am i eligible for a refresh", [first, second])
    assert lines(draft.text) == ["Tenure: you must have been here for 8+ months. [1]"]


# With the bundled embedding model the writer quotes by the fitted model (bot/core/quoting.py).
QUOTING = ExtractiveAnswerWriter(quoting=FITTED_FOR_MINILM)


async def test_the_fitted_model_leads_with_the_answer_and_cites_only_what_it_quotes() -> None:
    adoption = source(1, {
        "Adoption leave is available to employees who adopt a child.": 0.55,
        "You must be 21 or over to adopt.": 0.71,
        "Ask your People Partner about the forms.": 0.20,
    })  # fmt: skip
    office = source(2, {"Office hours are 9 to 5 in Lisbon.": 0.25})
    draft = await QUOTING.write("how old do i need to be to adopt", [adoption, office])
    assert lines(draft.text)[0] == "You must be 21 or over to adopt. [1]"
    assert "Ask your People Partner" not in draft.text and "[2]" not in draft.text


async def test_the_fitted_model_quotes_the_answer_to_a_faqs_question_not_the_question() -> None:
    faq = source(1, {
        "**Q: Can I have multiple mentors?**": 0.80,
        "We recommend 1 mentor for each 3-month mentorship period.": 0.45,
        "Onboarding buddies are assigned by your manager.": 0.50,
    })  # fmt: skip
    draft = await QUOTING.write("can i have 2 mentors at once", [faq])
    assert lines(draft.text)[0] == "We recommend 1 mentor for each 3-month mentorship period. [1]"
    assert "Can I have multiple mentors" not in draft.text


def test_the_fitted_quoting_is_used_only_with_the_model_it_was_fitted_for() -> None:
    settings = Settings.from_env({})
    assert offline_writer(settings, LocalEmbedder().model)._quoting == FITTED_FOR_MINILM
    assert offline_writer(settings, LocalEmbedder("/models/multilingual").model)._quoting is None
    assert offline_writer(settings, HashingEmbedder().model)._quoting is None


async def test_quotes_after_the_first_stop_before_the_answer_outgrows_the_house_style() -> None:
    long = " ".join(["word"] * 50)
    many = source(1, {f"Rule {i} says {long}.": 0.6 - i / 1000 for i in range(4)})
    draft = await ExtractiveAnswerWriter().write("rules", [many])
    assert len(lines(draft.text)) == 2  # 3 sentences of 53 words would pass the 130 quoted
    huge = source(1, {f"The one rule says {long} {long} {long}.": 0.7})
    assert len(lines((await ExtractiveAnswerWriter().write("rule", [huge])).text)) == 1
