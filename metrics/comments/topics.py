"""Topics of one free-text question: discovered with NMF over TF-IDF of stems (scikit-learn),
kept stable across refits, and shaped by the XM team (labels, merges, keyword rules).

- A fit vectorises the question's comments (stems without negations), picks k from how many
  there are (`topic_count`: 2 to 8), factorises, and labels each component by the words people
  wrote most for its three heaviest stems.
- A refit only discovers. Each new component is matched to an existing topic by the overlap of
  their top terms: a match keeps the topic's id (and, when the team pinned the topic by editing
  or merging it, everything else of it too); a further component overlapping a pinned topic is
  absorbed by it; any other component becomes a new topic; an unpinned discovered topic no
  component matched is retired (inactive). Keyword topics are never touched.
- Assignment: with the active topics' term weights fixed, the comment's NMF weights are solved
  (`non_negative_factorization`, H fixed); a comment belongs to each topic holding at least
  SHARE of its weight, and to each topic whose keywords it holds (a keyword matches in any
  inflection: its stems must all be among the comment's).
"""

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import QuerySet

from metrics import privacy
from metrics.comments import text
from metrics.comments.bulk import rows_insert
from metrics.comments.models import Comment, CommentTopic, Topic, TopicFit, TopicSource
from metrics.comments.vectors import tfidf_apply, tfidf_fit
from surveys.models import Answer

MIN_COMMENTS = 20
MAX_TOPICS = 8
TOP_TERMS = 10
KEPT_TERMS = 40
MATCH_OVERLAP = 0.3
SHARE = 0.3
MIN_WEIGHT = 1e-4
LABEL_SAMPLE = 5000
REFIT_GROWTH = 0.2


def topic_count(n: int) -> int:
    """k from the number of comments: √(n/20), between 2 and 8 (80 comments: 2; 500: 5;
    1,280 and more: 8)."""
    return min(MAX_TOPICS, max(2, round(math.sqrt(n / 20))))


def refit_due(*, comments: int, fitted: int | None) -> bool:
    """Whether a question's topics should be refitted: never fitted and enough comments, or
    grown by a fifth since the last fit."""
    if comments < MIN_COMMENTS:
        return False
    return fitted is None or comments >= fitted * (1 + REFIT_GROWTH)


@dataclass
class Component:
    weights: dict[str, float]

    @property
    def top(self) -> list[str]:
        return sorted(self.weights, key=lambda t: -self.weights[t])[:TOP_TERMS]


def _overlap(a: Sequence[str], b: Sequence[str]) -> float:
    if not a or not b:
        return 0.0
    return len(set(a) & set(b)) / min(len(a), len(b))


def _label(top: Sequence[str], surface: Mapping[str, str]) -> str:
    return ", ".join(surface.get(t, t) for t in top[:3])[:200]


def _surface(comments: QuerySet[Comment]) -> dict[str, str]:
    """{stem: its most frequent word} over a sample of the comments the topics learn from."""
    texts = Answer.objects.filter(pk__in=comments.values("pk")[:LABEL_SAMPLE]).values_list(
        "text", "comment__language"
    )
    return text.surface_forms(texts)


def keyword_stems(keywords: str, language_hint: str | None = None) -> list[tuple[str, ...]]:
    """A rule's keywords as stem tuples, in both languages (a keyword list serves comments in
    Turkish and English alike): "kargo, late delivery" → [("kargo",), ("late", "deliveri"), …]."""
    found: list[tuple[str, ...]] = []
    languages = (language_hint,) if language_hint else text.LANGUAGES
    for keyword in (k.strip() for k in keywords.split(",")):
        if not keyword:
            continue
        for language in languages:
            stems = tuple(text.stem(w, language) for w in text.words(keyword, language))
            if stems and stems not in found:
                found.append(stems)
    return found


def _keyword_match(stems: set[str], rules: Sequence[tuple[str, ...]]) -> bool:
    return any(all(s in stems for s in rule) for rule in rules)


# --- Fitting -----------------------------------------------------------------------------------


