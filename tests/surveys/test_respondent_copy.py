"""What respondents read: thanked once, the NPS ends labelled once, and one stated duration —
the builder's estimate — in the invitation e-mail, on the survey's first page and in the
builder."""

import importlib
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import translation

from surveys.catalog import TEMPLATES
from surveys.distribution import sending
from surveys.models import Question, QuestionType
from surveys.selectors import duration_sentence, estimated_minutes, survey_estimated_seconds
from tests.surveys.distribution_factories import NOW, make_invitation
from tests.surveys.test_hosted_support import (
    add_question,
    invite,
    make_survey,
    plain_static_files,  # noqa: F401 - autouse: pages render without a static manifest
    three_page_survey,
    url,
)

pytestmark = pytest.mark.django_db


def _heading(html: str) -> str:
    return re.search(r'<h2 id="message-heading">(.*?)</h2>', html, re.S).group(1)


def _lead(html: str) -> str:
    found = re.search(r'<p class="lead">(.*?)</p>', html, re.S)
    return found.group(1) if found else ""


def _finish(client, survey, token: str, **answers):  # noqa: ANN001, ANN003, ANN202
    """Answer a one-page NPS survey; returns the thank-you page's HTML."""
    done = client.post(url(token), {"page": "1", "q-nps": "9", **answers}, follow=True)
    assert done.status_code == 200
    return done.content.decode()


# --- The thank-you page ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "Thanks a lot!"), ("tr", "Çok teşekkürler!")],
)
def test_the_thank_you_page_says_the_surveys_own_thanks_once(client, language, text):
    survey = make_survey()
    add_question(survey, "nps", QuestionType.NPS)
    _inv, token = invite(survey, language=language)
    page = _finish(client, survey, token)
    assert _heading(page) == text
    assert _lead(page) == ""
    assert page.count("Thank you") + page.count("Teşekkür ederiz") == 0
    assert page.lower().count(text.lower()) == 2  # the heading and the browser tab's title


def test_a_longer_thank_you_text_heads_the_page_with_its_first_line(client):
    survey = make_survey(
        thank_you={"en": "Thank you!\nWe read every answer and reply within a week."}
    )
    add_question(survey, "nps", QuestionType.NPS)
    _inv, token = invite(survey, language="en")
    page = _finish(client, survey, token)
    assert (_heading(page), _lead(page)) == (
        "Thank you!",
        "We read every answer and reply within a week.",
    )
    assert page.count("Thank you!") == 2  # the heading and the title, never a second heading


def test_a_survey_without_a_thank_you_text_gets_the_plain_thanks(client):
    survey = make_survey(thank_you={})
    add_question(survey, "nps", QuestionType.NPS)
    _inv, token = invite(survey, language="en")
    page = _finish(client, survey, token)
    assert (_heading(page), _lead(page)) == ("Thank you!", "Your answers have been recorded.")


def test_coming_back_after_answering_names_that_and_thanks_once(client):
    survey = make_survey()
    add_question(survey, "nps", QuestionType.NPS)
    _inv, token = invite(survey, language="en")
    _finish(client, survey, token)
    again = client.get(url(token) + "?lang=en").content.decode()
    assert (_heading(again), _lead(again)) == (
        "You have already answered this survey",
        "Thanks a lot!",
    )


# --- NPS end labels --------------------------------------------------------------------------


def test_the_nps_ends_are_labelled_once_and_read_with_the_question(client):
    survey = make_survey()
    add_question(survey, "nps", QuestionType.NPS)
    _inv, token = invite(survey, language="en")
    page = client.get(url(token) + "?lang=en").content.decode()
    assert page.lower().count("not at all likely") == 1
    assert page.lower().count("extremely likely") == 1
    ends = re.search(r'<p class="scale-ends" id="([^"]+)">', page).group(1)
    described = re.search(r'<fieldset [^>]*aria-describedby="([^"]+)"', page).group(1)
    assert ends in described.split()  # screen readers hear the ends with the question


def test_the_catalogues_nps_questions_carry_no_help_that_repeats_the_ends():
    for template in TEMPLATES.values():
        for question in template.questions:
            if question.type == QuestionType.NPS:
                assert not question.help, template.key


