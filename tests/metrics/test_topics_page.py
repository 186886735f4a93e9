"""The topics page (/admin/metrics/<audience>/topics/) and the topics admin: roles, audit, CSV,
bounded queries, label edits, keyword rules and the merge action."""

import pytest
from django.urls import reverse

from audiences.models import AudienceGrant, AuditLog, Role
from metrics.comments.models import CommentTopic, Topic
from tests.metrics.comments_support import TR_DELIVERY, TR_PRICE, seed_and_process, theme_specs
from tests.metrics.conftest import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():  # noqa: ANN201
    world = build_world()
    seed_and_process(world, theme_specs(51, {"d": TR_DELIVERY, "p": TR_PRICE}, 30, "tr"))
    return world


def _user(django_user_model, shop, role, name):  # noqa: ANN001, ANN202
    user = django_user_model.objects.create_user(name, password="x", is_staff=True)
    AudienceGrant.objects.create(user=user, audience=shop.audience, role=role)
    return user


def _url(shop):  # noqa: ANN001, ANN202
    return reverse("metrics:topics", args=[shop.audience.slug])


def test_a_viewer_sees_the_figures_but_no_comment_and_nothing_is_audited(  # noqa: ANN201
    shop,
    client,
    django_user_model,  # noqa: ANN001
):
    client.force_login(_user(django_user_model, shop, Role.VIEWER, "viewer"))
    page = client.get(_url(shop), {"q": "kargo"})
    html = page.content.decode()
    assert page.status_code == 200
    assert page.context["found"] is None
    assert len(page.context["report"].rows) == 2
    assert 'id="xm-search-role"' in html
    assert "kargom çok geç geldi" not in html
    assert not AuditLog.objects.exists()


def test_an_analyst_searches_comments_and_the_reading_is_audited(shop, client, django_user_model):  # noqa: ANN001
    client.force_login(_user(django_user_model, shop, Role.ANALYST, "analyst"))
    page = client.get(_url(shop), {"q": "teslimatlar"})
    found = page.context["found"]
    assert found.total > 0
    assert all("teslimat" in r["text"] for r in found.rows)
    assert all(r["topics"] for r in found.rows)
    log = AuditLog.objects.get()
    assert log.action == "responses_viewed" and "teslimatlar" in log.detail["query"]


def test_the_page_reads_in_a_bounded_number_of_queries(  # noqa: ANN201
    shop,
    client,
    django_user_model,
    django_assert_max_num_queries,  # noqa: ANN001
):
    client.force_login(_user(django_user_model, shop, Role.ANALYST, "analyst"))
    client.get(_url(shop))  # warm the session
    # Session, user, user and group permissions, grants, audience, surveys, sentiment models,
    # questions, topics, the topics' sums per month, the sums per month; the search: matching
    # ids, their facts and texts, their topics; the audit row.
    with django_assert_max_num_queries(16):
        client.get(_url(shop), {"q": "kargo"})
    for _ in range(3):  # more comments cost no more queries
        seed_and_process(shop, theme_specs(52, {"d": TR_DELIVERY}, 10, "tr"))
    with django_assert_max_num_queries(16):
        client.get(_url(shop), {"q": "kargo"})


def test_an_outsiders_audience_is_not_found(shop, client, django_user_model):  # noqa: ANN001
    other = build_world("partners")
    user = django_user_model.objects.create_user("other", password="x", is_staff=True)
    AudienceGrant.objects.create(user=user, audience=other.audience, role=Role.MANAGER)
    client.force_login(user)
    assert client.get(_url(shop)).status_code == 404


def test_bad_filters_fall_back_to_the_default_view(shop, client, xm_manager):  # noqa: ANN001
    client.force_login(xm_manager)
    page = client.get(_url(shop), {"from": "2026-02-30", "language": "de", "survey": "x"})
    assert page.status_code == 200
    assert page.context["filter_errors"]
    assert page.context["survey"] == shop.survey


def test_the_topics_csv(shop, client, xm_manager):  # noqa: ANN001
    client.force_login(xm_manager)
    response = client.get(_url(shop), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0] == "topic,label,terms,n,share,sentiment,score,nps_effect,shown"
    assert len(lines) == 3 and all(line.endswith(",1") for line in lines[1:])


def test_an_audience_without_free_text_questions_says_so(client, xm_manager):  # noqa: ANN001
    world = build_world("fans")
    world.questions["comment"].delete()
    client.force_login(xm_manager)
    page = client.get(reverse("metrics:topics", args=["fans"]))
    assert 'id="xm-no-text"' in page.content.decode()


def test_the_admin_merges_topics_and_their_comments_follow(shop, client, xm_manager):  # noqa: ANN001
    client.force_login(xm_manager)
    first, second = Topic.objects.filter(active=True).order_by("pk")
    comments = set(CommentTopic.objects.values_list("comment_id", flat=True))
    response = client.post(
        reverse("admin:comments_topic_changelist"),
        {"action": "merge_topics", "_selected_action": [first.pk, second.pk]},
    )
    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.pinned and first.active and not second.active
    assert second.merged_into_id == first.pk
    assert set(first.comment_links.values_list("comment_id", flat=True)) == comments


def test_the_admin_adds_a_keyword_topic_and_renames_one(shop, client, xm_manager):  # noqa: ANN001
    client.force_login(xm_manager)
    add = client.post(
        reverse("admin:comments_topic_add"),
        {
            "survey": shop.survey.pk,
            "question": shop.questions["comment"].pk,
            "label": "Hasar",
            "keywords": "hasarlı, kırık",
            "active": "on",
        },
    )
    assert add.status_code == 302, add.context and add.context["adminform"].errors
    rule = Topic.objects.get(label="Hasar")
    assert rule.source == "rule" and rule.comment_links.exists()
    topic = Topic.objects.filter(source="discovered").first()
    client.post(
        reverse("admin:comments_topic_change", args=[topic.pk]),
        {"label": "Teslimat", "keywords": "", "active": "on"},
    )
    topic.refresh_from_db()
    assert topic.label == "Teslimat" and topic.pinned


def test_an_analyst_of_another_audience_sees_none_of_these_topics(  # noqa: ANN201
    shop,
    client,
    django_user_model,  # noqa: ANN001
):
    other = build_world("partners")
    user = django_user_model.objects.create_user("other", password="x", is_staff=True)
    AudienceGrant.objects.create(user=user, audience=other.audience, role=Role.ANALYST)
    client.force_login(user)
    page = client.get(reverse("admin:comments_topic_changelist"))
    assert page.status_code == 200
    assert page.context["cl"].result_count == 0


def test_the_page_and_the_api_only_read(shop, client, xm_manager, api_key_for):  # noqa: ANN001
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(xm_manager)
    api = api_key_for(shop)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(_url(shop)).status_code == 200
        assert client.get(_url(shop), {"format": "csv"}).status_code == 200
        response = api.get("/api/v1/topics/", {"survey": shop.survey.pk, "question": "comment"})
        assert response.status_code == 200
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        and "django_session" not in q["sql"]
        and "api_apikey" not in q["sql"]
    ]
    assert writes == []