@transaction.atomic
def topics_refit(*, question_id: int, now: dt.datetime) -> TopicFit | None:
    """Fit the question's topics again and reassign all its comments (see the module docstring).

    Holds the question's TopicFit row lock, so two refits of a question run one after the other.
    None when the question has too few comments (or no shared term) to fit.
    """
    comments = list(
        Comment.objects.filter(question_id=question_id).order_by("pk").values_list("pk", "stems")
    )
    learn = fit_comments(question_id)
    docs = [" ".join(text.topic_tokens(stems)) for stems in learn.values_list("stems", flat=True)]
    if sum(1 for d in docs if d) < MIN_COMMENTS:
        return None
    survey_id = learn.values_list("survey_id", flat=True)[0]
    fit, _created = TopicFit.objects.get_or_create(
        question_id=question_id, defaults={"survey_id": survey_id, "fitted_at": now}
    )
    fit = TopicFit.objects.select_for_update().get(pk=fit.pk)
    try:
        # A term enters a topic only when at least two people wrote it; in an anonymous
        # survey at least k, so no topic's words come from fewer people than a group shown.
        vocabulary, idf, matrix = tfidf_fit(docs, min_df=_min_people(learn))
    except ValueError:  # no stem in two comments
        return None
    from sklearn.decomposition import NMF  # loaded for a fit only: see metrics.comments.vectors

    k = min(topic_count(len(docs)), max(1, len(vocabulary) - 1))
    nmf = NMF(n_components=k, init="nndsvda", random_state=0, max_iter=400)
    nmf.fit(matrix)
    components = []
    for row in nmf.components_:
        order = np.argsort(-row)[:KEPT_TERMS]
        weights = {vocabulary[i]: round(float(row[i]), 6) for i in order if row[i] > 0}
        if weights:
            components.append(Component(weights))
    surface = _surface(learn)
    _match_components(question_id, survey_id, components, surface)
    fit.vocabulary, fit.idf, fit.comments, fit.fitted_at = vocabulary, idf, len(docs), now
    fit.save(update_fields=["vocabulary", "idf", "comments", "fitted_at"])
    topics = _active(question_id)
    CommentTopic.objects.filter(topic__question_id=question_id).delete()
    _assign([pk for pk, _ in comments], [s for _, s in comments], matrix_of=fit, topics=topics)
    return fit


def _min_people(comments: QuerySet[Comment]) -> int:
    first = comments.select_related("survey__audience").first()
    if first is None or not first.anonymous:
        return 2
    return privacy.threshold(first.survey.audience.anonymity_threshold)


def fit_comments(question_id: int) -> QuerySet[Comment]:
    """The comments a question's topics are learnt from (and labelled with): all of a named
    survey's; of an anonymous survey only those of published periods with at least k
    commenters, so no word of an open period or a small group reaches a topic's label."""
    from metrics.comments.selectors import anonymous_blocks

    comments = Comment.objects.filter(question_id=question_id).order_by("pk")
    first = comments.select_related("survey__audience").first()
    if first is None or not first.anonymous:
        return comments
    k = privacy.threshold(first.survey.audience.anonymity_threshold)
    blocks = anonymous_blocks(
        survey=first.survey, question_id=question_id, date_from=None, date_to=None, k=k
    )
    return comments.filter(day__in=sorted(blocks))


