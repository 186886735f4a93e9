"""The survey builder in a real browser: template → draft → per-language inputs → preview."""

import pytest

from surveys.models import Survey
from tests.factories import make_audience
from tests.surveys.test_admin_support import PLAIN_STATIC

PASSWORD = "correct-horse-battery"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_builder_creates_a_survey_from_a_template(
    live_server, desktop_page, settings, xm_manager, tmp_path
):
    settings.STORAGES = PLAIN_STATIC
    audience = make_audience()
    page = desktop_page
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", xm_manager.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    page.goto(f"{live_server.url}/admin/surveys/survey/")
    page.click("#xm-from-template")
    page.select_option("#id_template", "relationship_nps")
    page.select_option("#id_audience", str(audience.pk))
    page.click("#xm-from-template-form input[type=submit]")
    page.wait_for_selector("#xm-estimate")
    page.screenshot(path=str(tmp_path / "builder.png"), full_page=True)

    survey = Survey.objects.get()
    assert page.url == f"{live_server.url}/admin/surveys/survey/{survey.pk}/change/"
    assert page.inner_text("#xm-estimate").strip() == "Estimated completion time: 1:17 (min:s)."
    assert page.input_value("input[name=questions-0-label_tr]") == (
        "Bizi bir arkadaşınıza veya iş arkadaşınıza tavsiye etme olasılığınız nedir?"
    )
    assert page.get_attribute("#xm-preview-link", "target") == "_blank"
    with page.context.expect_page() as opened:
        page.click("#xm-preview-link")
    preview = opened.value
    preview.wait_for_load_state()
    assert preview.url.startswith(f"{live_server.url}/s/preview/{survey.pk}/")
    preview.screenshot(path=str(tmp_path / "preview.png"))
