"""Display logic (surveys/logic.py): which questions are shown, and which logic is refused."""

from surveys.logic import QuestionSpec, is_visible, logic_errors, visible_keys
from surveys.models import Question, QuestionType

IMPROVE = {"question": "nps", "op": "lte", "value": 6}
LIKED = {"question": "nps", "op": "gte", "value": 9}


def spec(key: str, type: str = "text", page: int = 1, order: int = 0, **extra) -> QuestionSpec:  # noqa: A002, ANN003
    extra.setdefault("required", False)
    extra.setdefault("show_if", None)
    return QuestionSpec(key=key, type=type, page=page, order=order, **extra)


def nps_survey() -> list[QuestionSpec]:
    return [
        spec("nps", "nps", page=1, order=1, required=True),
        spec("improve", page=2, order=2, show_if=IMPROVE),
        spec("liked", page=2, order=3, show_if=LIKED),
        spec("why_improve", page=3, order=4, show_if={"question": "improve", "op": "answered"}),
    ]


def test_detractor_sees_improve_and_not_liked():
    assert visible_keys(nps_survey(), {"nps": 6}) == {"nps", "improve"}


def test_promoter_sees_liked_and_not_improve():
    assert visible_keys(nps_survey(), {"nps": 9}) == {"nps", "liked"}


def test_passive_sees_neither_follow_up():
    assert visible_keys(nps_survey(), {"nps": 7}) == {"nps"}


def test_score_boundaries_are_inclusive():
    assert visible_keys(nps_survey(), {"nps": 0}) == {"nps", "improve"}
    assert visible_keys(nps_survey(), {"nps": 10}) == {"nps", "liked"}


def test_answer_to_a_hidden_question_does_not_show_its_dependants():
    # "improve" was answered while the NPS was low, then the NPS was changed to 10: the stale
    # answer no longer counts, so the question that depends on it stays hidden.
    shown = visible_keys(nps_survey(), {"nps": 10, "improve": "faster delivery"})

    assert shown == {"nps", "liked"}


def test_answer_to_a_shown_question_shows_its_dependants():
    shown = visible_keys(nps_survey(), {"nps": 2, "improve": "faster delivery"})

    assert shown == {"nps", "improve", "why_improve"}


def test_numeric_answers_given_as_text_are_compared_as_numbers():
    assert visible_keys(nps_survey(), {"nps": "10"}) == {"nps", "liked"}


def test_is_visible_checks_one_question_against_given_answers():
    improve = nps_survey()[1]

    assert is_visible(improve, {"nps": 3}) is True
    assert is_visible(improve, {"nps": 8}) is False
    assert is_visible(improve, {}) is False


def test_all_and_any_combine_conditions():
    passive = spec(
        "higher",
        page=2,
        show_if={
            "all": [
                {"question": "nps", "op": "gte", "value": 7},
                {"question": "nps", "op": "lte", "value": 8},
            ]
        },
    )
    either = spec(
        "extreme",
        page=2,
        show_if={
            "any": [
                {"question": "nps", "op": "eq", "value": 0},
                {"question": "nps", "op": "eq", "value": 10},
            ]
        },
    )
    questions = [spec("nps", "nps", page=1), passive, either]

    assert visible_keys(questions, {"nps": 8}) == {"nps", "higher"}
    assert visible_keys(questions, {"nps": 0}) == {"nps", "extreme"}
    assert visible_keys(questions, {"nps": 5}) == {"nps"}


def test_contains_and_not_answered_conditions():
    reasons = spec(
        "reasons",
        "multiple_choice",
        page=1,
        choices=("price", "speed"),
    )
    price = spec(
        "price_detail", page=2, show_if={"question": "reasons", "op": "contains", "value": "price"}
    )
    nothing = spec("other", page=2, show_if={"question": "reasons", "op": "not_answered"})
    questions = [reasons, price, nothing]

    assert visible_keys(questions, {"reasons": ["speed", "price"]}) == {"reasons", "price_detail"}
    assert visible_keys(questions, {"reasons": []}) == {"reasons", "other"}


def test_sound_logic_has_no_errors():
    assert logic_errors(nps_survey()) == {}