def _match_components(
    question_id: int, survey_id: int, components: list[Component], surface: Mapping[str, str]
) -> None:
    """Keep topic ids across refits: match each new component to an existing discovered topic
    by top-term overlap (best pairs first); update, create or retire (module docstring)."""
    existing = list(Topic.objects.filter(question_id=question_id, active=True).exclude(weights={}))
    pairs = sorted(
        (
            (_overlap(c.top, t.terms[:TOP_TERMS]), ci, ti)
            for ci, c in enumerate(components)
            for ti, t in enumerate(existing)
        ),
        reverse=True,
    )
    taken_c: set[int] = set()
    taken_t: set[int] = set()
    for overlap, ci, ti in pairs:
        if overlap < MATCH_OVERLAP or ci in taken_c or ti in taken_t:
            continue
        taken_c.add(ci)
        taken_t.add(ti)
        topic, component = existing[ti], components[ci]
        if topic.pinned:
            continue  # the team's version stands; the component only confirms it
        topic.weights = component.weights
        topic.terms = component.top
        topic.words = [surface.get(t, t) for t in component.top]
        topic.label = _label(component.top, surface)
        topic.save(update_fields=["weights", "terms", "words", "label", "updated_at"])
    # A component that overlaps a pinned topic is a part of what the team already named
    # (a split as k grows): the pinned topic absorbs it rather than a near-duplicate appearing.
    for overlap, ci, ti in pairs:
        if overlap >= MATCH_OVERLAP and ci not in taken_c and existing[ti].pinned:
            taken_c.add(ci)
    for ti, topic in enumerate(existing):
        if ti not in taken_t and not topic.pinned and topic.source == TopicSource.DISCOVERED:
            topic.active = False
            topic.save(update_fields=["active", "updated_at"])
    Topic.objects.bulk_create(
        [
            Topic(
                survey_id=survey_id,
                question_id=question_id,
                label=_label(c.top, surface),
                source=TopicSource.DISCOVERED,
                terms=c.top,
                words=[surface.get(t, t) for t in c.top],
                weights=c.weights,
            )
            for ci, c in enumerate(components)
            if ci not in taken_c
        ]
    )


def _active(question_id: int) -> list[Topic]:
    return list(Topic.objects.filter(question_id=question_id, active=True).order_by("pk"))


# --- Assignment --------------------------------------------------------------------------------


def _assign(
    comment_ids: Sequence[int],
    stems: Sequence[str],
    *,
    matrix_of: TopicFit | None,
    topics: Sequence[Topic],
) -> int:
    """Link comments to their topics (NMF weight share and keyword rules); returns the links
    written. Existing links are kept (ON CONFLICT DO NOTHING)."""
    if not comment_ids or not topics:
        return 0
    links: list[tuple[int, int, float]] = []
    weighted = [t for t in topics if t.weights]
    if weighted and matrix_of is not None and matrix_of.vocabulary:
        shares = _nmf_shares(stems, matrix_of, weighted)
        rows, cols = np.nonzero(shares >= SHARE)
        links += [
            (comment_ids[r], weighted[c].pk, round(float(shares[r, c]), 4))
            for r, c in zip(rows.tolist(), cols.tolist(), strict=True)
        ]
    for topic in topics:
        rules = keyword_stems(topic.keywords) if topic.keywords else []
        if not rules:
            continue
        for comment_id, joined in zip(comment_ids, stems, strict=True):
            if _keyword_match(set(joined.split()), rules):
                links.append((comment_id, topic.pk, 1.0))
    rows_insert(CommentTopic, ("comment_id", "topic_id", "weight"), links)
    return len(links)


def _nmf_shares(stems: Sequence[str], fit: TopicFit, topics: Sequence[Topic]) -> np.ndarray:
    """Each comment's NMF weight per topic, as a share of its total weight (0 for none)."""
    docs = [" ".join(text.topic_tokens(s)) for s in stems]
    matrix = tfidf_apply(docs, vocabulary=fit.vocabulary, idf=fit.idf)
    column = {term: i for i, term in enumerate(fit.vocabulary)}
    h = np.zeros((len(topics), len(fit.vocabulary)))
    for row, topic in enumerate(topics):
        for term, weight in topic.weights.items():
            if term in column:
                h[row, column[term]] = weight
    keep = h.sum(axis=1) > 0
    shares = np.zeros((len(docs), len(topics)))
    if not keep.any() or matrix.nnz == 0:
        return shares
    from sklearn.decomposition import non_negative_factorization

    w, _h, _n = non_negative_factorization(
        matrix,
        H=h[keep],
        n_components=int(keep.sum()),
        init="custom",
        update_H=False,
        random_state=0,
        max_iter=400,
    )
    totals = w.sum(axis=1, keepdims=True)
    part = np.divide(w, totals, out=np.zeros_like(w), where=totals > MIN_WEIGHT)
    shares[:, keep] = part
    return shares


