"""The builder's survey settings beyond its texts: presentation and the name per language."""

import pytest

from surveys.models import Survey
from tests.factories import make_audience
from tests.surveys.test_admin_builder import ADD, NPS_ROW, question_rows, survey_data

pytestmark = pytest.mark.django_db


def test_builder_sets_the_presentation_and_the_name_per_language(admin_client):
    audience = make_audience()
    data = survey_data(
        audience,
        presentation="pages",
        name_translations_tr="Mağaza ziyareti",
        name_translations_en="",
    )

    page = admin_client.post(ADD, {**data, **question_rows([NPS_ROW])})

    assert page.status_code == 302, page.context and page.context["errors"]
    survey = Survey.objects.get()
    assert (survey.presentation, survey.name_translations) == ("pages", {"tr": "Mağaza ziyareti"})
    form = admin_client.get(f"/admin/surveys/survey/{survey.pk}/change/").content.decode()
    assert 'name="presentation"' in form and 'value="Mağaza ziyareti"' in form
