"""The survey builder in a real browser: template → draft → per-language inputs → preview."""

import pytest

from surveys.models import Survey
from tests.factories import make_audience
from tests.surveys.test_admin_support import PLAIN_STATIC

PASSWORD = "correct-horse-battery"


def _log_in(page, base_url: str, username: str) -> None:  # noqa: ANN001
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_builder_creates_a_survey_from_a_template(
    live_server, desktop_page, settings, xm_manager, tmp_path
):
    settings.STORAGES = PLAIN_STATIC
    audience = make_audience()
    page = desktop_page
    _log_in(page, live_server.url, xm_manager.username)

    page.goto(f"{live_server.url}/admin/surveys/survey/")
    page.click("#xm-from-template")
    page.select_option("#id_template", "relationship_nps")
    page.select_option("#id_audience", str(audience.pk))
    page.click("#xm-from-template-form input[type=submit]")
    page.wait_for_selector("#xm-estimate")
    page.screenshot(path=str(tmp_path / "builder.png"), full_page=True)

    survey = Survey.objects.get()
    assert page.url == f"{live_server.url}/admin/surveys/survey/{survey.pk}/change/"
    # The builder says what respondents are told, from the same estimate.
    assert page.inner_text("#xm-estimate").strip() == (
        "Estimated completion time: 1:17 (min:s). Invitations and the survey's first page "
        "tell respondents: “It takes about 1 minute.”"
    )
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


def _choose(page, field: str, typed: str, text: str) -> None:  # noqa: ANN001
    """A related object picked by its name from the field's search box."""
    page.locator(f"#id_{field} + .select2 .select2-selection").click()
    page.locator(".select2-search__field").fill(typed)
    page.locator(".select2-results__option", has_text=text).first.click()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_rule_form_shows_the_section_of_the_chosen_kind(
    live_server, desktop_page, settings, xm_manager, tmp_path
):
    from tests.factories import make_touchpoint

    settings.STORAGES = PLAIN_STATIC
    audience = make_audience()
    touchpoint = make_touchpoint(audience, slug="ticket-closed")
    survey = Survey.objects.create(audience=audience, name="Ticket CSAT")
    page = desktop_page
    _log_in(page, live_server.url, xm_manager.username)
    page.goto(f"{live_server.url}/admin/surveys/distributionrule/add/")
    trigger, wave = page.locator("fieldset.xm-rule-trigger"), page.locator("fieldset.xm-rule-wave")
    assert page.input_value("#id_channels") == "email, sms"  # the model's default order

    page.select_option("#id_kind", "wave")
    assert (trigger.is_visible(), wave.is_visible()) == (False, True)
    page.select_option("#id_schedule", "daily")
    page.select_option("#id_kind", "trigger")
    assert (trigger.is_visible(), wave.is_visible()) == (True, False)

    # A schedule left in the hidden wave section is refused, and the section shows its error.
    _choose(page, "survey", "Ticket", survey.name)
    page.fill("#id_name", "Ticket CSAT trigger")
    _choose(page, "touchpoint", "ticket", touchpoint.name)
    page.click("input[name=_save]")
    page.wait_for_selector(".errornote")
    page.screenshot(path=str(tmp_path / "rule-form.png"), full_page=True)

    assert (trigger.is_visible(), wave.is_visible()) == (True, True)
    assert "only waves are scheduled" in wave.inner_text()
    assert page.locator(".errorlist").all_inner_texts() == [
        "Touchpoint triggers run on events; only waves are scheduled."
    ]
    assert survey.distribution_rules.count() == 0