def comments_assign(*, comments: Iterable[Comment]) -> int:
    """Link newly processed comments to their questions' current topics (no refit)."""
    by_question: dict[int, list[Comment]] = {}
    for comment in comments:
        by_question.setdefault(comment.question_id, []).append(comment)
    if not by_question:
        return 0
    fits = {f.question_id: f for f in TopicFit.objects.filter(question_id__in=list(by_question))}
    topics: dict[int, list[Topic]] = {}
    for topic in Topic.objects.filter(question_id__in=list(by_question), active=True).order_by(
        "pk"
    ):
        topics.setdefault(topic.question_id, []).append(topic)
    written = 0
    for question_id, items in by_question.items():
        written += _assign(
            [c.pk for c in items],
            [c.stems for c in items],
            matrix_of=fits.get(question_id),
            topics=topics.get(question_id, []),
        )
    return written


# --- The team's edits ------------------------------------------------------------------------


@transaction.atomic
def topic_label_set(*, topic: Topic, label: str) -> Topic:
    """Rename a topic; a renamed topic is pinned (refits keep it as it is)."""
    topic.label = label.strip()[:200]
    topic.pinned = True
    topic.save(update_fields=["label", "pinned", "updated_at"])
    return topic


@transaction.atomic
def topics_merge(*, into: Topic, others: Sequence[Topic]) -> Topic:
    """Merge topics of one question into `into`: it keeps every term set and keyword, their
    comments follow it, and it is pinned; the others are inactive and point to it."""
    others = [t for t in others if t.pk != into.pk]
    if any(t.question_id != into.question_id for t in others):
        raise ValueError("Only topics of one question can be merged.")
    weights: dict[str, float] = dict(into.weights)
    terms: list[str] = list(into.terms)
    words: list[str] = list(into.words)
    keywords = [k.strip() for k in into.keywords.split(",") if k.strip()]
    for other in others:
        for term, weight in other.weights.items():
            weights[term] = weights.get(term, 0.0) + weight
        terms += [t for t in other.terms if t not in terms]
        words += [w for w in other.words if w not in words]
        keywords += [k.strip() for k in other.keywords.split(",") if k.strip() not in keywords]
    into.weights, into.terms, into.words = weights, terms, words
    into.keywords = ", ".join(k for k in keywords if k)[:500]
    into.pinned = True
    into.save(update_fields=["weights", "terms", "words", "keywords", "pinned", "updated_at"])
    ids = [t.pk for t in others]
    moved = CommentTopic.objects.filter(topic_id__in=ids)
    CommentTopic.objects.bulk_create(
        [
            CommentTopic(comment_id=c, topic_id=into.pk, weight=w)
            for c, w in moved.values_list("comment_id", "weight")
        ],
        ignore_conflicts=True,
        batch_size=5000,
    )
    moved.delete()
    Topic.objects.filter(pk__in=ids).update(active=False, merged_into=into)
    return into


@transaction.atomic
def topic_rule_save(*, topic: Topic) -> Topic:
    """Save a topic with keywords and link every comment of its question that holds one."""
    if not topic.weights:
        topic.terms = [s for rule in keyword_stems(topic.keywords) for s in rule][:KEPT_TERMS]
        topic.words = [k.strip() for k in topic.keywords.split(",") if k.strip()][:TOP_TERMS]
    if not topic.pk:
        topic.source = TopicSource.RULE
    topic.save()
    if not topic.weights:  # a keyword topic's links are all its keywords'
        CommentTopic.objects.filter(topic=topic).delete()
    rules = keyword_stems(topic.keywords)
    links = [
        CommentTopic(comment_id=pk, topic_id=topic.pk, weight=1.0)
        for pk, stems in Comment.objects.filter(question_id=topic.question_id).values_list(
            "pk", "stems"
        )
        if _keyword_match(set(stems.split()), rules)
    ]
    CommentTopic.objects.bulk_create(links, ignore_conflicts=True, batch_size=5000)
    return topic


def topic_public(topic: Any) -> dict[str, Any]:
    """A topic as the API and the page show it (label and its terms' words)."""
    return {"topic": topic.pk, "label": topic.label, "terms": list(topic.words[:TOP_TERMS])}
