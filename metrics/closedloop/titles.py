"""What an alert says (its summary, its case's title) in the reader's language.

A rule's firing is stored as a message, a key and its parameters
({"key": "answer", "params": {"type": "nps", "value": 3, "rule": "Call back detractors"}}),
and worded when shown, so a case opened while the platform spoke Turkish reads in English
for an English reader. The stored `summary` / `title` text (worded in the default language
when the alert opened) stays for search, and for rows older than messages.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from surveys.models import QuestionType

# Each key's wording; parameters named `type` and `metric` are codes, worded when shown.
MESSAGES: dict[str, Any] = {
    "answer": _("%(question)s answer %(value)s: %(rule)s"),
    "keyword": _("Keyword “%(keyword)s” in a comment: %(rule)s"),
    "answered": _("Answered “%(key)s”: %(rule)s"),
    "topic": _("Comment on “%(topic)s”: %(rule)s"),
    "rate_below": _("Response rate %(value).1f %% over %(days)s days: %(rule)s"),
    "score_below": _("%(metric)s %(value).1f over %(days)s days: %(rule)s"),
    "score_drop": _("%(metric)s fell from %(previous).1f to %(value).1f: %(rule)s"),
}


def message(key: str, **params: Any) -> dict[str, Any]:
    """A message to store: `key` of MESSAGES and its parameters (JSON values only)."""
    if key not in MESSAGES:
        raise ValueError(f"Unknown alert message {key!r}.")
    return {"key": key, "params": params}


def message_text(stored: dict[str, Any] | None, *, fallback: str = "") -> str:
    """A stored message worded in the active language; `fallback` when there is none or it
    cannot be worded (a key or parameter this version does not know)."""
    if not stored or stored.get("key") not in MESSAGES:
        return fallback
    params = dict(stored.get("params") or {})
    if "type" in params:
        code = params.pop("type")
        params["question"] = (
            str(QuestionType(code).label) if code in QuestionType.values else _("Answer")
        )
    if "metric" in params:
        from metrics.selectors.slices import METRIC_LABELS

        params["metric"] = str(METRIC_LABELS.get(params["metric"], params["metric"]))
    try:
        return (str(MESSAGES[stored["key"]]) % params)[:300]
    except (KeyError, TypeError, ValueError):
        return fallback


def message_text_in(stored: dict[str, Any], language: str) -> str:
    """The message worded in `language` (what is stored as the searchable summary)."""
    with override(language):
        return message_text(stored)


# The message worded when it is turned into text (an e-mail rendered in its reader's language).
lazy_message_text = lazy(message_text, str)
