"""The survey's "branding" object in the authoring API: the admin's checks, by field path."""

from audiences.branding import logo_store
from surveys.models import Survey
from tests.hosted.test_branding import png


def test_branding_is_written_read_and_refused_like_the_admin(api, world):
    survey = world.employee_survey  # any survey of the key's audiences
    Survey.objects.filter(pk=survey.pk).update(title={"tr": "Nabız", "en": "Pulse"})
    path = f"/api/v1/surveys/{survey.pk}/"
    assert api.get(path).json()["branding"] == {
        "colour": "",
        "font": "",
        "cta_text": "",
        "cta_url": "",
        "redirect_seconds": None,
        "logo": None,
    }

    refused = [
        (
            {"colour": "#ffcc00"},
            "branding.colour",
            "The colour #ffcc00 has a contrast of 1.5:1 against white text; choose one of at "
            "least 4.5:1.",
        ),
        ({"colour": 11}, "branding.colour", "Give a text, or an empty one for the audience's."),
        (
            {"font": "Comic Sans"},
            "branding.font",
            "Choose one of: system, humanist, geometric, serif, rounded.",
        ),
        (
            {"cta_url": "javascript:alert(1)"},
            "branding.cta_url",
            "Give a web address starting with https:// (or http://).",
        ),
        ({"cta_text": "Go"}, "branding.cta_url", "Give the link the thank-you button leads to."),
        (
            {"cta_url": "https://x.example/", "redirect_seconds": 1},
            "branding.redirect_seconds",
            "Ensure this value is greater than or equal to 5.",
        ),
        (
            {"logo": "https://elsewhere.example/logo.png"},
            "branding.logo",
            "Upload a logo in the admin; here only null (remove the logo) is taken.",
        ),
        (
            {"css": "body{}"},
            "branding.css",
            "Unknown field; branding has: colour, cta_text, cta_url, font, logo, redirect_seconds.",
        ),
    ]
    for branding, field, message in refused:
        response = api.patch(path, {"branding": branding}, format="json")
        assert response.status_code == 400, branding
        assert response.json()[field] == [message]
    assert Survey.objects.get(pk=survey.pk).brand_colour == ""  # nothing was written

    logo = logo_store(data=png())
    Survey.objects.filter(pk=survey.pk).update(brand_logo=logo)
    wanted = {
        "colour": "#1B5E20",
        "font": "serif",
        "cta_text": "Back to the shop",
        "cta_url": "https://shop.example.com/",
        "redirect_seconds": 10,
    }
    response = api.patch(path, {"branding": wanted}, format="json")
    assert response.status_code == 200, response.json()
    got = response.json()["branding"]
    assert got == {**wanted, "colour": "#1b5e20", "logo": got["logo"]}
    assert got["logo"].endswith(f"/s/logo/{logo.pk}/")
    # What GET returned, sent back, changes nothing; "" and null give parts back.
    assert api.patch(path, {"branding": got}, format="json").json()["branding"] == got
    cleared = {"colour": "", "cta_url": "", "cta_text": "", "redirect_seconds": None, "logo": None}
    response = api.patch(path, {"branding": cleared}, format="json")
    assert response.json()["branding"] == {**cleared, "font": "serif"}