def test_model_instances_are_checked_like_specs():
    questions = [
        Question(key="nps", type=QuestionType.NPS, page=1, order=1),
        Question(key="improve", type=QuestionType.TEXT, page=1, order=2, show_if=IMPROVE),
    ]

    assert logic_errors(questions) == {
        "improve": ["The condition refers to “nps”, which is not on an earlier page."]
    }


def test_forward_reference_is_an_error():
    questions = [
        spec("first", page=1, show_if={"question": "nps", "op": "lte", "value": 6}),
        spec("nps", "nps", page=2),
    ]

    assert logic_errors(questions) == {
        "first": ["The condition refers to “nps”, which is not on an earlier page."]
    }


def test_reference_to_the_same_page_is_an_error():
    questions = [
        spec("nps", "nps", page=1, order=1),
        spec("improve", page=1, order=2, show_if=IMPROVE),
    ]

    assert logic_errors(questions) == {
        "improve": ["The condition refers to “nps”, which is not on an earlier page."]
    }


def test_reference_to_itself_is_an_error():
    questions = [spec("nps", "nps", page=2, show_if=IMPROVE)]

    assert logic_errors(questions) == {
        "nps": ["The condition refers to “nps”, which is not on an earlier page."]
    }


def test_unknown_question_is_an_error():
    questions = [
        spec("nps", "nps", page=1),
        spec("improve", page=2, show_if={"question": "nsp", "op": "lte", "value": 6}),
    ]

    assert logic_errors(questions) == {
        "improve": ["The condition refers to an unknown question “nsp”."]
    }


def test_nps_of_eleven_or_more_can_never_happen():
    questions = [
        spec("nps", "nps", page=1),
        spec("improve", page=2, show_if={"question": "nps", "op": "gte", "value": 11}),
    ]

    assert logic_errors(questions) == {
        "improve": ["“nps” can never meet this condition, so this question is never shown."]
    }


def test_csat_below_one_can_never_happen():
    questions = [
        spec("csat", "csat", page=1),
        spec("why", page=2, show_if={"question": "csat", "op": "lt", "value": 1}),
    ]

    assert logic_errors(questions) == {
        "why": ["“csat” can never meet this condition, so this question is never shown."]
    }


def test_ces_on_five_points_cannot_reach_six():
    questions = [
        spec("ces", "ces", page=1, scale_max=5),
        spec("why", page=2, show_if={"question": "ces", "op": "eq", "value": 6}),
    ]

    assert logic_errors(questions) == {
        "why": ["“ces” can never meet this condition, so this question is never shown."]
    }


def test_choice_not_offered_can_never_be_chosen():
    questions = [
        spec("colour", "single_choice", page=1, choices=("red", "green")),
        spec("why", page=2, show_if={"question": "colour", "op": "eq", "value": "blue"}),
    ]

    assert logic_errors(questions) == {
        "why": ["“colour” can never meet this condition, so this question is never shown."]
    }


def test_offered_choice_is_sound():
    questions = [
        spec("colour", "single_choice", page=1, choices=("red", "green")),
        spec("why", page=2, show_if={"question": "colour", "op": "in", "value": ["blue", "red"]}),
    ]

    assert logic_errors(questions) == {}


def test_unknown_operator_and_missing_value_are_errors():
    questions = [
        spec("nps", "nps", page=1),
        spec("a", page=2, show_if={"question": "nps", "op": "about", "value": 6}),
        spec("b", page=2, show_if={"question": "nps", "op": "lte"}),
        spec("c", page=2, show_if={"op": "lte", "value": 6}),
    ]

    assert logic_errors(questions) == {
        "a": ["Unknown operator “about”."],
        "b": ["The operator “lte” needs a value."],
        "c": ['A condition needs "question" and "op".'],
    }


def test_every_bad_condition_of_a_group_is_reported():
    questions = [
        spec("nps", "nps", page=1),
        spec(
            "a",
            page=2,
            show_if={
                "all": [
                    {"question": "ghost", "op": "answered"},
                    {"question": "nps", "op": "gt", "value": 10},
                ]
            },
        ),
    ]

    assert logic_errors(questions) == {
        "a": [
            "The condition refers to an unknown question “ghost”.",
            "“nps” can never meet this condition, so this question is never shown.",
        ]
    }


def test_empty_group_is_an_error():
    questions = [spec("nps", "nps", page=1), spec("a", page=2, show_if={"all": []})]

    assert logic_errors(questions) == {"a": ['A condition needs "question" and "op".']}
