"""The builder's phone preview wears the brand the hosted pages would: the survey's over its
audience's, as CSS in a nonced <style> under a strict style-src, the logo in the header and the
thank-you call to action; the form's unsaved Branding fields are followed."""

import re

import pytest
from django.urls import reverse

from audiences.branding import FONT_STACKS, Font, logo_store
from tests.factories import make_audience
from tests.hosted.test_branding import branded_audience, png
from tests.surveys.test_admin_builder import existing_rows, question_rows, survey_post
from tests.surveys.test_admin_support import PLAIN_STATIC, survey_with_questions

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    settings.STORAGES = PLAIN_STATIC


@pytest.fixture
def admin_client(client, xm_manager):
    client.force_login(xm_manager)
    return client


def preview_url(survey) -> str:  # noqa: ANN001
    return reverse("admin:surveys_survey_builder_preview", args=[survey.pk])


def style_src(response) -> str:  # noqa: ANN001
    policy = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy
    return next(p.strip() for p in policy.split(";") if p.strip().startswith("style-src"))


def test_the_preview_wears_the_audience_brand_under_a_strict_policy(admin_client):
    audience = branded_audience(brand_redirect_seconds=6)
    survey = survey_with_questions(audience, thank_you={"en": "Thanks a lot!"})

    response = admin_client.get(f"{preview_url(survey)}?lang=en")

    html = response.content.decode()
    nonce = re.search(r'<style nonce="([^"]+)">:root \{ --brand: #7a1f5c; ', html).group(1)
    assert style_src(response) == f"style-src 'self' 'nonce-{nonce}'"
    assert f"--font: {FONT_STACKS[Font.SERIF]};" in html
    assert (
        f'<header class="pv-top"><img class="pv-logo" src="/s/logo/{audience.brand_logo_id}/" '
        'alt=""><p class="pv-brand">Your visit</p></header>'
    ) in html
    assert '<span title="https://shop.example.com/thanks">Back to the shop</span>' in html
    assert "In 6 seconds you will be taken to shop.example.com." in html
    assert '<progress class="pv-progress" max="2" value="1"' in html


def test_the_surveys_own_brand_wins_over_its_audiences(admin_client):
    audience = branded_audience()
    own_logo = logo_store(data=png(rgb=(0, 0, 0)))
    survey = survey_with_questions(
        audience,
        brand_logo=own_logo,
        brand_colour="#1b5e20",
        brand_cta_text="Home",
        brand_cta_url="https://example.org/",
    )

    html = admin_client.get(f"{preview_url(survey)}?lang=en").content.decode()

    assert "--brand: #1b5e20;" in html and "#7a1f5c" not in html
    assert f"--font: {FONT_STACKS[Font.SERIF]};" in html  # the audience's: the survey has none
    assert f'src="/s/logo/{own_logo.pk}/"' in html
    assert audience.brand_logo_id not in html
    # No thank-you text of its own: the page's "Thank you!" above the survey's button.
    assert '<p>Thank you!</p>\n<p class="pv-cta"><span title="https://example.org/">Home' in html
    assert "shop.example.com" not in html and "pv-cta-note" not in html


def test_the_preview_follows_the_unsaved_branding_fields(admin_client):
    audience = branded_audience()
    survey = survey_with_questions(audience)
    form = {**survey_post(survey), **question_rows(existing_rows(survey), initial=3)}
    edited = {
        "brand_colour_0": "on",
        "brand_colour_1": "#1B5E20",
        "brand_font": Font.GEOMETRIC,
        "brand_cta_text": "",
        "brand_cta_url": "example.org/next",
        "brand_redirect_seconds": "",
        "logo_clear": "on",
    }

    html = admin_client.post(f"{preview_url(survey)}?lang=en", {**form, **edited}).json()["html"]

    assert "--brand: #1b5e20;" in html
    assert f"--font: {FONT_STACKS[Font.GEOMETRIC]};" in html
    assert '<span title="https://example.org/next">Continue</span>' in html
    # Removing the survey's logo (it has none) leaves the audience's.
    assert f'src="/s/logo/{audience.brand_logo_id}/"' in html

    # A colour the form would refuse, the box left unticked, a half-typed link: the audience's.
    for refused in (
        {"brand_colour_1": "#ffcc00"},
        {"brand_colour_0": "", "brand_colour_1": "#1b5e20"},
    ):
        html = admin_client.post(preview_url(survey), {**form, **edited, **refused}).json()["html"]
        assert "--brand: #7a1f5c;" in html, refused
    html = admin_client.post(
        preview_url(survey), {**form, **edited, "brand_cta_url": "https://"}
    ).json()["html"]
    assert 'title="https://shop.example.com/thanks">Back to the shop' in html


def test_an_unbranded_surveys_preview_has_no_style_logo_or_nonce(admin_client):
    survey = survey_with_questions(make_audience("plain"))
    form = {**survey_post(survey), **question_rows(existing_rows(survey), initial=3)}

    saved = admin_client.get(f"{preview_url(survey)}?lang=en")
    posted = admin_client.post(f"{preview_url(survey)}?lang=en", form).json()["html"]

    for html in (saved.content.decode(), posted):
        assert "<style" not in html and "pv-logo" not in html and "pv-cta" not in html
        assert '<header class="pv-top"><p class="pv-brand">Your visit</p></header>' in html
    assert style_src(saved) == "style-src 'self'"
