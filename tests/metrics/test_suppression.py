"""Small-cell suppression of sibling slices (xmplatform.core.suppression, used by surveys)."""

from xmplatform.core.suppression import suppress_siblings


def test_a_lone_small_slice_hides_its_smallest_sibling_too() -> None:
    rows = [{"group": "a", "n": 2}, {"group": "b", "n": 9}, {"group": "c", "n": 6}]

    assert suppress_siblings(rows, threshold=5) == [
        {"group": "a", "suppressed": True},
        {"group": "b", "n": 9},
        {"group": "c", "suppressed": True},
    ]


def test_hidden_slices_holding_fewer_than_k_together_hide_one_more() -> None:
    rows = [
        {"group": "a", "n": 1, "scale": 5},
        {"group": "b", "n": 2, "scale": 5},
        {"group": "c", "n": 7, "scale": 5},
        {"group": "d", "n": 8, "scale": 5},
    ]

    assert suppress_siblings(rows, threshold=5) == [
        {"group": "a", "suppressed": True, "scale": 5},
        {"group": "b", "suppressed": True, "scale": 5},
        {"group": "c", "suppressed": True, "scale": 5},
        {"group": "d", "n": 8, "scale": 5},
    ]


def test_slices_all_at_the_threshold_are_shown() -> None:
    rows = [{"group": "a", "n": 5}, {"group": "b", "n": 5}]

    assert suppress_siblings(rows, threshold=5) == rows
