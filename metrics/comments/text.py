"""Turning a comment into stems: tokenising, Turkish-aware lowercasing, stop words and Snowball
stemming (snowballstemmer's Turkish and English stemmers), so "kargom", "kargonun" and "kargo"
count as one word in topics, sentiment and search.

Pure functions, no database. A language other than Turkish is treated as English.
"""

import re
from collections import Counter
from collections.abc import Iterable
from functools import cache

import snowballstemmer

from metrics.comments import lexicon

LANGUAGES = ("tr", "en")
# Letters only (digits and punctuation split words); an apostrophe joins a Turkish suffix to a
# proper noun ("Yurtiçi'nden") and an English contraction ("don't").
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
MIN_LENGTH = 2


def language_of(code: str) -> str:
    """The pipeline's language for a response's language code ("tr-TR" → "tr", else "en")."""
    return "tr" if (code or "").lower().startswith("tr") else "en"


def casefold(text: str, language: str) -> str:
    """Lowercase as the language does: in Turkish "I" is "ı" and "İ" is "i"."""
    if language == "tr":
        text = text.replace("I", "ı").replace("İ", "i")
        return text.lower()
    return text.replace("İ", "i").lower()


def words(text: str, language: str) -> list[str]:
    """The comment's lowercased words, stop words and one-letter words left out.

    A Turkish word keeps what comes before its apostrophe (the suffix after a proper noun
    says nothing of the topic); an English one drops the apostrophe ("don't" → "dont").
    """
    stop = lexicon.STOP_WORDS[language]
    found = []
    for match in WORD.findall(casefold(text, language)):
        word = re.split(r"['’]", match, maxsplit=1)[0] if language == "tr" else match
        word = word.replace("'", "").replace("’", "")
        if len(word) >= MIN_LENGTH and word not in stop:
            found.append(word)
    return found


@cache
def _stemmer(language: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("turkish" if language == "tr" else "english")


@cache
def stem(word: str, language: str) -> str:
    """One word's stem (cached: a corpus has far fewer distinct words than words)."""
    return _stemmer(language).stemWord(word)


def stems(text: str, language: str) -> list[str]:
    """The comment's stems, in order, stop words left out."""
    return [stem(w, language) for w in words(text, language)]


def surface_forms(texts: Iterable[tuple[str, str]]) -> dict[str, str]:
    """{stem: its most frequent word} over (text, language) pairs: a topic's label shows words
    people wrote ("teslimat"), not stems ("teslimat" and "deliveri" alike)."""
    counts: dict[str, Counter[str]] = {}
    for text, language in texts:
        for word in words(text, language):
            counts.setdefault(stem(word, language), Counter())[word] += 1
    return {s: c.most_common(1)[0][0] for s, c in counts.items()}


@cache
def lexicon_stems(language: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """The sentiment lexicon's positive, negative and negation stems for `language`."""
    return (
        frozenset(stem(w, language) for w in lexicon.POSITIVE[language]),
        frozenset(stem(w, language) for w in lexicon.NEGATIVE[language]),
        frozenset(stem(w, language) for w in lexicon.NEGATIONS[language]),
    )


def lexicon_sentiment(comment_stems: Iterable[str], language: str) -> float:
    """The lexicon's sentiment of a comment, −1…1: (positive − negative) / (positive +
    negative) over its stems, 0 with none; a negation in the comment flips it."""
    positive, negative, negations = lexicon_stems(language)
    pos = neg = 0
    negated = False
    for s in comment_stems:
        pos += s in positive
        neg += s in negative
        negated = negated or s in negations
    if pos + neg == 0:
        return 0.0
    value = (pos - neg) / (pos + neg)
    return -value if negated else value


def topic_tokens(joined_stems: str) -> list[str]:
    """A stored stems string as the topic model's tokens (negations and intensifiers out)."""
    return [s for s in joined_stems.split() if s not in lexicon.TOPIC_EXCLUDED]


def joined(comment_stems: Iterable[str]) -> str:
    """Stems as stored on a comment: space-separated with a space at each end, so a search for
    one stem is a plain substring test (" kargo ")."""
    body = " ".join(comment_stems)
    return f" {body} " if body else ""
