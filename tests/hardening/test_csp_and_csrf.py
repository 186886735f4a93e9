"""Content-Security-Policy on every page, no inline script anywhere, CSRF on every form."""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from audiences.models import Consent, ConsentStatus
from surveys.models import Response
from tests.factories import make_audience, make_touchpoint
from tests.surveys.test_hosted_support import (  # noqa: F401 - plain_static_files is autouse
    invite,
    plain_static_files,
    public_link,
    three_page_survey,
    url,
)

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
# A script element without src is inline code, unless it is a JSON data block (json_script):
# browsers never run those, and script-src does not apply to them.
INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*\btype=\"application/json\")[^>]*>", re.IGNORECASE
)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE)


def policy(response) -> dict[str, list[str]]:  # noqa: ANN001
    header = response.headers["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


def assert_no_inline_code(html: str) -> None:
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html)
    assert not EVENT_HANDLER.search(html), EVENT_HANDLER.search(html)


def test_hosted_pages_send_a_strict_policy_and_carry_no_inline_code(client) -> None:  # noqa: ANN001
    survey = three_page_survey()
    public_link(survey)
    _, token = invite(survey, language="en")
    pages = [
        client.get(url(token)),
        client.post(url(token), {"page": 1, "lang": "en"}),  # the page again, with errors
        client.get(f"/s/{token}/optout/"),
        client.get("/p/visit-qr/"),
        client.get(url("y" * 32)),  # not found
    ]

    assert [p.status_code for p in pages] == [200, 200, 200, 200, 404]
    for page in pages:
        directives = policy(page)
        assert directives["default-src"] == ["'self'"]
        assert directives["script-src"] == ["'self'"]
        assert directives["style-src"] == ["'self'"]
        assert directives["object-src"] == ["'none'"]
        assert directives["base-uri"] == ["'none'"]
        assert directives["frame-ancestors"] == ["'none'"]
        assert directives["form-action"] == ["'self'"]
        html = page.content.decode()
        assert_no_inline_code(html)
        assert not STYLE_ATTRIBUTE.search(html), STYLE_ATTRIBUTE.search(html)


def test_hosted_templates_have_no_inline_script_or_style() -> None:
    for template in sorted((ROOT / "templates" / "surveys").glob("*.html")):
        text = template.read_text()
        assert not INLINE_SCRIPT.search(text), template
        assert not EVENT_HANDLER.search(text), template
        assert not STYLE_ATTRIBUTE.search(text), template


CHANGELISTS = [
    "audiences_audience",
    "audiences_person",
    "audiences_membership",
    "audiences_consent",
    "journeys_journey",
    "journeys_touchpointevent",
    "surveys_survey",
    "surveys_response",
    "surveys_invitation",
    "surveys_distributionrule",
]


def admin_pages(client, xm_manager) -> list[str]:  # noqa: ANN001
    """The admin index, every changelist, and the custom pages with forms."""
    survey = three_page_survey()
    touchpoint = make_touchpoint(survey.audience)
    client.force_login(xm_manager)
    paths = ["/admin/", reverse("metrics:index")]
    paths += [reverse(f"admin:{name}_changelist") for name in CHANGELISTS]
    paths += [
        reverse("admin:surveys_survey_change", args=[survey.pk]),
        reverse("admin:surveys_survey_add"),
        reverse("admin:surveys_survey_from_template"),
        reverse("admin:journeys_journey_change", args=[touchpoint.stage.journey_id]),
        reverse("admin:audiences_audience_import_people", args=[survey.audience_id]),
        reverse("admin:surveys_distribution_panel", args=[survey.pk]),
        reverse("admin:surveys_distribution_fatigue"),
        reverse("admin:surveys_distribution_unknown"),
        reverse("metrics:audience", args=[survey.audience.slug]),
    ]
    return paths


def test_admin_scripts_are_as_strict_and_only_styles_are_relaxed(client, xm_manager) -> None:  # noqa: ANN001
    for path in admin_pages(client, xm_manager):
        page = client.get(path)
        assert page.status_code == 200, path
        directives = policy(page)
        assert directives["script-src"] == ["'self'"], path
        assert directives["style-src"] == ["'self'", "'unsafe-inline'"], path
        assert directives["frame-ancestors"] == ["'none'"], path
        assert_no_inline_code(page.content.decode())


def test_every_post_form_in_our_templates_has_a_csrf_token() -> None:
    for template in sorted((ROOT / "templates").rglob("*.html")):
        text = template.read_text()
        if not re.search(r"<form[^>]*method=\"post\"", text, re.IGNORECASE):
            continue
        if template.name == "optout.html" or template.parts[-3:] == (
            "metrics",
            "reports",
            "unsubscribe.html",
        ):
            # Deliberately exempt: the token in the link is the credential, and mail clients
            # post one-click unsubscribes without a session (RFC 8058).
            assert "{% csrf_token %}" not in text
            continue
        if template.name == "kiosk.html":
            # The kiosk device's SameSite cookie is the credential (another site's post does
            # not carry it), and a submission queued offline is sent long after its page.
            assert "{% csrf_token %}" not in text
            continue
        assert "{% csrf_token %}" in text, template


def test_hosted_submit_without_the_csrf_token_is_refused() -> None:
    invitation, token = invite(three_page_survey())
    strict = Client(enforce_csrf_checks=True)
    page = strict.get(url(token))
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()

    refused = strict.post(url(token), {"page": 1, "q-nps": "3"})

    assert refused.status_code == 403
    assert not Response.objects.filter(invitation=invitation).exists()
    # A polite page in the page frame, not Django's technical one.
    assert "This page has expired" in refused.content.decode()
    assert "CSRF verification failed" not in refused.content.decode()


def test_hosted_submit_with_the_csrf_token_goes_through() -> None:
    invitation, token = invite(three_page_survey())
    strict = Client(enforce_csrf_checks=True)
    strict.get(url(token))

    csrf = strict.cookies["csrftoken"].value
    accepted = strict.post(url(token), {"page": 1, "q-nps": "3", "csrfmiddlewaretoken": csrf})

    assert accepted.status_code == 302
    assert Response.objects.filter(invitation=invitation).count() == 1


def test_one_click_opt_out_needs_no_csrf_token() -> None:
    invitation, token = invite(three_page_survey())

    done = Client(enforce_csrf_checks=True).post(f"/s/{token}/optout/")

    assert done.status_code == 200
    assert set(
        Consent.objects.filter(person=invitation.person).values_list("status", flat=True)
    ) == {ConsentStatus.WITHDRAWN}


@pytest.mark.parametrize(
    "name",
    [
        "admin:audiences_audience_import_people",
        "admin:surveys_distribution_panel",
        "admin:surveys_distribution_unknown",
        "admin:surveys_survey_from_template",
    ],
)
def test_admin_posts_without_the_csrf_token_are_refused(xm_manager, name: str) -> None:  # noqa: ANN001
    survey = three_page_survey(audience=make_audience("staff", kind="employee"))
    args = {
        "admin:audiences_audience_import_people": [survey.audience_id],
        "admin:surveys_distribution_panel": [survey.pk],
    }.get(name, [])
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(xm_manager)

    refused = strict.post(reverse(name, args=args), {"send_test": "1", "decision": "sent"})

    assert refused.status_code == 403