def test_the_migration_drops_only_the_catalogues_repeated_ends():
    migration = importlib.import_module("surveys.migrations.0013_nps_help_said_once")
    survey = make_survey()
    old = add_question(survey, "nps", QuestionType.NPS, help=migration.OLD_CATALOGUE_HELP)
    english = add_question(
        survey, "nps_en", QuestionType.NPS, help={"en": migration.OLD_CATALOGUE_HELP["en"]}
    )
    edited = add_question(
        survey, "nps2", QuestionType.NPS, help={"en": "Think of the last three months."}
    )
    text = add_question(survey, "why", QuestionType.TEXT, help=migration.OLD_CATALOGUE_HELP)
    from django.apps import apps

    migration.drop_repeated_ends(apps, None)
    helps = dict(Question.objects.values_list("pk", "help"))
    assert (helps[old.pk], helps[english.pk]) == ({}, {})
    assert helps[edited.pk] == {"en": "Think of the last three months."}
    assert helps[text.pk] == migration.OLD_CATALOGUE_HELP  # not an NPS question


# --- One stated duration ---------------------------------------------------------------------


def test_the_duration_is_the_builders_estimate_rounded_to_minutes():
    assert [estimated_minutes(s) for s in (0, 20, 89, 90, 149, 150, 400)] == [1, 1, 1, 2, 2, 3, 7]
    with translation.override("en"):
        assert duration_sentence(51) == "It takes about 1 minute."
        assert duration_sentence(150) == "It takes about 3 minutes."
    with translation.override("tr"):
        assert duration_sentence(150) == "Yaklaşık 3 dakika sürer."


def _long_survey():  # noqa: ANN202
    """3:06 by the builder's estimate: told as 3 minutes everywhere."""
    survey = three_page_survey()
    for i in range(3):
        add_question(survey, f"story{i}", QuestionType.TEXT, page=3, order=10 + i, multiline=True)
    return survey


def test_the_email_the_first_page_and_the_builder_state_the_same_duration(client, admin_client):
    survey = _long_survey()
    seconds = survey_estimated_seconds(survey=survey)
    assert estimated_minutes(seconds) == 3
    with translation.override("en"):
        told_en = duration_sentence(seconds)
    with translation.override("tr"):
        told_tr = duration_sentence(seconds)
    assert (told_en, told_tr) == ("It takes about 3 minutes.", "Yaklaşık 3 dakika sürer.")

    invitation, token = invite(survey, language="en")
    invitation.due_at = NOW
    invitation.state = "planned"
    invitation.save()
    turkish = make_invitation(survey, invite(survey, external_id="p-2")[0].person, language="tr")
    sending.dispatch_batch(now=NOW)
    bodies = {m.extra_headers["X-Invitation-ID"]: m for m in mail.outbox}
    english_mail, turkish_mail = bodies[str(invitation.id)], bodies[str(turkish.id)]
    assert told_en in english_mail.body and told_en in english_mail.alternatives[0][0]
    assert told_tr in turkish_mail.body and "two minutes" not in english_mail.body

    first = client.get(url(token) + "?lang=en").content.decode()
    assert f'<p class="duration">{told_en}</p>' in first
    first_tr = client.get(url(token) + "?lang=tr").content.decode()
    assert f'<p class="duration">{told_tr}</p>' in first_tr
    client.post(url(token), {"page": "1", "q-nps": "9"})
    second = client.get(url(token) + "?page=2&lang=en").content.decode()
    assert 'class="duration"' not in second  # said once, before the first question

    builder = admin_client.get(
        reverse("admin:surveys_survey_change", args=[survey.pk]), headers={"accept-language": "en"}
    ).content.decode()
    assert f"tell respondents: “{told_en}”" in builder
    assert "Estimated completion time: 3:06 (min:s)." in builder


def test_a_batch_counts_the_estimate_once_per_survey(django_assert_max_num_queries):
    survey = three_page_survey()
    for i in range(5):
        invite(survey, external_id=f"p-{i}", language="en", state="planned")
    from surveys.distribution.channels import email
    from surveys.models import Invitation

    invitations = list(Invitation.objects.select_related("survey", "person"))
    composer = email.Composer()
    with django_assert_max_num_queries(1):  # the questions, for the estimate
        for inv in invitations:
            composer.build(inv)
