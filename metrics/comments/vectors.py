"""TF-IDF of stemmed comments with scikit-learn, and the same vectors again from a stored
vocabulary and idf (a fitted model is kept as plain numbers in the database, never pickled)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy import sparse

# scikit-learn and SciPy load only when a model is fitted: every process imports this module
# (workers, commands, the admin) and most never fit one.


def _tokens(doc: str) -> list[str]:
    return doc.split()


def tfidf_fit(
    docs: Sequence[str],
    *,
    ngrams: int = 1,
    min_df: int = 2,
    max_df: float = 0.95,
    max_features: int = 3000,
) -> tuple[list[str], list[float], sparse.csr_matrix]:
    """Fit TF-IDF (sublinear tf, l2 rows) over space-separated stems: (vocabulary in column
    order, idf, the matrix)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        tokenizer=_tokens,
        lowercase=False,
        token_pattern=None,
        ngram_range=(1, ngrams),
        min_df=min_df,
        max_df=max_df,
        max_features=max_features,
        sublinear_tf=True,
    )
    matrix = vectorizer.fit_transform(docs)
    return list(vectorizer.get_feature_names_out()), vectorizer.idf_.tolist(), matrix.tocsr()


def tfidf_apply(
    docs: Sequence[str], *, vocabulary: Sequence[str], idf: Sequence[float], ngrams: int = 1
) -> sparse.csr_matrix:
    """The TF-IDF rows of `docs` under a stored vocabulary and idf, as `tfidf_fit` made them."""
    from scipy import sparse
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.preprocessing import normalize

    counts = CountVectorizer(
        tokenizer=_tokens,
        lowercase=False,
        token_pattern=None,
        ngram_range=(1, ngrams),
        vocabulary={term: i for i, term in enumerate(vocabulary)},
    ).transform(docs)
    matrix = counts.astype(np.float64).tocsr()
    matrix.data = 1.0 + np.log(matrix.data)
    matrix = matrix @ sparse.diags(np.asarray(idf, dtype=np.float64))
    return normalize(matrix, norm="l2").tocsr()
