"""Topics and sentiment: NMF separates synthetic themes in Turkish and English, refits keep ids
and the team's edits, keyword rules, merges, the trained sentiment model's held-out accuracy,
full-text search, and alert rules on a topic."""

import datetime as dt

import pytest
from django.db import connection

from metrics.closedloop.response_rules import topic_alerts_open
from metrics.comments import processing, search, topics
from metrics.comments.models import Comment, CommentTopic, SentimentKind, SentimentModel, Topic
from metrics.models import Alert, AlertRule, Case, RuleCondition
from tests.metrics.comments_support import (
    EN_DELIVERY,
    EN_PRICE,
    TR_DELIVERY,
    TR_PRICE,
    seed_and_process,
    theme_specs,
    tone_specs,
)
from tests.metrics.conftest import add_responses, build_world, opened_alerts

pytestmark = pytest.mark.django_db


def _topic_with(stem: str) -> Topic:
    (topic,) = [t for t in Topic.objects.filter(active=True) if stem in t.terms[:5]]
    return topic


def _theme_of_topics(world, themes):  # noqa: ANN001, ANN202
    """{theme: the set of topics its comments were filed under (their main topic)}."""
    by_text = {}
    for name, phrases in themes.items():
        for phrase in phrases:
            by_text[phrase] = name
    found: dict[str, set[int]] = {name: set() for name in themes}
    links = CommentTopic.objects.filter(comment__question=world.questions["comment"])
    main: dict[int, tuple[float, int]] = {}
    for comment_id, topic_id, weight in links.values_list("comment_id", "topic_id", "weight"):
        if comment_id not in main or weight > main[comment_id][0]:
            main[comment_id] = (weight, topic_id)
    for comment in Comment.objects.select_related("answer").filter(pk__in=list(main)):
        theme = next(by_text[p] for p in by_text if p in comment.answer.text)
        found[theme].add(main[comment.pk][1])
    return found


@pytest.mark.parametrize(
    ("language", "themes"),
    [
        ("tr", {"delivery": TR_DELIVERY, "price": TR_PRICE}),
        ("en", {"delivery": EN_DELIVERY, "price": EN_PRICE}),
    ],
)
def test_topics_separate_two_synthetic_themes(language, themes):  # noqa: ANN001
    world = build_world()
    run = seed_and_process(world, theme_specs(7, themes, 40, language))
    assert run.refitted == [world.questions["comment"].pk]
    found = _theme_of_topics(world, themes)
    assert len(found["delivery"]) == 1 and len(found["price"]) == 1
    assert found["delivery"] != found["price"]
    every = CommentTopic.objects.values("comment_id").distinct().count()
    assert every == Comment.objects.count() == 80
    labels = {t.pk: t.label for t in Topic.objects.filter(active=True)}
    delivery_label = labels[next(iter(found["delivery"]))]
    price_label = labels[next(iter(found["price"]))]
    if language == "tr":
        assert any(w in delivery_label for w in ("kargo", "teslimat"))
        assert any(w in price_label for w in ("fiyat", "pahalı"))
    else:
        assert any(w in delivery_label for w in ("delivery", "courier", "parcel", "late"))
        assert any(w in price_label for w in ("price", "expensive"))


def test_a_label_shows_words_people_wrote_not_stems():
    world = build_world()
    seed_and_process(world, theme_specs(3, {"d": TR_DELIVERY, "p": TR_PRICE}, 30, "tr"))
    words = [w for t in Topic.objects.all() for w in t.words]
    assert "pahal" not in words and ("pahalı" in words or "fiyat" in words)


def test_new_comments_join_existing_topics_without_a_refit():
    world = build_world()
    seed_and_process(world, theme_specs(5, {"d": TR_DELIVERY, "p": TR_PRICE}, 40, "tr"))
    before = set(Topic.objects.values_list("pk", flat=True))
    run = seed_and_process(world, [{"nps": 3, "comment": "kargom yine geç geldi"}] * 3)
    assert run.refitted == [] and run.comments == 3
    assert set(Topic.objects.values_list("pk", flat=True)) == before
    new = Comment.objects.order_by("-pk")[:3]
    assert all(c.topic_links.exists() for c in new)


