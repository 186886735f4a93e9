"""The privacy model of anonymous surveys, as every metrics read enforces it.

What is promised. An anonymous survey (`Survey.anonymous`) promises each respondent that
nobody below superuser, and no API key whatever its audiences, can learn what they answered —
from one view or from any combination of views: the scores API (every `by`, filter and
`from`/`to`), the dashboard (headline, distribution, comparison, trend, heatmap, touchpoint
ranking, segment filter, comments, index cards, response rate), score alerts, and polling any
of them over time. k is the audience's `anonymity_threshold`, never below 3 (`threshold`).

What the storage guarantees (surveys.periods). Every anonymous response belongs to one
reporting period of its survey and is stored on the period's first day; it counts nowhere
until it is released. Once the period has ended, everything it holds is released if that is
at least k in all (else nothing ever is) and the period is published: frozen. (While it is
open its responses are released in batches of at least k, which only a count of responses
follows.) The rollups hold released responses only; an anonymous survey's rows sit on the
period's first day with the survey's touchpoint.

What the reads add (this module, called by metrics.selectors and metrics.dashboard):

1. Blocks. The unit of anonymous data is a *block*: one survey × one published reporting
   period × one question. Rows of an anonymous survey that do not sit on one of its periods'
   first days are ignored, and a block with fewer than k answers shows nothing.
2. Windows snap to whole periods. A block belongs to a window when its period starts inside
   it (its rows sit on that day), so two windows that differ by a day give the same figure
   unless a whole period starts on that day. The API reports the window the figures cover.
3. Published periods only. An open period shows no figure at all, not even its released
   total, until it is published: every figure (scores, dashboard, trend, heatmap, index
   cards, comparisons, score alerts, response rates) counts the answers of published periods
   only, so no figure read while a period is open can be subtracted from one read after it
   is published (a total of "the target and nine engineers" against the engineering cell
   of nine). Survey-level figures — audience, survey, question, touchpoint, stage, journey
   and the time buckets (day, week, month, quarter of the period start) — are constant
   within a block (the touchpoint of an anonymous response is its survey's), so their
   figures are sums of whole blocks.
4. Person slices (segment, channel, language: one of them at a time). Within a (published)
   block `shown_values` decides, over all three dimensions at once so every query sees the
   same decision:
   - a cell under k is hidden (small cells);
   - the hidden cells of one dimension are none, or at least two holding k together, so
     "the block minus the shown cells" never isolates fewer than k (complements);
   - for two shown cells X, Y of different dimensions (and each dimension's hidden
     remainder), |X \\ Y| and |Y \\ X| are each 0 or at least k (overlaps);
   - a shown cell that lies inside a hidden cell of another dimension is hidden too, so a
     figure is never shown while a larger one containing it is not (containment).
   A window's figure is the sum of its blocks' shown cells. A slicing filter (segment)
   together with a different slicing `by` gives no anonymous figure; membership attributes
   have no value on anonymous responses and slice nothing.
   Why sums stay safe: every figure ever shown is a sum over published blocks, and a
   published block is frozen — it never gains or loses an answer, and its shown cells never
   change. So two figures, read at any two moments, are sums over the same frozen blocks
   (a later one may add whole blocks, each 0 or at least k answers), and each block
   contributes to their difference a set of answers that is empty or holds at least k (a
   whole block; a shown cell of at least k; a block minus its shown cells, the hidden ones,
   none or at least k; the overlap rules between dimensions), all with the same sign when
   one figure's group lies inside the other's — so no difference of two results isolates 1
   to k-1 answers, whatever the windows and whenever they were read. An open period takes
   no part: it is in no figure until it is published.
5. Comments (`comment_groups`). Free text of an anonymous survey is shown per group of one
   survey × one published period × one question (× the segment filter's segment), only when
   at least k people (distinct responses, not comment rows) commented in the group (and,
   under a segment filter, the rest of the period's commenters on that question are none or
   at least k), in a keyed shuffle, with no day, segment, channel or touchpoint. A question
   with fewer than k answers shows nothing, as on the survey's summary page.
6. Mixed figures. A figure over named and anonymous data is the exact named part plus the
   guarded anonymous part. Named (non-anonymous) data are never suppressed: their responses
   are visible one by one to analysts anyway.

What a scoped user can obtain: `metrics.selectors.figures` is the one read behind every
surface (`scores` for the API, `metrics.dashboard` for the pages); `visible_groups` lists
what a query shows, for property tests.
"""

