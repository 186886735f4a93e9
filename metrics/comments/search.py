"""Full-text search of comments, one code path with the database vendor switched in one place.

PostgreSQL: its own text search, a Turkish comment under the `turkish` configuration and an
English one under `english` (`to_tsvector(config, answer.text) @@ websearch_to_tsquery(config,
q)`), so "teslimatlar" finds "teslimat" and "deliveries" finds "delivery". Each of the two
expressions is exactly a GIN expression index on the answers (migration 0002), so a search
reads the index, not every comment's text (bench/bench_topics.py measures it).

Elsewhere (SQLite): each query word is folded with Turkish casing and stemmed with the
Snowball stemmer of each language, and a comment matches when its stored stems hold every
word's stem of its language (a substring test on " stem "), the same stems as PostgreSQL's
configurations use.
"""

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Q, QuerySet

from metrics.comments import text
from metrics.comments.models import Comment

MAX_QUERY = 200
WEB = "websearch"


def comments_matching(comments: QuerySet[Comment], query: str) -> QuerySet[Comment]:
    """`comments` narrowed to those matching `query` (every word, in any inflection)."""
    query = query.strip()[:MAX_QUERY]
    if not query:
        return comments
    if connection.vendor == "postgresql":
        # Each language under its configuration, on the indexed expressions (migration 0002).
        return comments.alias(
            tr_document=SearchVector("answer__text", config="turkish"),
            en_document=SearchVector("answer__text", config="english"),
        ).filter(
            Q(language="tr", tr_document=SearchQuery(query, config="turkish", search_type=WEB))
            | Q(language="en", en_document=SearchQuery(query, config="english", search_type=WEB))
        )
    matches = Q()
    for language in text.LANGUAGES:
        stems = [text.stem(w, language) for w in text.words(query, language)]
        if not stems:
            continue
        condition = Q(language="tr") if language == "tr" else ~Q(language="tr")
        for stem in stems:
            condition &= Q(stems__contains=f" {stem} ")
        matches |= condition
    if not matches:
        return comments.none()
    return comments.filter(matches)
