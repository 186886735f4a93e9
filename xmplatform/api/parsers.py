"""The API's one body format: JSON, strict, and free of NUL characters."""

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

from xmplatform.core.text import has_nul

MAX_DEPTH = 32


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists and objects nest more than `limit` levels (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, dict | list):
                if depth >= limit:
                    return True
                stack.append((child, depth + 1))
    return False


class JSONBodyParser(JSONParser):
    """JSON as DRF parses it (NaN and Infinity refused); text with NUL characters, and lists
    and objects nested more than MAX_DEPTH levels, refused (deeper data is a mistake or an
    attack, and would exhaust the stack of whatever walks it later)."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            data = json.loads(raw.decode("utf-8"))
        except ValueError as exc:  # includes UnicodeDecodeError and JSONDecodeError
            raise ParseError(_("JSON parse error - %(error)s") % {"error": exc}) from exc
        except RecursionError:
            data = None
            deep = True
        else:
            deep = isinstance(data, dict | list) and too_deep(data)
        if deep:
            raise ParseError(
                _("Lists and objects may nest at most %(n)d levels deep.") % {"n": MAX_DEPTH}
            )
        # JSON carries NUL only escaped, so a body without "\u0000" needs no walk.
        if b"\\u0000" in raw and has_nul(data):
            raise ParseError(_("Text must not contain NUL characters."))
        return data