def test_a_refit_keeps_topic_ids_label_edits_merges_and_keyword_rules():
    world = build_world()
    question = world.questions["comment"]
    themes = {"d": TR_DELIVERY, "p": TR_PRICE}
    seed_and_process(world, theme_specs(11, themes, 40, "tr"))
    delivery = _topic_with("kargo")
    price = Topic.objects.exclude(pk=delivery.pk).get(active=True)
    topics.topic_label_set(topic=price, label="Fiyat algısı")
    rule = topics.topic_rule_save(
        topic=Topic(survey=world.survey, question=question, label="Hasar", keywords="hasarlı")
    )
    ruled = set(rule.comment_links.values_list("comment_id", flat=True))
    assert ruled and all(
        "hasar" in s for s in Comment.objects.filter(pk__in=ruled).values_list("stems", flat=True)
    )
    # Refit after enough new comments: ids stay, the edited label and the rule stay.
    run = seed_and_process(world, theme_specs(12, themes, 20, "tr"))
    assert run.refitted == [question.pk]
    active = {t.pk: t for t in Topic.objects.filter(active=True)}
    assert {delivery.pk, price.pk, rule.pk} <= set(active)
    assert active[price.pk].label == "Fiyat algısı"
    assert active[rule.pk].keywords == "hasarlı"
    assert rule.comment_links.count() > len(ruled)  # new comments with "hasarlı" joined
    # Merge the rule into the delivery topic: its comments follow, both term sets are kept.
    merged = topics.topics_merge(into=active[delivery.pk], others=[active[rule.pk]])
    assert set(ruled) <= set(merged.comment_links.values_list("comment_id", flat=True))
    assert set(rule.terms) <= set(merged.terms) and "kargo" in merged.terms
    assert Topic.objects.get(pk=rule.pk).merged_into_id == merged.pk
    assert not Topic.objects.get(pk=rule.pk).active
    run = seed_and_process(world, theme_specs(13, themes, 30, "tr"))
    assert run.refitted == [question.pk]
    after = Topic.objects.get(pk=merged.pk)
    assert after.active and after.pinned and after.keywords == "hasarlı"
    assert not Topic.objects.get(pk=rule.pk).active
    assert Topic.objects.get(pk=price.pk).label == "Fiyat algısı"
    # No duplicate of a kept topic: two themes, two discovered topics plus nothing else.
    assert Topic.objects.filter(active=True).count() == 2


def test_keywords_match_any_inflection():
    world = build_world()
    seed_and_process(
        world,
        [
            {"nps": 3, "comment": "Kargonun kutusu ezik", "language": "tr"},
            {"nps": 3, "comment": "Kargomu bulamadım", "language": "tr"},
            {"nps": 9, "comment": "Fiyat iyi", "language": "tr"},
        ],
    )
    rule = topics.topic_rule_save(
        topic=Topic(
            survey=world.survey,
            question=world.questions["comment"],
            label="Kargo",
            keywords="kargo",
        )
    )
    assert rule.comment_links.count() == 2


@pytest.mark.parametrize("language", ["tr", "en"])
def test_sentiment_accuracy_is_measured_on_held_out_comments_and_beats_chance(language):  # noqa: ANN001
    world = build_world()
    seed_and_process(world, tone_specs(21, 160, language))
    model = SentimentModel.objects.get(language=language)
    assert model.kind == SentimentKind.MODEL
    assert model.labelled == 160 and model.tested == 40
    assert model.accuracy is not None and model.accuracy > max(0.75, model.baseline)
    praise = Comment.objects.filter(score__gte=9)
    complaints = Comment.objects.filter(score__lte=6)
    mean = lambda rows: sum(c.sentiment for c in rows) / len(rows)  # noqa: E731
    assert mean(praise) > 0.3 and mean(complaints) < -0.3
    assert all(-1 <= c.sentiment <= 1 for c in Comment.objects.all())


def test_anonymous_surveys_never_label_the_sentiment_model():
    from tests.metrics.conftest import anonymous_world

    world = anonymous_world()
    seed_and_process(world, tone_specs(22, 120, "tr"))
    model = SentimentModel.objects.get(language="tr")
    assert model.kind == SentimentKind.LEXICON and model.labelled == 0