import hashlib
import hmac
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings

PERSON_DIMENSIONS = ("segment", "channel", "language")
MIN_THRESHOLD = 3


def threshold(k: int) -> int:
    """k: an audience's anonymity threshold, never below MIN_THRESHOLD."""
    return max(MIN_THRESHOLD, k)


# A block's rows: (segment, channel, language) -> answers.
Rows = Mapping[tuple[str, str, str], int]


def shown_values(rows: Rows, *, k: int) -> dict[str, frozenset[str]]:
    """For one published block: per person dimension, the values whose cells may be shown.

    Applies small-cell, complement, overlap and containment suppression (module docstring,
    point 4) until nothing changes; only ever hides more, so it ends, at worst with every cell
    hidden (the block's total stays shown). Deterministic: the smallest cell goes first (ties
    by dimension, then value).
    """
    total = sum(rows.values())
    if total < k:
        return {dim: frozenset() for dim in PERSON_DIMENSIONS}
    size: dict[str, Counter[str]] = {dim: Counter() for dim in PERSON_DIMENSIONS}
    # cross[(i, j)][(x, y)]: answers with value x in dimension i and y in dimension j (i < j).
    cross: dict[tuple[int, int], Counter[tuple[str, str]]] = {}
    for i in range(len(PERSON_DIMENSIONS)):
        for j in range(i + 1, len(PERSON_DIMENSIONS)):
            cross[(i, j)] = Counter()
    for key, n in rows.items():
        for i, dim in enumerate(PERSON_DIMENSIONS):
            size[dim][key[i]] += n
        for (i, j), table in cross.items():
            table[(key[i], key[j])] += n
    hidden = {dim: {v for v, n in size[dim].items() if n < k} for dim in PERSON_DIMENSIONS}

    def rank(i: int, value: str) -> tuple[int, int, str]:
        return size[PERSON_DIMENSIONS[i]][value], i, value

    def visible(i: int) -> list[str]:
        dim = PERSON_DIMENSIONS[i]
        return sorted((v for v in size[dim] if v not in hidden[dim]), key=lambda v: rank(i, v))

    def both(i: int, x: str | None, j: int, y: str | None) -> int:
        """Answers in group (i, x) and in group (j, y); None stands for i's hidden remainder."""
        table = cross[(i, j)] if i < j else cross[(j, i)]
        xs = [x] if x is not None else list(hidden[PERSON_DIMENSIONS[i]])
        ys = [y] if y is not None else list(hidden[PERSON_DIMENSIONS[j]])
        return sum(table[(a, b)] if i < j else table[(b, a)] for a in xs for b in ys)

    def n_of(i: int, x: str | None) -> int:
        dim = PERSON_DIMENSIONS[i]
        return size[dim][x] if x is not None else sum(size[dim][v] for v in hidden[dim])

    def hide(i: int, value: str) -> None:
        hidden[PERSON_DIMENSIONS[i]].add(value)

    while True:
        changed = False
        # Complements: the hidden cells of a dimension are none, or >= 2 holding k together.
        for i, dim in enumerate(PERSON_DIMENSIONS):
            shown = visible(i)
            while (
                hidden[dim]
                and shown
                and (len(hidden[dim]) < 2 or sum(size[dim][v] for v in hidden[dim]) < k)
            ):
                hide(i, shown.pop(0))
                changed = True
        if changed:
            continue
        # Overlaps and containment, between groups of different dimensions. A group is a
        # shown cell (i, value) or a dimension's hidden remainder (i, None).
        groups = [(i, v) for i in range(len(PERSON_DIMENSIONS)) for v in visible(i)]
        groups += [(i, None) for i, dim in enumerate(PERSON_DIMENSIONS) if hidden[dim]]
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                (i, x), (j, y) = groups[a], groups[b]
                if i == j:
                    continue
                common = both(i, x, j, y)
                only_x, only_y = n_of(i, x) - common, n_of(j, y) - common
                if 0 < only_x < k or 0 < only_y < k:
                    cells = [(d, v) for d, v in ((i, x), (j, y)) if v is not None]
                    if not cells:  # two remainders: hide one more cell of either dimension
                        cells = [(i, v) for v in visible(i)] + [(j, v) for v in visible(j)]
                    if cells:
                        hide(*min(cells, key=lambda c: rank(*c)))
                        changed = True
                        break
            if changed:
                break
        if changed:
            continue
        # Containment: a shown cell inside a hidden cell of another dimension is hidden too.
        for i in range(len(PERSON_DIMENSIONS)):
            for x in visible(i):
                for j, dim in enumerate(PERSON_DIMENSIONS):
                    if j == i:
                        continue
                    if any(both(i, x, j, y) == size[PERSON_DIMENSIONS[i]][x] for y in hidden[dim]):
                        hide(i, x)
                        changed = True
                        break
                if changed:
                    break
            if changed:
                break
        if not changed:
            break
    return {dim: frozenset(set(size[dim]) - hidden[dim]) for dim in PERSON_DIMENSIONS}


