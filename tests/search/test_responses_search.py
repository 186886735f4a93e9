"""Responses by the text of their answers: partial words, Turkish letters, and no way around
anonymity (an anonymous survey's text is never found below superuser, nor its count)."""

import pytest

from audiences.models import Role
from tests.search.support import analyst, member, two_audiences
from tests.surveys.test_admin_support import add_response, survey_with_questions

pytestmark = pytest.mark.django_db

RESPONSES = "/admin/surveys/response/"


def listed(client, query: str) -> list[int]:
    page = client.get(RESPONSES, {"q": query})
    assert page.status_code == 200
    return [r.pk for r in page.context["cl"].result_list]


@pytest.fixture
def world():
    customers, employees = two_audiences()
    visit = survey_with_questions(customers, name="Visit")
    pulse = survey_with_questions(employees, name="Pulse", anonymous=True)
    named = survey_with_questions(employees, name="Onboarding")
    late = add_response(
        visit, {"nps": 3, "improve": "Teslimat çok geç geldi"}, person=member("c-1", customers)
    )
    rude = add_response(visit, {"nps": 2, "improve": "The courier was rude"})
    for _ in range(5):
        add_response(pulse, {"nps": 9})
    secret = add_response(pulse, {"nps": 1, "improve": "Yöneticim toplantılarda bağırıyor"})
    laptop = add_response(
        named, {"nps": 6, "improve": "Laptop geç geldi"}, person=member("e-1", employees)
    )
    return {
        "customers": customers,
        "employees": employees,
        "late": late.pk,
        "rude": rude.pk,
        "secret": secret.pk,
        "laptop": laptop.pk,
    }


def test_answers_are_found_by_words_in_part_and_any_case(client, xm_manager, world):
    client.force_login(xm_manager)

    assert listed(client, "teslimat") == [world["late"]]
    assert listed(client, "TESLİMAT") == [world["late"]]
    assert listed(client, "teslim") == [world["late"]]
    assert listed(client, "geç teslimat") == [world["late"]]
    assert listed(client, "courier RUDE") == [world["rude"]]
    assert listed(client, "geç") == [world["laptop"], world["late"]]
    assert listed(client, "nothing-like-this") == []


def test_an_analyst_finds_only_their_audiences_answers(client, world):
    client.force_login(analyst("cx-analyst", world["customers"]))

    assert listed(client, "geç") == [world["late"]]
    assert listed(client, "laptop") == []


def test_hr_insider_cannot_find_an_anonymous_answer_by_its_words(client, world):
    """The HR analyst knows what was said in the meeting and searches for it: nothing, and the
    list of the same query reads exactly as for words nobody wrote."""
    client.force_login(analyst("hr-analyst", world["employees"]))

    assert listed(client, "bağırıyor") == []
    assert listed(client, "Yöneticim") == []
    assert listed(client, "geç") == [world["laptop"]]
    with_secret = client.get(RESPONSES, {"q": "bağırıyor"}).content.decode()
    assert "Yöneticim" not in with_secret
    nothing = client.get(RESPONSES, {"q": "zzzzqqq"}).content.decode()
    assert with_secret.count("<tr") == nothing.count("<tr")


def test_hr_manager_cannot_reach_anonymous_answers_through_search_either(client, world):
    client.force_login(analyst("hr-head", world["employees"], role=Role.MANAGER))

    assert listed(client, "bağırıyor") == []
    assert listed(client, "Yöneticim bağırıyor") == []


def test_only_a_superuser_finds_an_anonymous_answer(client, xm_manager, world):
    client.force_login(xm_manager)

    assert listed(client, "bağırıyor") == [world["secret"]]


def test_response_page_shows_choice_labels_in_the_viewers_language(client, xm_manager, world):
    customers = world["customers"]
    survey = survey_with_questions(customers, name="Checkout")
    response = add_response(survey, {"nps": 3, "reason": "price"}, person=member("c-9", customers))
    client.force_login(xm_manager)

    english = client.get(f"{RESPONSES}{response.pk}/change/", HTTP_ACCEPT_LANGUAGE="en")
    turkish = client.get(f"{RESPONSES}{response.pk}/change/", HTTP_ACCEPT_LANGUAGE="tr")

    assert "<th scope='row'>Main reason</th><td>Price</td>" in english.content.decode()
    assert "<th scope='row'>Ana neden</th><td>Fiyat</td>" in turkish.content.decode()
    assert "<td>price</td>" not in english.content.decode()
