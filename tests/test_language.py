"""The language detector: casual English is never taken for another language, and questions in
Portuguese, Spanish, German, French, Italian and Dutch are recognised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.language import (
    ANY_LANGUAGE,
    DETECTED_LANGUAGES,
    ENGLISH_ONLY,
    SearchLanguages,
    detect_language,
)

SAMPLE_KB = Path(__file__).resolve().parent.parent / "knowledge" / "sample_kb"

# How employees really type: lower case, typos, emoji, abbreviations, one or two words, product
# and place names, a foreign word or name inside an English sentence.
CASUAL_ENGLISH = [
    "pto?",
    "wfh policy",
    "ooo next wk",
    "expence my monitor?",
    "vpn",
    "401k match",
    "how many pto days do i get",
    "can i carry over unused days??",
    "laptop broke 😭 what now",
    "who do i ask abt my payslip",
    "is there a dress code",
    "parental leave uk",
    "sick day policy pls",
    "mfa reset",
    "jira access",
    "need a new charger, how do i order one",
    "whats the per diem for nyc",
    "can i expense uber to the airport",
    "uber fare cap?",
    "hey! quick q - is friday a bank holiday 🙏",
    "do we get christmas eve off",
    "lost my badge",
    "okta locked me out",
    "Zoom keeps crashing on my mac",
    "how do i book the Lisbon office desk",
    "is Día de los Muertos a company holiday?",
    "Cinco de Mayo off?",
    "São Paulo office wifi password",
    "Düsseldorf office parking",
    "café near the Zürich office reimbursed?",
    "ES cluster down, who's on call",
    "DEI training deadline",
    "add-ons for the benefits plan",
    "de-provision access for a leaver",
    "taxi fare from Buenos Aires airport",
    "my manager is on leave, who approves my expenses",
    "how long is the notice period",
    "training budget per person",
    "Hi, ich habe a question about PTO",
    "merci! and how do i reset my password",
    "can i bring my dog to the office",
    "gym membership covered?",
    "is dental included",
    "salary review when",
    "meeting at 3pm est, can i join remotely",
    "ciao, vpn down again",
    "pls send the link: https://intranet.example.pt/pt/quantos-dias-de-ferias-tenho",
    "<@U0123ABCD> what's the travel policy",
    "need the w-2 form",
    "hola team, pto calendar?",
    "bike to work scheme",
    "airflow dag failing again, who owns it",
    "Día de los Muertos off?",
    "ich habe a question about pto",
    "que sera sera lol",
    "Den Haag office hours",
    "De Vries approved my pto, do i need hr too",
    "ngl the vpn is slow af",
    "lmk re: onboarding docs",
    "tysm!!",
    "Rio de Janeiro office address",
    "is the Porto Alegre team on the same payroll",
]

# Every acceptance-check question, and more in the same style.
OTHER_LANGUAGES = [
    ("Quantos dias de férias tenho por ano?", "pt"),
    ("Quanto tempo de férias tenho por ano?", "pt"),
    ("Perdi o meu portátil, o que devo fazer?", "pt"),
    ("quantos dias de ferias tenho", "pt"),
    ("Posso levar o meu cão para o escritório?", "pt"),
    ("Como peço reembolso das despesas de viagem?", "pt"),
    ("¿Cuántas semanas de permiso de paternidad me corresponden?", "es"),
    ("¿Cuántos días de vacaciones tengo al año?", "es"),
    ("He perdido mi portátil, ¿qué tengo que hacer?", "es"),
    ("cuanto tiempo de baja por enfermedad tengo", "es"),
    ("Ich habe meinen Laptop verloren, was muss ich tun?", "de"),
    ("Wie viele Urlaubstage bekomme ich im Jahr?", "de"),
    ("Wie lange ist die Elternzeit?", "de"),
    ("Kann ich von zu Hause arbeiten?", "de"),
    ("Combien de jours de congés ai-je par an ?", "fr"),
    ("J'ai perdu mon ordinateur portable, que dois-je faire ?", "fr"),
    ("Comment faire une note de frais ?", "fr"),
    ("Quanti giorni di ferie ho all'anno?", "it"),
    ("Ho perso il mio portatile, cosa devo fare?", "it"),
    ("Come posso chiedere il rimborso delle spese?", "it"),
    ("Hoeveel vakantiedagen krijg ik per jaar?", "nl"),
    ("Ik ben mijn laptop kwijt, wat moet ik doen?", "nl"),
    ("Hoe lang is het ouderschapsverlof?", "nl"),
    ("年假有多少天？", "zh"),
    ("Сколько дней отпуска у меня в году?", "ru"),
]


def sample_questions() -> list[str]:
    found = []
    for name in ("questions.jsonl", "conversations.jsonl"):
        for line in (SAMPLE_KB / name).read_text().splitlines():
            if line.strip():
                case = json.loads(line)
                found += [case["question"]]
                found += [
                    turn["text"] for turn in case.get("history", []) if turn["role"] == "user"
                ]
    return found


def test_the_lists_are_long_enough() -> None:
    assert len(CASUAL_ENGLISH) >= 40
    assert len(OTHER_LANGUAGES) >= 20
    assert {language for _, language in OTHER_LANGUAGES} >= set(DETECTED_LANGUAGES)
    assert len(sample_questions()) >= 60


@pytest.mark.parametrize("question", CASUAL_ENGLISH)
def test_casual_english_is_english(question: str) -> None:
    assert detect_language(question) == "en"


def test_the_sample_handbooks_questions_are_english() -> None:
    flagged = {q: detect_language(q) for q in sample_questions()}
    assert {q: language for q, language in flagged.items() if language != "en"} == {}


@pytest.mark.parametrize(("question", "language"), OTHER_LANGUAGES)
def test_other_languages_are_recognised(question: str, language: str) -> None:
    assert detect_language(question) == language


@pytest.mark.parametrize("text", ["", "   ", "?!", "👍", "1234", "https://example.com/ferias"])
def test_nothing_to_read_is_english(text: str) -> None:
    assert detect_language(text) == "en"


def test_search_languages_are_parsed() -> None:
    assert SearchLanguages.parse("en") == ENGLISH_ONLY
    assert SearchLanguages.parse(" EN, de de") == SearchLanguages(("en", "de"))
    assert SearchLanguages.parse("Any") == ANY_LANGUAGE
    assert ANY_LANGUAGE.allows("pt") and ENGLISH_ONLY.allows("en")
    assert not ENGLISH_ONLY.allows("pt")
    assert (str(ANY_LANGUAGE), str(SearchLanguages(("en", "de")))) == ("any", "en,de")


@pytest.mark.parametrize("value", ["english", "en,any", ",", "e"])
def test_bad_search_languages_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="ISO 639-1"):
        SearchLanguages.parse(value)
