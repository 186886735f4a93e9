"""Text analytics at scale: the pipeline over 100,000 comments, then 1,000 more, on PostgreSQL.

Seeds BENCH_TOPIC_COMMENTS named responses (default 100,000) set-based with INSERT … SELECT
generate_series into a throwaway test database: an NPS answer and a free-text comment each,
half in Turkish and half in English, about delivery, price or support (complaints) or praise,
the score matching the tone. Then times what the beat task does on it
(`metrics.comments.processing.comments_process`: stems, sentiment, the comments inserted, the
topics fitted and every comment filed, the sentiment models trained with their held-out
accuracy and every comment rescored), the incremental run after 1,000 new comments, the
topics page's figures and a full-text search. Run through bench/run.py or directly:
`python bench/bench_topics.py`.
"""

import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xmplatform.settings")

import django  # noqa: E402
from django.apps import apps  # noqa: E402

if not apps.ready:
    django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import (  # noqa: E402
    setup_databases,
    setup_test_environment,
    teardown_databases,
    teardown_test_environment,
)

DEFAULT_COMMENTS = 100_000
NEW_COMMENTS = 1_000
TARGET_FULL_S = 60.0
TARGET_NEW_S = 10.0
TARGET_READ_MS = 500.0
# Per language: themes of complaints (low scores) and praise (high scores), as phrases.
PHRASES = {
    "tr": {
        "delivery": [
            "kargom çok geç geldi",
            "kargonun teslimatı gecikti",
            "teslimatlar hep geç kalıyor",
            "kargo paketi hasarlı geldi",
            "kargoyu günlerce bekledim",
            "kargo firması rezalet",
        ],
        "price": [
            "fiyatlar çok pahalı",
            "ürünün fiyatı pahalıydı",
            "fiyat politikası fahiş",
            "indirimli fiyat bile pahalı",
            "fiyatları yüksek buldum",
            "bu fiyata değmez",
        ],
        "support": [
            "müşteri hizmetleri ilgisiz",
            "destek ekibine ulaşamadım",
            "çağrı merkezi beni beklettiler",
            "destek talebime cevap vermediler",
            "temsilci kaba davrandı",
            "canlı destek çok yavaş",
        ],
        "praise": [
            "çok memnun kaldım teşekkürler",
            "harika bir alışveriş oldu",
            "her şey güzel ve hızlıydı",
            "ürün mükemmel tavsiye ederim",
            "çalışanlar çok nazik",
            "sorunsuz bir deneyim",
        ],
    },
    "en": {
        "delivery": [
            "my delivery arrived late",
            "the deliveries are always delayed",
            "courier delivered the parcel damaged",
            "delivery took two weeks",
            "the parcel was lost in delivery",
            "shipping is far too slow",
        ],
        "price": [
            "prices are too expensive",
            "the price is overpriced",
            "expensive for what you get",
            "pricing went up again",
            "cheaper prices elsewhere",
            "the plan price is too high",
        ],
        "support": [
            "customer support never answered",
            "support agent was rude",
            "waited an hour on the support line",
            "the helpdesk ignored my ticket",
            "support chat is useless",
            "nobody from support called back",
        ],
        "praise": [
            "really happy with the service",
            "great shopping experience thanks",
            "everything was fast and easy",
            "excellent product would recommend",
            "friendly and helpful staff",
            "smooth experience overall",
        ],
    },
}


def _world() -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    from audiences.models import Audience, AudienceKind
    from surveys.models import Question, QuestionType, Survey, SurveyStatus

    owner = get_user_model().objects.create_superuser(
        username="bench", email="bench@example.com", password=secrets.token_urlsafe(16)
    )
    audience = Audience.objects.create(
        slug="shoppers", name="Shoppers", kind=AudienceKind.CUSTOMER, owner=owner
    )
    survey = Survey.objects.create(audience=audience, name="Shop NPS", status=SurveyStatus.LIVE)
    nps = Question.objects.create(survey=survey, key="nps", type=QuestionType.NPS, order=0)
    why = Question.objects.create(
        survey=survey, key="why", type=QuestionType.TEXT, order=1, required=False
    )
    return {"audience": audience, "survey": survey, "nps": nps, "why": why}


def _array(items: list[str]) -> str:
    quoted = ", ".join("'" + s.replace("'", "''") + "'" for s in items)
    return f"ARRAY[{quoted}]"


