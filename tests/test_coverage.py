"""The "is it covered?" decision: its signals, the fitted model and how it is fitted."""

from __future__ import annotations

import dataclasses

import pytest

from bot.core.coverage import (
    FITTED_FOR_MINILM,
    CoverageModel,
    CoverageSignals,
    MinimumSimilarity,
    coverage_signals,
)
from bot.evaluation.decline_fit import fit_decline
from bot.service.settings import Settings, SettingsError
from bot.service.wiring import coverage_decision
from knowledge.embedders import HashingEmbedder, LocalEmbedder
from knowledge.types import ScoredChunk, ScoredSentence
from tests.test_eval_metrics import result


def hit(document: str, similarity: float, text: str, sentences: dict[str, float]) -> ScoredChunk:
    scored = tuple(ScoredSentence(t, s) for t, s in sentences.items())
    return ScoredChunk(f"{document}-{similarity}", document, "Office Guide", "Lisbon",
                       ("Office Guide", "Lisbon"), "u", text, 0.1, similarity, scored)  # fmt: skip


def test_signals_of_a_question_and_its_sources() -> None:
    sources = [
        hit("guide", 0.52, "The office opens at 9.", {"The office opens at 9.": 0.48}),
        hit("guide", 0.50, "Visitors sign in.", {"Visitors sign in at reception.": 0.61}),
        hit("okta", 0.45, "Reset your Okta password.", {"Reset your Okta password.": 0.40}),
    ]
    signals = coverage_signals("What is the wifi password in the Lisbon office?", sources)

    assert signals.best_chunk == 0.52
    assert signals.best_sentence == 0.61
    # wifi, password, lisbon, office: all but "wifi" are in the sources (headings count).
    assert signals.terms_found == 0.75
    assert signals.margin == pytest.approx(0.61 - 0.40)


def test_no_sources_give_zero_signals() -> None:
    assert coverage_signals("anything", []) == CoverageSignals(0.0, 0.0, 0.0, 0.0)


def test_the_model_and_the_threshold_decide() -> None:
    model = CoverageModel(weights=(0.0, 10.0, 4.0, 0.0), bias=-8.0)
    strong = CoverageSignals(best_chunk=0.5, best_sentence=0.6, terms_found=1.0, margin=0.1)
    weak = dataclasses.replace(strong, terms_found=0.25)
    assert model.probability(strong) == pytest.approx(0.8808, abs=1e-4)
    assert model.assess(strong) == "covered" and model.assess(weak) == "not_covered"
    assert MinimumSimilarity(0.5).assess(strong) == "covered"
    assert MinimumSimilarity(0.55).assess(strong) == "not_covered"


def test_between_the_threshold_and_sure_an_answer_is_unsure() -> None:
    model = CoverageModel(weights=(0.0, 10.0, 4.0, 0.0), bias=-8.0, threshold=0.3, sure=0.9)
    signals = CoverageSignals(best_chunk=0.5, best_sentence=0.6, terms_found=1.0, margin=0.1)
    assert model.assess(signals) == "unsure"  # 0.88: above 0.3, below 0.9
    assert model.assess(dataclasses.replace(signals, best_sentence=0.7)) == "covered"  # 0.98
    assert model.assess(dataclasses.replace(signals, terms_found=0.0)) == "not_covered"  # 0.12


def test_fitting_separates_covered_from_uncovered_questions() -> None:
    covered = [result(case_id=f"c{i}", coverage=(0.5, 0.6 + i / 100, 0.8, 0.2)) for i in range(12)]
    uncovered = [
        result(case_id=f"u{i}", answerable=False, coverage=(0.45, 0.4 + i / 100, 0.3, 0.05))
        for i in range(4)
    ]
    follow_up = result(case_id="f", follow_up=True, answerable=False, coverage=(0.9, 0.9, 1, 1))
    fit = fit_decline([*covered, *uncovered, follow_up])

    assert (fit.covered, fit.uncovered) == (12, 4)  # the follow-up is left out
    # The threshold keeps nine in ten covered questions answered: 11 of these 12.
    assert fit.covered_answered == pytest.approx(11 / 12) and fit.uncovered_declined == 1.0
    # All four uncovered questions are declined already, so none needs marking unsure.
    assert fit.model.sure is None and fit.uncovered_flagged == 1.0
    lowest = min(fit.model.probability(CoverageSignals(*r.coverage)) for r in covered)
    assert fit.model.threshold > lowest
    assert fit.model.weights[1] > 0 and fit.model.weights[2] > 0
    with pytest.raises(ValueError, match="do not"):
        fit_decline(covered)


