"""Cases by their person, title and notes; scoped; each links to the person's timeline."""

import pytest

from metrics.models import Case
from tests.search.support import analyst, case_for, member, two_audiences

pytestmark = pytest.mark.django_db

CASES = "/admin/metrics/case/"


def listed(client, query: str) -> list[str]:
    page = client.get(CASES, {"q": query})
    assert page.status_code == 200
    return sorted(c.title for c in page.context["cl"].result_list)


@pytest.fixture
def world():
    customers, employees = two_audiences()
    baris = member("c-1", customers, name="Barış Yılmaz", phone="+90 532 111 22 33")
    case_for(customers, title="NPS 3: call back", person=baris, notes=("Kargo gecikmiş, aradım",))
    case_for(customers, title="CSAT 1: kırık ürün")
    case_for(employees, title="eNPS 2: onboarding", person=member("e-1", employees, name="Ayşe"))
    return customers, employees


def test_cases_are_found_by_person_title_and_notes(client, xm_manager, world):
    client.force_login(xm_manager)

    assert listed(client, "BARIS") == ["NPS 3: call back"]
    assert listed(client, "532 111") == ["NPS 3: call back"]
    assert listed(client, "c-1") == ["NPS 3: call back"]
    assert listed(client, "KIRIK") == ["CSAT 1: kırık ürün"]
    assert listed(client, "gecikmis") == ["NPS 3: call back"]
    assert listed(client, "onboard") == ["eNPS 2: onboarding"]


def test_an_analyst_finds_only_their_audiences_cases(client, world):
    customers, _employees = world
    client.force_login(analyst("cx-analyst", customers))

    assert listed(client, "ayse") == []
    assert listed(client, "onboard") == []
    assert listed(client, "baris") == ["NPS 3: call back"]


def test_case_list_and_page_link_to_the_persons_timeline(client, xm_manager, world):
    client.force_login(xm_manager)
    case = Case.objects.get(title="NPS 3: call back")
    timeline = f"/admin/audiences/person/{case.person_id}/timeline/"

    assert f'href="{timeline}"' in client.get(CASES).content.decode()
    assert f'href="{timeline}"' in client.get(f"{CASES}{case.pk}/change/").content.decode()
