"""Branding per audience, overridable per survey (audiences.branding): the contrast rules, the
admin forms, the merge, the thank-you call to action, the page's CSP and its query count."""

import re
import struct
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from audiences.admin import AudienceAdminForm
from audiences.branding import (
    FONT_STACKS,
    PAGE_BACKGROUNDS,
    Brand,
    Font,
    brand_merge,
    contrast_ratio,
    logo_store,
    ring_colour,
    validate_brand_colour,
)
from surveys.admin.forms_builder import SurveyAdminForm
from surveys.models import InvitationState
from tests.factories import make_audience
from tests.surveys.test_hosted_support import (
    add_question,
    invite,
    make_survey,
    public_link,
    url,
)

pytestmark = pytest.mark.django_db


def png(width: int = 120, height: int = 40, rgb: tuple[int, int, int] = (11, 92, 173)) -> bytes:
    """A solid-colour PNG, written by hand (the project has no imaging library)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\0" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def branded_audience(**extra):  # noqa: ANN003, ANN201
    audience = make_audience(extra.pop("slug", "customers"))
    for name, value in {
        "brand_logo": logo_store(data=png()),
        "brand_colour": "#7a1f5c",
        "brand_font": Font.SERIF,
        "brand_cta_text": "Back to the shop",
        "brand_cta_url": "https://shop.example.com/thanks",
        **extra,
    }.items():
        setattr(audience, name, value)
    audience.save()
    return audience


def test_contrast_math_and_the_colour_refusal():
    # WCAG's own reference points.
    assert round(contrast_ratio("#000000", "#ffffff"), 2) == 21.0
    assert round(contrast_ratio("#ffffff", "#ffffff"), 2) == 1.0
    assert round(contrast_ratio("#767676", "#ffffff"), 2) == 4.54
    assert round(contrast_ratio("#777777", "#ffffff"), 2) == 4.48

    for colour in ["#0b5cad", "#767676", "#7a1f5c", "#000000", "", "#1B5E20"]:
        validate_brand_colour(colour)  # accepted, upper case too
    refused = {
        "#ffcc00": "The colour #ffcc00 has a contrast of 1.5:1 against white text; choose one "
        "of at least 4.5:1.",
        # Rounded down: it misses 4.5, so it must not read as 4.5.
        "#777777": "The colour #777777 has a contrast of 4.4:1 against white text; choose one "
        "of at least 4.5:1.",
        "#fff": "Give the colour as # and six hexadecimal digits, e.g. #0b5cad.",
        "red; } body { display: none": "Give the colour as # and six hexadecimal digits, "
        "e.g. #0b5cad.",
    }
    for colour, message in refused.items():
        with pytest.raises(ValidationError) as refusal:
            validate_brand_colour(colour)
        assert refusal.value.messages == [message]


def test_the_focus_ring_and_derived_colours_keep_their_contrast():
    """For the platform's colour, dark and just-passing brand colours, and one whose ring
    would not keep 3:1 (a forced, invalid-for-saving light colour)."""
    for colour in ["#0b5cad", "#767676", "#7a1f5c", "#1b5e20", "#000000", "#d0d0d0"]:
        ring = ring_colour(colour)
        for background in PAGE_BACKGROUNDS:
            assert contrast_ratio(ring, background) >= 3.0, (colour, background)
        variables = Brand(colour=colour).css_variables()
        assert variables["--focus"] == ring
        assert contrast_ratio(variables["--brand-text"], PAGE_BACKGROUNDS[1]) >= 4.5
        assert contrast_ratio(variables["--brand-dark"], variables["--brand-soft"]) >= 4.5
    assert ring_colour("#7a1f5c") == "#7a1f5c"  # derived from the brand when it keeps 3:1
    assert ring_colour("#d0d0d0") == "#1b1f24"  # else the fallback


def test_the_admin_forms_refuse_a_low_contrast_colour_and_a_bad_logo():
    audience = make_audience("customers")
    base = {
        "name": audience.name,
        "slug": audience.slug,
        "kind": audience.kind,
        "owner": audience.owner_id,
        "priority": 100,
        "anonymity_threshold": 5,
    }
    cases = [
        # (colour box, colour, logo, field with an error, its message)
        (
            "on",
            "#FFCC00",
            None,
            "brand_colour",
            "The colour #ffcc00 has a contrast of 1.5:1 against white text; choose one of "
            "at least 4.5:1.",
        ),
        (
            "",
            "#ffcc00",  # the box is not ticked: no colour of its own, nothing to refuse
            SimpleUploadedFile("logo.svg", b"<svg onload='alert(1)'/>", "image/svg+xml"),
            "logo",
            "Upload the logo as a PNG, JPEG or WebP image (SVG is not accepted).",
        ),
        (
            "",
            "",
            SimpleUploadedFile("logo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (206 * 1024 - 8)),
            "logo",
            "The logo is 206 KB; upload one of at most 200 KB.",
        ),
    ]
    for use, colour, logo, field, message in cases:
        data = {**base, "brand_colour_0": use, "brand_colour_1": colour}
        form = AudienceAdminForm(data, {"logo": logo} if logo else {}, instance=audience)
        assert not form.is_valid()
        assert form.errors[field] == [message]

    # The same refusal on the survey builder's form.
    form = SurveyAdminForm({"brand_colour_0": "on", "brand_colour_1": "#ffcc00"})
    assert not form.is_valid()
    assert form.errors["brand_colour"] == [cases[0][4]]

    data = {
        **base,
        "brand_colour_0": "on",
        "brand_colour_1": "#7A1F5C",
        "brand_font": "serif",
        "brand_cta_text": "Back to the shop",
        "brand_cta_url": "https://shop.example.com/",
        "brand_redirect_seconds": "10",
    }
    form = AudienceAdminForm(data, {"logo": SimpleUploadedFile("l.png", png())}, instance=audience)
    assert form.is_valid(), form.errors
    form.save()
    audience.refresh_from_db()
    assert (audience.brand_colour, audience.brand_font, audience.brand_redirect_seconds) == (
        "#7a1f5c",
        "serif",
        10,
    )
    assert audience.brand_logo.content_type == "image/png"
    assert bytes(audience.brand_logo.data) == png()

    # A link that is not http(s), a button text or seconds without a link.
    for extra, field, message in [
        (
            {"brand_cta_url": "javascript:alert(1)"},
            "brand_cta_url",
            "Give a web address starting with https:// (or http://).",
        ),
        ({"brand_cta_url": ""}, "brand_cta_url", "Give the link the thank-you button leads to."),
    ]:
        form = AudienceAdminForm({**data, **extra}, instance=audience)
        assert not form.is_valid()
        assert form.errors[field] == [message]


def test_the_survey_brand_is_merged_over_the_audience_brand():
    audience = branded_audience()
    survey = make_survey(audience=audience)
    assert brand_merge(override=survey, base=audience) == Brand(
        logo=audience.brand_logo_id,
        colour="#7a1f5c",
        font="serif",
        cta_text="Back to the shop",
        cta_url="https://shop.example.com/thanks",
    )
    own_logo = logo_store(data=png(rgb=(0, 0, 0)))
    survey.brand_logo, survey.brand_colour, survey.brand_font = own_logo, "#1b5e20", ""
    survey.brand_cta_url, survey.brand_redirect_seconds = "https://example.org/", 8
    # Each part on its own; the call to action whole (no audience button text on its link).
    assert brand_merge(override=survey, base=audience) == Brand(
        logo=own_logo.pk,
        colour="#1b5e20",
        font="serif",
        cta_text="",
        cta_url="https://example.org/",
        redirect_seconds=8,
    )
    assert Brand(font="serif").font_stack == FONT_STACKS[Font.SERIF]
    assert Brand().css_variables() == {}


def test_a_branded_hosted_page_keeps_its_queries_csp_and_h1(client, django_assert_num_queries):
    audience = branded_audience()
    survey = make_survey(audience=audience, brand_colour="#1b5e20")
    add_question(survey, "nps", "nps")
    invitation, token = invite(survey, state=InvitationState.SENT)
    public_link(survey)
    client.get(url(token))  # opened: the next GET only reads

    # 1 the invitation with its survey and audience (their brands), 2 the questions
    with django_assert_num_queries(2):
        page = client.get(url(token))
    # 1 the link with its survey and audience, 2 the questions, 3 the browser's response
    with django_assert_num_queries(3):
        public = client.get("/p/visit-qr/")

    for response in (page, public, client.get(f"{url(token)}optout/")):
        html = response.content.decode()
        policy = response.headers["Content-Security-Policy"]
        directives = {
            part.strip().split(" ", 1)[0]: part.strip() for part in policy.split(";") if part
        }
        nonce = re.search(r'<style nonce="([^"]+)">', html).group(1)
        assert directives["style-src"] == f"style-src 'self' 'nonce-{nonce}'"
        assert "unsafe-inline" not in policy
        assert directives["script-src"] == "script-src 'self'"
        # The survey's colour over the audience's, the audience's font and logo.
        assert "--brand: #1b5e20;" in html
        assert f"--font: {FONT_STACKS[Font.SERIF]};" in html
        assert f'src="/s/logo/{audience.brand_logo_id}/"' in html
        assert re.findall(r"<h1[^>]*>(.*?)</h1>", html) == ["Ziyaretiniz"]

    # A page without a brand has no <style> and no nonce.
    plain = make_survey(audience=make_audience("plain"), name="Plain")
    add_question(plain, "nps", "nps")
    _, plain_token = invite(plain, external_id="p-2")
    response = client.get(url(plain_token))
    assert "<style" not in response.content.decode()
    assert "nonce" not in response.headers["Content-Security-Policy"]


def test_the_thank_you_page_offers_only_the_configured_link(client):
    audience = branded_audience(brand_redirect_seconds=6)
    survey = make_survey(audience=audience)
    add_question(survey, "nps", "nps", required=False)
    _, token = invite(survey)
    client.post(url(token), {"page": "1", "lang": "en", "q-nps": "9"})

    for query in ["", "&next=https://evil.example/", "&url=https://evil.example/&cta=x"]:
        html = client.get(f"{url(token)}?done=1&lang=en{query}").content.decode()
        assert re.findall(r"<h1[^>]*>(.*?)</h1>", html) == ["Your visit"]
        assert '<h2 id="message-heading">Thanks a lot!</h2>' in html
        assert (
            '<a class="button" id="cta" href="https://shop.example.com/thanks" '
            'data-redirect-seconds="6">Back to the shop</a>'
        ) in html
        assert "In 6 seconds you will be taken to shop.example.com." in html
        assert "evil" not in html

    # Without seconds: the button, no countdown; without a link: no button.
    audience.brand_redirect_seconds = None
    audience.save()
    html = client.get(f"{url(token)}?done=1&lang=en").content.decode()
    assert 'href="https://shop.example.com/thanks">Back to the shop</a>' in html
    assert "data-redirect-seconds" not in html and "redirect-note" not in html
    audience.brand_cta_url, audience.brand_cta_text = "", ""
    audience.save()
    assert 'id="cta"' not in client.get(f"{url(token)}?done=1&lang=en").content.decode()


def test_the_logo_is_served_as_an_image_only(client):
    logo = logo_store(data=png())
    response = client.get(f"/s/logo/{logo.pk}/")
    assert response.status_code == 200
    assert response.content == png()
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert "immutable" in response.headers["Cache-Control"]
    assert logo_store(data=png()).pk == logo.pk  # stored once per content
    for missing in ["0" * 64, "not-a-digest", logo.pk.upper()]:
        assert client.get(f"/s/logo/{missing}/").status_code == 404


def test_the_admin_pages_show_the_branding_fieldsets(client, xm_manager):
    client.force_login(xm_manager)
    audience = branded_audience()
    survey = make_survey(audience=audience)

    page = client.get(f"/admin/audiences/audience/{audience.pk}/change/").content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert re.search(r'<h2[^>]*class="fieldset-heading">Branding</h2>', page)
    assert 'type="checkbox" name="brand_colour_0"' in page
    assert 'type="color" name="brand_colour_1" value="#7a1f5c"' in page
    assert "A logo is set; upload another to replace it." in page

    page = client.get(f"/admin/surveys/survey/{survey.pk}/change/").content.decode()
    # The builder's Branding section is collapsed (a <details>, no script needed).
    assert re.search(r"<details><summary>\s*<h2[^>]*>Branding</h2>", page)
    assert "Empty fields take the audience's brand." in page
    assert '<option value="" selected>The audience&#x27;s</option>' in page