def test_fitting_marks_unsure_what_the_threshold_leaves_of_seven_in_ten_uncovered() -> None:
    covered = [result(case_id=f"c{i}", coverage=(0.5, 0.5 + i / 50, 0.8, 0.2)) for i in range(10)]
    # Uncovered questions nearly as close to the documents as the covered ones.
    uncovered = [
        result(case_id=f"u{i}", answerable=False, coverage=(0.5, 0.4 + i / 50, 0.8, 0.2))
        for i in range(10)
    ]
    fit = fit_decline([*covered, *uncovered])

    assert fit.model.sure is not None and fit.model.sure > fit.model.threshold
    assert fit.uncovered_declined < 0.7 <= fit.uncovered_flagged
    levels = [fit.model.assess(CoverageSignals(*r.coverage)) for r in uncovered]
    assert levels.count("covered") == 3, "seven in ten uncovered are declined or marked unsure"
    assert fit.covered_answered == pytest.approx(0.9) and fit.covered_unsure == pytest.approx(0.1)
    assert CoverageModel.parse(fit.model.as_setting()) == fit.model


def test_the_fitted_decision_is_used_only_with_the_model_it_was_fitted_for() -> None:
    minilm = LocalEmbedder()
    assert coverage_decision(Settings.from_env({}), minilm) == FITTED_FOR_MINILM
    chosen = Settings.from_env({"SUPPORTBOT_ANSWER_MIN_SIMILARITY": "0.5"})
    assert coverage_decision(chosen, minilm) == MinimumSimilarity(0.5)
    assert coverage_decision(Settings.from_env({}), HashingEmbedder()) == MinimumSimilarity(0.35)


def test_a_decision_fitted_for_another_model_is_set_as_fit_decline_prints_it() -> None:
    own = CoverageModel(weights=(1.5, 6.25, 0.5, -0.75), bias=-4.0, threshold=0.3)
    assert CoverageModel.parse(own.as_setting()) == own
    assert FITTED_FOR_MINILM.as_setting() == (
        "best_chunk=5.77 best_sentence=5.655 terms_found=0.355 margin=1.538 "
        "bias=-6.188 threshold=0.256 sure=0.467"
    )
    settings = Settings.from_env({"SUPPORTBOT_DECLINE_MODEL": own.as_setting()})
    assert coverage_decision(settings, HashingEmbedder()) == own
    assert coverage_decision(settings, LocalEmbedder()) == own, "the operator's choice wins"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("best_chunk=1 best_sentence=2 terms_found=3 bias=0 threshold=0.5", "missing margin"),
        ("best_chunk=1 best_sentence=2 terms_found=3 margin=x bias=0 threshold=0.5", "margin must"),
        ("best_chunk=1 best_sentence=2 terms_found=3 margin=1 bias=0 threshold=2",
         "threshold must"),
        ("best_chunk=1 best_sentence=2 terms_found=3 margin=1 bias=0 threshold=0.5 gap=1",
         "unknown name 'gap'"),
        ("best_chunk=1 best_sentence=2 terms_found=3 margin=1 bias=0 threshold=0.5 sure=0.4",
         "sure must"),
    ],
)  # fmt: skip
def test_a_bad_decline_model_is_named(value: str, error: str) -> None:
    with pytest.raises(SettingsError, match=f"SUPPORTBOT_DECLINE_MODEL: {error}"):
        Settings.from_env({"SUPPORTBOT_DECLINE_MODEL": value})


def test_a_decline_model_and_a_threshold_together_are_refused() -> None:
    with pytest.raises(SettingsError, match="unset one"):
        Settings.from_env(
            {
                "SUPPORTBOT_DECLINE_MODEL": FITTED_FOR_MINILM.as_setting(),
                "SUPPORTBOT_ANSWER_MIN_SIMILARITY": "0.3",
            }
        )