def _seed(world: dict[str, Any], comments: int, offset: int = 0) -> None:
    """Responses with an NPS answer and a comment: per row a language, a theme, two of its
    phrases, and a score that matches the theme's tone (a few mismatched, as people are)."""
    survey, audience = world["survey"], world["audience"]
    cases = []
    for language in ("tr", "en"):
        for theme, phrases in PHRASES[language].items():
            cases.append((language, theme, _array(phrases)))
    themes = " ".join(
        f"WHEN lang = '{lang}' AND theme = '{theme}' THEN {arr}" for lang, theme, arr in cases
    )
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit TO off")
        cur.execute("SELECT setseed(%s)", [0.17 + offset / 10_000_000])
        cur.execute(
            f"""
            CREATE TEMP TABLE bench_rows AS
            SELECT g, CASE WHEN g % 2 = 0 THEN 'tr' ELSE 'en' END AS lang,
                (ARRAY['delivery', 'price', 'support', 'praise'])[1 + floor(random() * 4)::int]
                    AS theme,
                floor(random() * 6)::int AS a, floor(random() * 6)::int AS b,
                random() AS noise,
                current_date - (g % 180) AS day
            FROM generate_series({offset + 1}, {offset + comments}) AS g
            """  # noqa: S608
        )
        cur.execute(
            f"""
            INSERT INTO surveys_response (survey_id, audience_id, channel, language, segment,
                completed_on, completed_at, user_agent)
            SELECT {survey.pk}, {audience.pk}, 'email', lang, '', day,
                day::timestamp AT TIME ZONE 'UTC', ''
            FROM bench_rows ORDER BY g
            RETURNING id
            """  # noqa: S608
        )
        first = min(row[0] for row in cur.fetchall())
        score = (
            "CASE WHEN theme = 'praise' THEN CASE WHEN noise < 0.9 THEN 9 + (g % 2) ELSE 7 END "
            "ELSE CASE WHEN noise < 0.85 THEN (g % 7) ELSE 8 END END"
        )
        cur.execute(
            f"""
            INSERT INTO surveys_answer (response_id, question_id, number, text, choices)
            SELECT {first} + g - {offset + 1}, {world["nps"].pk}, {score}, '', NULL::jsonb
            FROM bench_rows
            UNION ALL
            SELECT {first} + g - {offset + 1}, {world["why"].pk}, NULL,
                (CASE {themes} END)[1 + a] || ' ' || (CASE {themes} END)[1 + (a + 1 + b % 5) % 6],
                NULL
            FROM bench_rows
            """  # noqa: S608
        )
        cur.execute("DROP TABLE bench_rows")
        for table in ("surveys_response", "surveys_answer"):
            cur.execute(f"VACUUM ANALYZE {table}")


def _row(name: str, value: float, unit: str, target: float | None, ok: bool) -> dict[str, Any]:
    shown = f"< {target:g} {unit}" if target is not None else ""
    return {"name": name, "value": round(value, 2), "unit": unit, "target": shown, "ok": ok}


def rows() -> list[dict[str, Any]]:
    """Seed, run the pipeline twice (everything, then 1,000 new), read; returns the rows."""
    if connection.vendor != "postgresql":
        return [_row("topics: needs PostgreSQL (set DATABASE_URL)", 0, "", None, False)]
    from metrics.comments import processing, search, selectors
    from metrics.comments.models import Comment, SentimentModel, Topic

    comments = int(os.environ.get("BENCH_TOPIC_COMMENTS", DEFAULT_COMMENTS))
    connection.settings_dict["TEST"]["NAME"] = "bench_topics_xm"
    setup_test_environment()
    old = setup_databases(
        verbosity=0, interactive=False, keepdb=False, aliases={"default"}, serialized_aliases=set()
    )
    out: list[dict[str, Any]] = []
    try:
        world = _world()
        start = time.perf_counter()
        _seed(world, comments)
        out.append(
            _row(
                f"topics: seed {comments:,} comments", time.perf_counter() - start, "s", None, True
            )
        )

        start = time.perf_counter()
        run = processing.comments_process()
        full = time.perf_counter() - start
        done = Comment.objects.count()
        out.append(
            _row(
                f"topics: pipeline over {done:,} comments (stems, sentiment, NMF topics, "
                "sentiment models, every comment filed)",
                full,
                "s",
                TARGET_FULL_S,
                full < TARGET_FULL_S and done == comments and bool(run.refitted),
            )
        )
        _seed(world, NEW_COMMENTS, offset=comments)
        start = time.perf_counter()
        again = processing.comments_process()
        new = time.perf_counter() - start
        out.append(
            _row(
                f"topics: incremental run after {NEW_COMMENTS:,} new comments",
                new,
                "s",
                TARGET_NEW_S,
                new < TARGET_NEW_S and again.comments == NEW_COMMENTS and not again.refitted,
            )
        )
        survey = world["survey"]
        # What autovacuum does after so many inserts: the planner's statistics of the tables.
        with connection.cursor() as cur:
            for table in ("comments_comment", "comments_commenttopic", "surveys_answer"):
                cur.execute(f"VACUUM ANALYZE {table}")
        start = time.perf_counter()
        report = selectors.topic_report(survey=survey, question=world["why"])
        read_ms = (time.perf_counter() - start) * 1000
        out.append(
            _row(
                "topics: figures of the page and API",
                read_ms,
                "ms",
                TARGET_READ_MS,
                read_ms < TARGET_READ_MS,
            )
        )
        start = time.perf_counter()
        hits = search.comments_matching(
            Comment.objects.filter(survey=survey, question=world["why"]), "teslimatlar"
        ).count()
        search_ms = (time.perf_counter() - start) * 1000
        out.append(
            _row(
                f"topics: full-text search, one question ({hits:,} hits)",
                search_ms,
                "ms",
                TARGET_READ_MS,
                hits > 0 and search_ms < TARGET_READ_MS,
            )
        )
        for model in SentimentModel.objects.order_by("language"):
            print(
                f"topics: sentiment {model.language}: {model.kind}, held-out accuracy "
                f"{model.accuracy or 0:.3f} (majority {model.baseline or 0:.3f}) "
                f"on {model.tested:,}"
            )
        for topic in Topic.objects.filter(active=True).order_by("pk"):
            row = next(r for r in report.rows if r.topic == topic.pk)
            print(
                f"topics: #{topic.pk} {topic.label!r}: n={row.n}, share={row.share}, "
                f"sentiment={row.sentiment}"
            )
    finally:
        teardown_databases(old, verbosity=0)
        teardown_test_environment()
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from bench.run import render

    print(render(rows()))