def _search_world():  # noqa: ANN202
    world = build_world()
    seed_and_process(
        world,
        [
            {"nps": 3, "comment": "Teslimat çok geç geldi", "language": "tr"},
            {"nps": 4, "comment": "Kargonun teslimatı gecikti", "language": "tr"},
            {"nps": 9, "comment": "Fiyat uygundu", "language": "tr"},
            {"nps": 2, "comment": "The deliveries were late", "language": "en"},
            {"nps": 9, "comment": "Fair prices", "language": "en"},
        ],
    )
    return world


def _found(query: str) -> set[str]:
    matching = search.comments_matching(Comment.objects.all(), query)
    return set(matching.values_list("answer__text", flat=True))


def test_search_finds_inflected_forms_in_either_language():
    _search_world()
    assert _found("teslimatlar") == {"Teslimat çok geç geldi", "Kargonun teslimatı gecikti"}
    assert _found("TESLİMAT geç") == {"Teslimat çok geç geldi"}
    assert _found("delivery") == {"The deliveries were late"}
    assert _found("price") == {"Fair prices"}
    assert _found("iade") == set()
    assert _found("   ") == {
        "Teslimat çok geç geldi",
        "Kargonun teslimatı gecikti",
        "Fiyat uygundu",
        "The deliveries were late",
        "Fair prices",
    }


def test_search_on_postgresql_uses_its_turkish_and_english_configurations(needs_postgres):  # noqa: ANN001
    assert connection.vendor == "postgresql"
    _search_world()
    assert _found("teslimatlar") == {"Teslimat çok geç geldi", "Kargonun teslimatı gecikti"}
    assert _found("delivery") == {"The deliveries were late"}
    assert _found("kargo -geç") == {"Kargonun teslimatı gecikti"}


def test_an_alert_rule_on_a_topic_fires_once_per_response_when_the_comment_is_filed():
    world = build_world()
    seed_and_process(world, theme_specs(31, {"d": TR_DELIVERY, "p": TR_PRICE}, 30, "tr"))
    topic = _topic_with("kargo")
    rule = AlertRule.objects.create(
        name="Kargo şikâyeti",
        audience=world.audience,
        condition=RuleCondition.TOPIC,
        topic=topic,
        sla=dt.timedelta(hours=4),
    )
    assert rule.kind == "response"
    (response,) = add_responses(world, [{"nps": 2, "comment": "kargom geç geldi kargo berbat"}])
    add_responses(world, [{"nps": 3, "comment": "fiyat pahalı fiyatlar yüksek"}])
    run = processing.comments_process()
    assert len(run.alerts) == 1
    alert = Alert.objects.get()
    assert (alert.rule_id, alert.response_id) == (rule.pk, response.pk)
    assert Case.objects.get().assignee_id == world.audience.owner_id
    assert opened_alerts() == [alert.pk]
    # Processing again (a rerun of the same comments) opens nothing more.
    assert topic_alerts_open(pairs=[(response.pk, topic.pk)]) == []
    assert Alert.objects.count() == 1


def test_no_topic_alert_for_an_anonymous_survey():
    from tests.metrics.conftest import anonymous_world

    world = anonymous_world()
    seed_and_process(world, theme_specs(32, {"d": TR_DELIVERY, "p": TR_PRICE}, 30, "tr"))
    topic = Topic.objects.filter(active=True).first()
    AlertRule.objects.create(
        name="x", audience=world.audience, condition=RuleCondition.TOPIC, topic=topic
    )
    run = seed_and_process(world, [{"nps": 2, "comment": "kargom geç geldi"}] * 3)
    assert run.alerts == [] and not Alert.objects.exists()


def test_a_topic_rule_needs_a_topic_of_its_own_audience():
    from django.core.exceptions import ValidationError

    world = build_world()
    other = build_world("partners")
    seed_and_process(other, theme_specs(33, {"d": TR_DELIVERY, "p": TR_PRICE}, 30, "tr"))
    foreign = Topic.objects.filter(survey=other.survey).first()
    rule = AlertRule(name="x", audience=world.audience, condition=RuleCondition.TOPIC)
    with pytest.raises(ValidationError) as missing:
        rule.clean()
    assert "topic" in missing.value.message_dict
    rule.topic = foreign
    with pytest.raises(ValidationError) as elsewhere:
        rule.clean()
    assert "topic" in elsewhere.value.message_dict
