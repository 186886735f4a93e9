"""Text the platform refuses to store: NUL everywhere, other control characters in imports.

PostgreSQL cannot store NUL in text at all; the API refuses it in every body and URL
(`xmplatform.api.parsers`). A spreadsheet import also refuses the other control characters
(Unicode category Cc): nothing legitimate in a name, address or attribute needs them, and a
hidden one in front of `=` turns a cell back into a live formula when it is exported again.
"""

from __future__ import annotations

import re
from typing import Any

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def has_nul(value: Any) -> bool:
    """Whether any text (key or value) in `value` holds a NUL, which PostgreSQL cannot store."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False


def control_character(text: str) -> str | None:
    """The first control character (NUL, tab, line break, C1, …) in `text`, or None."""
    found = CONTROL_CHARACTERS.search(text)
    return found.group() if found else None
