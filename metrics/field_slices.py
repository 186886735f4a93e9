"""Slices by a survey's hidden field (`field:<name>`, surveys.hidden_fields), and what an
anonymous survey may show of them.

Named surveys are sliced exactly, from the answers (`Response.data`), like membership
attributes. An anonymous survey's hidden field is a further person dimension of each published
block (metrics.privacy, point 4), decided after segment, channel and language, which it never
changes (their figures were shown before hidden fields existed and stay as they are):

- a value held by fewer than k answers is hidden, and the hidden values of a field are none
  or at least two holding k together (small cells, complements);
- a shown value X and every group already decided (a shown segment, channel or language, one
  of their hidden remainders, and the same for the fields decided before it, in name order)
  differ by 0 or at least k answers each way, or X is hidden (overlaps);
- a value lying inside a hidden cell decided before it is hidden (containment).

The field names a block is decided over are those its responses carry (their data is frozen
with the published period), in name order, so every query of a block sees the same decision.
A slicing filter (segment) together with a field slice gives no anonymous figure.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from metrics import privacy

FIELD_PREFIX = "field:"
NO_VALUE = ""

# One row of a block: (segment, channel, language, data items) -> answers.
DataKey = tuple[str, str, str, tuple[tuple[str, str], ...]]


def data_items(data: Any) -> tuple[tuple[str, str], ...]:
    """A response's hidden field values as a hashable, ordered tuple."""
    if not isinstance(data, Mapping):
        return ()
    return tuple(sorted((str(k), str(v)) for k, v in data.items()))


class _Block:
    """The rows of one block, with groups as sets of row indexes."""

    def __init__(self, rows: Mapping[DataKey, int]) -> None:
        self.keys = list(rows)
        self.n = [rows[key] for key in self.keys]
        self.data = [dict(key[3]) for key in self.keys]

    def size(self, group: frozenset[int]) -> int:
        return sum(self.n[i] for i in group)

    def cells(self, value_of: Sequence[str]) -> dict[str, frozenset[int]]:
        found: dict[str, set[int]] = {}
        for i, value in enumerate(value_of):
            found.setdefault(value, set()).add(i)
        return {v: frozenset(ids) for v, ids in found.items()}


def _decide(
    block: _Block,
    cells: dict[str, frozenset[int]],
    fixed: list[frozenset[int]],
    fixed_hidden: list[frozenset[int]],
    k: int,
) -> set[str]:
    """The hidden values of one new dimension whose cells are `cells`, given the groups shown
    before it (`fixed`) and the hidden cells before it (`fixed_hidden`)."""
    size = {v: block.size(ids) for v, ids in cells.items()}
    hidden = {v for v, n in size.items() if n < k}

    def shown() -> list[str]:
        return sorted((v for v in cells if v not in hidden), key=lambda v: (size[v], v))

    while True:
        visible = shown()
        if not visible:
            return hidden
        # Complements.
        if hidden and (len(hidden) < 2 or sum(size[v] for v in hidden) < k):
            hidden.add(visible[0])
            continue
        changed = False
        remainder = frozenset().union(*(cells[v] for v in hidden)) if hidden else None
        candidates: list[tuple[str | None, frozenset[int]]] = [(v, cells[v]) for v in visible]
        if remainder is not None:
            candidates.append((None, remainder))
        for value, group in candidates:
            n = block.size(group)
            for other in fixed:
                common = block.size(group & other)
                only_x, only_y = n - common, block.size(other) - common
                if 0 < only_x < k or 0 < only_y < k:
                    hidden.add(value if value is not None else visible[0])
                    changed = True
                    break
            if changed:
                break
            if value is not None and any(group <= cell for cell in fixed_hidden):
                hidden.add(value)
                changed = True
                break
        if not changed:
            return hidden


def shown_field_values(rows: Mapping[DataKey, int], *, k: int, field: str) -> frozenset[str]:
    """For one published block: the values of hidden field `field` whose cells may be shown
    (module docstring). A response without the field has the value NO_VALUE."""
    if sum(rows.values()) < k:
        return frozenset()
    block = _Block(rows)
    base_rows: Counter[tuple[str, str, str]] = Counter()
    for key, n in rows.items():
        base_rows[key[:3]] += n
    base = privacy.shown_values(base_rows, k=k)
    fixed: list[frozenset[int]] = []
    fixed_hidden: list[frozenset[int]] = []

    def settle(cells: dict[str, frozenset[int]], hidden: set[str]) -> None:
        fixed.extend(ids for v, ids in cells.items() if v not in hidden)
        if hidden:
            fixed.append(frozenset().union(*(cells[v] for v in hidden)))
        fixed_hidden.extend(cells[v] for v in hidden)

    for position, dim in enumerate(privacy.PERSON_DIMENSIONS):
        cells = block.cells([str(key[position]) for key in block.keys])
        settle(cells, {v for v in cells if v not in base[dim]})
    names = sorted({name for data in block.data for name in data} | {field})
    for name in names:
        cells = block.cells([data.get(name, NO_VALUE) for data in block.data])
        hidden = _decide(block, cells, fixed, fixed_hidden, k)
        if name == field:
            return frozenset(v for v in cells if v not in hidden)
        settle(cells, hidden)
    return frozenset()  # pragma: no cover - `field` is among the names
