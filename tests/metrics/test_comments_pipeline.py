"""The text pipeline: stems in Turkish and English, comments without text, incremental runs,
erasure, and the beat entry."""

import pytest

from metrics.comments import processing, text
from metrics.comments.models import Comment, SentimentKind, SentimentModel
from surveys.models import Answer
from tests.metrics.comments_support import TR_DELIVERY, seed_and_process, theme_specs
from tests.metrics.conftest import TODAY, add_responses, anonymous_world, build_world
from xmplatform.beat import BEAT_SCHEDULE

pytestmark = pytest.mark.django_db


def test_turkish_inflections_share_one_stem():
    assert {text.stem(w, "tr") for w in ("kargom", "kargonun", "kargo", "kargoyu")} == {"kargo"}
    assert text.stems("Teslimatlar ve TESLİMAT", "tr") == ["teslimat", "teslimat"]


def test_turkish_casing_folds_dotted_and_dotless_i():
    assert text.casefold("IŞIK İADE", "tr") == "ışık iade"
    assert text.casefold("IŞIK İADE", "en") == "işik iade"
    assert text.words("İADE ISTIYORUM", "tr") == ["iade", "ıstıyorum"]


def test_stop_words_and_one_letter_words_are_left_out():
    assert text.words("Ve bu kargo da çok geç, a!", "tr") == ["kargo", "geç"]
    assert text.words("The delivery was a bit late", "en") == ["delivery", "bit", "late"]


def test_an_apostrophe_keeps_the_turkish_proper_noun_and_joins_an_english_contraction():
    assert text.words("Yurtiçi'nden geldi", "tr") == ["yurtiçi", "geldi"]
    assert "dont" in text.words("I don't like it", "en")


def test_each_free_text_answer_of_a_completed_released_response_becomes_one_comment():
    world = build_world()
    add_responses(
        world,
        [
            {"nps": 3, "comment": "Kargom geç geldi", "language": "tr"},
            {"nps": 9, "comment": "Fast delivery", "language": "en"},
            {"nps": 5, "comment": "", "language": "en"},  # empty: nothing to analyse
            {"nps": 2, "comment": "unfinished", "completed": False},
        ],
    )
    run = processing.comments_process()
    assert run.comments == 2
    rows = {c.stems: c for c in Comment.objects.all()}
    assert set(rows) == {" kargo geç gel ", " fast deliveri "}
    assert rows[" kargo geç gel "].language == "tr"
    assert rows[" kargo geç gel "].score == 3
    assert rows[" kargo geç gel "].score_type == "nps"
    assert rows[" fast deliveri "].sentiment > 0  # the lexicon: "fast"
    assert rows[" kargo geç gel "].sentiment < 0  # the lexicon: "geç"
    # The comment keeps no text of its own.
    assert not any(f.name == "text" for f in Comment._meta.get_fields())


def test_a_second_run_processes_only_what_is_new():
    world = build_world()
    add_responses(world, [{"nps": 3, "comment": "Kargom geç geldi", "language": "tr"}])
    assert processing.comments_process().comments == 1
    assert processing.comments_process().comments == 0
    add_responses(world, [{"nps": 10, "comment": "Harika", "language": "tr"}])
    assert processing.comments_process().comments == 1
    assert Comment.objects.count() == 2


def test_an_answer_older_than_processed_ones_is_still_processed_when_its_response_completes():
    world = build_world()
    (late,) = add_responses(world, [{"nps": 3, "comment": "Kargo geç", "completed": False}])
    add_responses(world, [{"nps": 9, "comment": "Great delivery"}])
    assert processing.comments_process().comments == 1
    late.completed_on = TODAY
    late.save(update_fields=["completed_on"])
    assert processing.comments_process().comments == 1


def test_an_anonymous_response_waiting_for_its_batch_is_not_processed_until_released():
    world = anonymous_world()
    (waiting,) = add_responses(world, [{"nps": 8, "comment": "maaşlar düşük", "released": False}])
    assert processing.comments_process().comments == 0
    waiting.released = True
    waiting.save(update_fields=["released"])
    assert processing.comments_process().comments == 1
    assert Comment.objects.get().anonymous is True


def test_deleting_the_answer_deletes_its_comment_and_topic_links():
    world = build_world()
    seed_and_process(world, theme_specs(1, {"delivery": TR_DELIVERY}, 30, "tr"))
    answer = Answer.objects.filter(comment__isnull=False).first()
    assert answer.comment.topic_links.exists()
    Answer.objects.filter(pk=answer.pk).delete()
    assert not Comment.objects.filter(pk=answer.pk).exists()


def test_a_language_without_enough_labelled_comments_uses_the_lexicon():
    world = build_world()
    seed_and_process(world, [{"nps": 3, "comment": "kötü kargo", "language": "tr"}] * 5)
    model = SentimentModel.objects.get(language="tr")
    assert model.kind == SentimentKind.LEXICON
    assert model.accuracy is None
    assert Comment.objects.first().sentiment == -1.0


def test_the_beat_runs_the_pipeline_every_five_minutes_with_an_expiry():
    entry = BEAT_SCHEDULE["comments-process"]
    assert entry["task"] == "comments.process_task"
    assert entry["schedule"] == 300.0
    assert entry["options"]["expires"] < 300


def test_the_task_runs_the_pipeline():
    from metrics.comments.tasks import process_task

    world = build_world()
    add_responses(world, [{"nps": 3, "comment": "Kargom geç geldi", "language": "tr"}])
    assert process_task.delay().get()["comments"] == 1


def test_the_command_runs_the_pipeline_now():
    from io import StringIO

    from django.core.management import call_command

    world = build_world()
    add_responses(world, [{"nps": 3, "comment": "Kargom geç geldi", "language": "tr"}])
    out = StringIO()
    call_command("process_comments", stdout=out)
    assert out.getvalue().startswith("1 comments processed")
