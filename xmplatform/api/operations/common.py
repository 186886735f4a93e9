"""What the API's batch operations share: per-item errors and id bounds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_ID = 2**63 - 1


def item_error(index: int, field: str | None, message: Any) -> dict[str, Any]:
    return {"index": index, "field": field, "message": str(message)}


def flatten_errors(index: int, errors: Any, prefix: str = "") -> list[dict[str, Any]]:
    """DRF's nested error structure as flat {"index", "field", "message"} items."""
    out: list[dict[str, Any]] = []
    if isinstance(errors, Mapping):
        for key, value in errors.items():
            if key == "non_field_errors":
                name = prefix  # about the object at `prefix` as a whole
            elif isinstance(key, int):
                name = f"{prefix}[{key}]"  # DRF keys a list's errors by position
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            out.extend(flatten_errors(index, value, name))
    elif isinstance(errors, list):
        if all(isinstance(e, str) for e in errors):
            out.extend(item_error(index, prefix or None, e) for e in errors)
        else:
            for i, value in enumerate(errors):
                if value:
                    out.extend(flatten_errors(index, value, f"{prefix}[{i}]"))
    else:
        out.append(item_error(index, prefix or None, errors))
    return out


def as_text(value: Any) -> str | None:
    """A name sent as text (or a whole number, as the people endpoint accepts), else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def check_id(value: int) -> bool:
    return 0 < value <= MAX_ID
