"""Full-text search of comments, one code path with the database vendor switched in one place.

PostgreSQL: its own text search, with the `turkish` or `english` configuration chosen per row
by the response's language (`to_tsvector(config, answer.text) @@ websearch_to_tsquery(config,
q)`), so "teslimatlar" finds "teslimat" and "deliveries" finds "delivery". There is no GIN
index behind it: the text lives in surveys' answers and the configuration comes from the
comment's language, so no index expression on one table can match the query; the search
runs inside one survey's question (the comments index by survey, question and day), which
bounds the rows it reads (bench/bench_topics.py measures it at 100,000 comments).

Elsewhere (SQLite): each query word is folded with Turkish casing and stemmed with the
Snowball stemmer of each language, and a comment matches when its stored stems hold every
word's stem of its language (a substring test on " stem "), the same stems as PostgreSQL's
configurations use.
"""

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Case, Q, QuerySet, Value, When

from metrics.comments import text
from metrics.comments.models import Comment

MAX_QUERY = 200


def comments_matching(comments: QuerySet[Comment], query: str) -> QuerySet[Comment]:
    """`comments` narrowed to those matching `query` (every word, in any inflection)."""
    query = query.strip()[:MAX_QUERY]
    if not query:
        return comments
    if connection.vendor == "postgresql":
        config = Case(When(language="tr", then=Value("turkish")), default=Value("english"))
        return comments.annotate(document=SearchVector("answer__text", config=config)).filter(
            document=SearchQuery(query, config=config, search_type="websearch")
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
