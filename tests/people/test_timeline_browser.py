"""The person search and timeline in a real browser, in Turkish and English, phone and desktop.

A case owner searches the people list for "BARIS" (stored as "Barış"), opens the timeline from
the list and reads it; then finds the case by the person's name and opens the timeline from
the case. Screenshots: people-search-, timeline- and cases-search-<lang>-<device>.png under
$SCREENSHOT_DIR (else a temporary folder).
"""

from typing import Any

import pytest

from tests.people.test_timeline import history, setting
from tests.search.support import member, two_audiences
from tests.support.browser import DEVICES, LOCALES

PASSWORD = "correct-horse-battery"
# The element of the page's content that reaches furthest right, and how far.
WIDEST = """() => {
  let far = null, right = 0;
  for (const el of document.querySelectorAll("#content *")) {
    const r = el.getBoundingClientRect().right;
    if (r > right) { right = r; far = el; }
  }
  return {right: right,
          element: far ? far.tagName + "." + far.className : ""};
}"""

TEXTS = {
    "en": {"timeline": "Timeline", "joined": "Joined Customers", "reason": "Price"},
    "tr": {
        "timeline": "Zaman çizelgesi",
        "joined": "Customers kitlesine katıldı",
        "reason": "Fiyat",
    },
}


def _log_in(page: Any, live_server: Any) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "xm.manager")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#content")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_case_owner_finds_a_person_and_reads_their_timeline(
    open_page, live_server, xm_manager, shots
) -> None:  # noqa: ANN001
    customers, employees = two_audiences()
    person = member(
        "crm-1042",
        customers,
        employees,
        name="Barış Yılmaz",
        email="baris@example.com",
        phone="+90 532 123 45 67",
    )
    member("crm-2001", customers, name="John Walker", email="john@example.com")
    history(person, customers, setting(customers, employees), n=2)

    for lang in LOCALES:
        texts = TEXTS[lang]
        for device in DEVICES:
            page = open_page(lang, device)
            _log_in(page, live_server)
            page.goto(f"{live_server.url}/admin/audiences/person/?q=BARIS")
            rows = page.locator("#result_list tbody tr")
            assert rows.count() == 1
            assert "Barış Yılmaz" in rows.first.inner_text()
            page.screenshot(path=str(shots / f"people-search-{lang}-{device}.png"), full_page=True)

            rows.first.locator("td.field-timeline_link a").click()
            page.wait_for_selector(".xm-person-timeline")
            body = page.inner_text("#content")
            assert texts["joined"] in body
            assert texts["reason"] in body
            assert "Kargo çok geç geldi" in body
            assert "Yöneticim" not in body
            page.screenshot(path=str(shots / f"timeline-{lang}-{device}.png"), full_page=True)
            wide = page.evaluate(WIDEST)
            # The timeline itself fits the screen (the site header is the theme's).
            assert wide["right"] <= DEVICES[device]["viewport"]["width"] + 1, wide

            page.goto(f"{live_server.url}/admin/metrics/case/?q=yilmaz")
            cases = page.locator("#result_list tbody tr")
            assert cases.count() == 2
            page.screenshot(path=str(shots / f"cases-search-{lang}-{device}.png"), full_page=True)
            cases.first.locator("td.field-person_link a").click()
            page.wait_for_selector(".xm-person-timeline")
            page.close()