# --- Comments -------------------------------------------------------------------------------


def comment_groups(
    counts: Mapping[tuple[Any, Any, Any, str], int],
    *,
    k_of: Mapping[Any, int],
    segment: str | None,
) -> set[tuple[Any, Any, Any]]:
    """The (survey, period start, question) groups whose comments may be shown.

    `counts` holds, per (survey, period start, question, segment), how many people (distinct
    responses) commented in published periods; `k_of` each survey's k. Without a segment
    filter a group needs at least k people; with one, the segment's people in the group need
    k and the rest of the group none or k.
    """
    totals: Counter[tuple[Any, Any, Any]] = Counter()
    of_segment: Counter[tuple[Any, Any, Any]] = Counter()
    for (survey_id, day, question_id, seg), n in counts.items():
        totals[(survey_id, day, question_id)] += n
        if segment is not None and seg == segment:
            of_segment[(survey_id, day, question_id)] += n
    shown = set()
    for group, n in totals.items():
        k = k_of[group[0]]
        if segment is None:
            if n >= k:
                shown.add(group)
        elif of_segment[group] >= k and not 0 < n - of_segment[group] < k:
            shown.add(group)
    return shown


def shuffled(ids: Iterable[int]) -> list[int]:
    """The ids in a keyed order: the same every time, unrelated to ids or days without the key."""
    key = settings.SECRET_KEY.encode()

    def mark(answer_id: int) -> bytes:
        return hmac.new(key, b"verbatim:%d" % answer_id, hashlib.sha256).digest()

    return sorted(ids, key=mark)


# --- What a scoped reader can obtain ------------------------------------------------------------

# Every `by` of the scores API (None: the ungrouped figure).
SCORE_BYS = (
    None,
    "touchpoint",
    "stage",
    "journey",
    "survey",
    "segment",
    "channel",
    "language",
    "day",
    "week",
    "month",
    "quarter",
)


def visible_groups(
    *,
    audience: Any,
    metric: str,
    date_from: Any = None,
    date_to: Any = None,
    survey_id: int | None = None,
    segment: str | None = None,
) -> dict[tuple[str | None, Any], int]:
    """Every figure a scoped reader can get of one metric over one window and filter:
    {(by, group): n} for each `by` of the scores API, shown groups only (mean metrics: the
    group is (group, scale)). The dashboard's figures are sums of the same reads. For property
    tests: any two of these, for any windows, must not differ by 1 to k-1 answers where one's
    group lies inside the other's.
    """
    from metrics import selectors

    filters = selectors.Filters(
        audience_id=audience.pk,
        date_from=date_from,
        date_to=date_to,
        survey_id=survey_id,
        segment=segment,
    )
    scope = selectors.read_scope(filters=filters)
    found: dict[tuple[str | None, Any], int] = {}
    for by in SCORE_BYS:
        figures = selectors.figures(metric=metric, by=by, filters=filters, scope=scope)
        for group, agg in figures.shown.items():
            found[(by, group)] = agg.n
    return found
