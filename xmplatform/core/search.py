"""Search text folded the Turkish way, identically in Python, PostgreSQL and SQLite.

A search for "BARIS" finds "Barış", and "barış" finds "BARIŞ": every letter is mapped to its
plain lower-case ASCII form (ı, I, İ and i all become i; ş s, ğ g, ü u, ö o, ç c, and the
circumflexed and accented vowels of loanwords and foreign names lose their marks). Python's own
`lower()` would turn "İ" into "i̇" (i and a combining dot) and "I" into "i", the English way;
here the mapping is one table, applied by `fold()` to what is typed and by `Fold()` in SQL to
what is stored, so both sides always agree. Letters outside the table (other scripts) are kept
as they are, matched case-sensitively: the database's own lower() depends on its locale, and
the two sides must never disagree.

`Fold` compiles to `translate()` on PostgreSQL (immutable, so it can define a stored generated
column and a trigram index) and, on SQLite, to `fold()` itself, registered on every connection
as a deterministic SQL function.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.db.models import Func, TextField

# Upper case ASCII, then the Turkish letters and common accented Latin letters, each with its
# folded form. One character to one character, as PostgreSQL's translate() maps them.
_ACCENTED = "İIıŞşĞğÜüÖöÇçÂâÎîÛûÄäÁáÀàÉéÈèÊêËëÍíÓóÔôÚúÑñ"
_PLAIN = "iiissgguuoocc" + "aaiiuuaaaaaaeeeeeeeeiioooouunn"
FOLD_FROM = "ABCDEFGHJKLMNOPQRSTUVWXYZ" + _ACCENTED
FOLD_TO = "abcdefghjklmnopqrstuvwxyz" + _PLAIN
# Written between a phone number's digits; dropped so "0532 123 45 67" finds "+905321234567".
PHONE_SEPARATORS = " -().+/"

assert len(FOLD_FROM) == len(FOLD_TO)  # noqa: S101 - a typo here would shift every letter

_FOLD_TABLE = str.maketrans(FOLD_FROM, FOLD_TO)
_PHONE_TABLE = str.maketrans("", "", PHONE_SEPARATORS)
_PHONE_LIKE = re.compile(r"^[\d\s\-().+/]+$")
# Fewer folded characters than this cannot use a trigram index: such a query matches only
# exact identifiers.
MIN_PARTIAL = 3
MAX_QUERY = 200


def fold(text: str) -> str:
    """`text` as the search column stores it: Turkish-folded, plain lower-case letters."""
    return unicodedata.normalize("NFC", text).translate(_FOLD_TABLE)


def phone_digits(text: str) -> str | None:
    """The digits of a query typed like a phone number ("0532 123 45 67"), else None."""
    text = text.strip()
    if not _PHONE_LIKE.match(text):
        return None
    digits = text.translate(_PHONE_TABLE)
    return digits if len(digits) >= MIN_PARTIAL else None


def clean_query(text: str) -> str:
    """The query as searched: trimmed, at most MAX_QUERY characters, inner spaces single."""
    return " ".join(text.split())[:MAX_QUERY]


class Fold(Func):
    """SQL: the expression folded exactly as `fold()` folds Python text."""

    output_field = TextField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        # Literals, not parameters: a generated column's expression cannot take parameters.
        return f"translate({sql}, '{FOLD_FROM}', '{FOLD_TO}')", params

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # SQLite: `fold()` itself, registered on each connection (register_sqlite_fold); a
        # chain of 43 replace() calls overflows SQLite's parser stack.
        sql, params = compiler.compile(self.source_expressions[0])
        return f"{SQLITE_FOLD}({sql})", params


SQLITE_FOLD = "xm_fold"


def _sqlite_fold(value: Any) -> Any:
    return fold(value) if isinstance(value, str) else value


def register_sqlite_fold(sender: Any, connection: Any, **kwargs: Any) -> None:
    """`connection_created` receiver: gives each SQLite connection `xm_fold()`.

    Deterministic, so SQLite accepts it in the stored `Person.search_text` column; the
    column can therefore only be written through Django (the embedded default's only writer).
    """
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_FOLD, 1, _sqlite_fold, deterministic=True)


class StripPhone(Func):
    """SQL: a phone number without the separators people write between its digits."""

    output_field = TextField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"translate({sql}, '{PHONE_SEPARATORS}', '')", params

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        for separator in PHONE_SEPARATORS:
            sql = f"replace({sql}, '{separator}', '')"
        return sql, params


class Joined(Func):
    """SQL: texts joined with " | " (the separator no query matches across), without parameters.

    Concat() would pass the separator as a parameter, which a generated column cannot take.
    """

    output_field = TextField()
    SEPARATOR = " | "

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        parts, params = [], []
        for expression in self.source_expressions:
            sql, part_params = compiler.compile(expression)
            parts.append(sql)
            params.extend(part_params)
        return "(" + f" || '{self.SEPARATOR}' || ".join(parts) + ")", params
