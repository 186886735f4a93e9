"""Sentiment of comments, −1…1: a model the platform trains on its own data, else a lexicon.

Per language, a logistic regression (scikit-learn) over TF-IDF of stems and stem pairs (so
"not good" differs from "good"), labelled by the outcome score of the same response: NPS 0–6
negative and 9–10 positive, CSAT 1–2 negative and 4–5 positive; passives (NPS 7–8, CSAT 3)
are unlabelled. Only named surveys' comments are labels: an anonymous respondent's score is
never learnt, so no anonymous comment's sentiment can echo its own score. A quarter of the
labelled comments (stratified, fixed seed) is held out: the model is fitted on the other
three quarters, and its accuracy on the held-out quarter, beside the majority-class baseline,
is what the topics page shows (the model used is the one measured). Sentiment =
2·P(positive) − 1.

With fewer than MIN_LABELLED labelled comments, or fewer than MIN_PER_CLASS of either class,
the language uses the lexicon (metrics.comments.lexicon), and the page says so.
"""

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from metrics.comments import text
from metrics.comments.models import SentimentKind, SentimentModel
from metrics.comments.vectors import tfidf_apply, tfidf_fit

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression

# scikit-learn loads only when a model is fitted: every process imports this module (workers,
# commands, the admin) and most never fit one.

MIN_LABELLED = 40
MIN_PER_CLASS = 10
TEST_SHARE = 0.25
NGRAMS = 2


def label_of(score: int | None, score_type: str) -> int | None:
    """1 positive, 0 negative, None unlabelled (passives, no score)."""
    if score is None:
        return None
    if score_type == "nps":
        return 0 if score <= 6 else 1 if score >= 9 else None
    if score_type == "csat":
        return 0 if score <= 2 else 1 if score >= 4 else None
    return None


def sentiment_train(
    *, language: str, docs: Sequence[str], labels: Sequence[int], now: dt.datetime
) -> SentimentModel:
    """Train (or fall back to the lexicon for) one language from its labelled comments' stems
    and labels; stores and returns the language's model row."""
    n = len(labels)
    positives = int(sum(labels))
    fields: dict[str, object] = {
        "labelled": n,
        "trained_at": now,
        "vocabulary": [],
        "idf": [],
        "coef": [],
        "intercept": 0.0,
        "tested": 0,
        "accuracy": None,
        "baseline": None,
        "kind": SentimentKind.LEXICON,
    }
    if n >= MIN_LABELLED and min(positives, n - positives) >= MIN_PER_CLASS:
        from sklearn.model_selection import train_test_split

        y = np.asarray(labels)
        train, test = train_test_split(
            np.arange(n), test_size=TEST_SHARE, random_state=0, stratify=y
        )
        trained = _fit([docs[i] for i in train], y[train])
        if trained is not None:
            vocabulary, idf, model = trained
            held_out = tfidf_apply(
                [docs[i] for i in test], vocabulary=vocabulary, idf=idf, ngrams=NGRAMS
            )
            majority = max(float(y[test].mean()), 1 - float(y[test].mean()))
            fields |= {
                "kind": SentimentKind.MODEL,
                "vocabulary": vocabulary,
                "idf": idf,
                "coef": model.coef_[0].tolist(),
                "intercept": float(model.intercept_[0]),
                "tested": len(test),
                "accuracy": float((model.predict(held_out) == y[test]).mean()),
                "baseline": majority,
            }
    row, _created = SentimentModel.objects.update_or_create(language=language, defaults=fields)
    return row


def _fit(
    docs: Sequence[str], y: np.ndarray
) -> tuple[list[str], list[float], "LogisticRegression"] | None:
    """TF-IDF and a logistic regression fitted on the training comments (None: no term is in
    two of them, nothing to learn from)."""
    try:
        vocabulary, idf, matrix = tfidf_fit(docs, ngrams=NGRAMS, min_df=2, max_df=1.0)
    except ValueError:
        return None
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=1000, class_weight="balanced").fit(matrix, y)
    return vocabulary, idf, model


def sentiments(*, model: SentimentModel | None, language: str, docs: Sequence[str]) -> list[float]:
    """Each comment's sentiment (−1…1) from its stems: the trained model, else the lexicon."""
    if not docs:
        return []
    if model is None or model.kind != SentimentKind.MODEL:
        return [text.lexicon_sentiment(doc.split(), language) for doc in docs]
    matrix = tfidf_apply(docs, vocabulary=model.vocabulary, idf=model.idf, ngrams=NGRAMS)
    logits = matrix @ np.asarray(model.coef, dtype=np.float64) + model.intercept
    positive = 1.0 / (1.0 + np.exp(-logits))
    return [round(float(v), 4) for v in 2.0 * positive - 1.0]
