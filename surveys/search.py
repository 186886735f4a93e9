"""Responses by the text of their answers.

PostgreSQL: the answers' text search, on exactly the two GIN expression indexes the comments
search reads (`to_tsvector('turkish'|'english', COALESCE(text, ''))`, created with the comments
tables): every word of the query, as a prefix ("teslim" finds "teslimat", "deliver" finds
"delivered"), under either language's configuration. Elsewhere (SQLite): every word, folded the
Turkish way, anywhere in a folded answer.

Only the responses of the given queryset are searched: the admin's queryset has already left out
anonymous surveys below superuser, so no search can reach, count or order them.
"""

from __future__ import annotations

import re

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connections
from django.db.models import Q, QuerySet

from surveys.models import Answer, Response
from xmplatform.core.search import Fold, clean_query, fold

WORD = re.compile(r"\w+")
MAX_WORDS = 8


def _turkish_lower(word: str) -> str:
    """Lower case the Turkish way (I → ı, İ → i), as the `turkish` configuration stores it."""
    return word.replace("I", "ı").replace("İ", "i").lower()


def answers_matching_q(query: str, *, vendor: str) -> Q | None:
    """The condition on answers that every word of `query` satisfies, or None (no words)."""
    words = WORD.findall(clean_query(query))[:MAX_WORDS]
    if not words:
        return None
    if vendor == "postgresql":
        # Words are \\w+ only, so a raw tsquery of prefixes cannot be malformed.
        turkish = " & ".join(f"{_turkish_lower(w)}:*" for w in words)
        english = " & ".join(f"{w.lower()}:*" for w in words)
        return Q(tr_document=SearchQuery(turkish, config="turkish", search_type="raw")) | Q(
            en_document=SearchQuery(english, config="english", search_type="raw")
        )
    condition = Q()
    for word in words:
        condition &= Q(folded__contains=fold(word))
    return condition


def responses_matching(responses: QuerySet[Response], query: str) -> QuerySet[Response]:
    """`responses` narrowed to those with an answer holding every word of `query`."""
    vendor = connections[responses.db].vendor
    condition = answers_matching_q(query, vendor=vendor)
    if condition is None:
        return responses
    answers = Answer.objects.using(responses.db)
    if vendor == "postgresql":
        answers = answers.alias(
            tr_document=SearchVector("text", config="turkish"),
            en_document=SearchVector("text", config="english"),
        )
    else:
        answers = answers.alias(folded=Fold("text"))
    return responses.filter(pk__in=answers.filter(condition).values("response_id"))
