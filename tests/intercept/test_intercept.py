"""The website intercept: who is asked (decide), what may frame the survey, the script, the
admin, and what a site holding the secret can learn about people (nothing beyond "shown")."""

import gzip
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

from audiences.models import AudienceKind, Channel, Role
from audiences.services import grant_set
from surveys.distribution import fatigue
from surveys.distribution.ondemand import invitation_request
from surveys.intercept.models import InterceptSite, normalize_origin
from surveys.intercept.services import signature_for
from surveys.models import ContactLedger, Invitation, InvitationState, Response
from tests.factories import make_audience, make_membership, make_person, make_user
from tests.intercept.support import SHOP, decide, make_site, member, nps_survey
from tests.surveys.test_hosted_support import make_survey

pytestmark = pytest.mark.django_db

PAGE_URL = re.compile(r"^http://testserver/intercept/(pk_[\w-]+)/s/([\w-]{32})/\?lang=(en|tr)$")


def test_decide_answers_each_kind_of_visitor_as_the_rules_say():
    survey = nps_survey()
    site = make_site(survey)
    member(survey, "c-1")
    tired = member(survey, "c-2")
    other = nps_survey(name="Other")
    invitation_request(survey=other, person=tired, channel=Channel.API)  # min_gap from now
    client = Client()

    # Unknown key: 404, nothing else looked at.
    response = client.post("/intercept/pk_nope/decide", data="{}", content_type="text/plain")
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_site"

    # An origin the site does not allow (or none): refused, and unreadable to the page.
    for origin in ("https://evil.example.com", "http://shop.example.com", ""):
        response = decide(Client(), site, origin=origin)
        assert response.status_code == 403, origin
        assert response.json()["error"] == "origin_not_allowed"
        assert "Access-Control-Allow-Origin" not in response.headers

    # The preflight of an allowed origin.
    response = client.options(f"/intercept/{site.public_key}/decide", HTTP_ORIGIN=SHOP)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert response.headers["Access-Control-Allow-Methods"] == "POST"

    # Anonymous visitor: the public link, through a ticket; no invitation.
    response = decide(client, site)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert "no-store" in response.headers["Cache-Control"]
    answer = response.json()
    assert answer["show"] is True and answer["display"] == "modal"
    assert answer["close_label"] == "Close the survey"
    assert PAGE_URL.match(answer["url"]).group(1) == site.public_key
    assert "Set-Cookie" not in response.headers and not response.cookies
    assert Invitation.objects.count() == 1  # the other survey's only

    # A signed member: a web invitation through the guard, the same one when asked again.
    first = decide(client, site, user="c-1", lang="tr").json()
    with translation.override("tr"):  # Turkish ("Anketi kapat") once the catalogue has it
        assert first["show"] is True and first["close_label"] == gettext("Close the survey")
    token = PAGE_URL.match(first["url"]).group(2)
    invitation = Invitation.objects.get(survey=survey, person__external_id="c-1")
    assert (invitation.channel, invitation.state) == (Channel.WEB, InvitationState.SENT)
    assert ContactLedger.objects.filter(invitation=invitation).count() == 1
    assert decide(client, site, user="c-1", lang="tr").json()["url"] == first["url"]
    assert Invitation.objects.filter(survey=survey).count() == 1
    page = client.get(f"/intercept/{site.public_key}/s/{token}/")
    assert page.status_code == 200
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.OPENED

    # A member the guard refuses: "no", one suppressed row, and none again for a day.
    for _ in range(3):
        assert decide(client, site, user="c-2").json()["show"] is False
    refused = Invitation.objects.get(survey=survey, person=tired)
    assert (refused.state, refused.suppression_reason) == ("suppressed", fatigue.MIN_GAP)

    # Bad signatures: refused before anything is looked up or written.
    before = Invitation.objects.count()
    for kwargs in (
        {"user": "c-1", "signature": "0" * 64},
        {"user": "c-1", "signature": signature_for(secret="sk_other", external_id="c-1")},
        {"user": "c-1", "signature": ""},
        {"signature": signature_for(secret=site.secret, external_id="c-1")},
        {"user": "x" * 129},
    ):
        response = decide(client, site, **kwargs)
        assert response.status_code == 403, kwargs
        assert response.json()["error"] == "bad_signature"
        assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert decide(client, site, raw=b"not json").status_code == 400
    assert decide(client, site, raw=b"[1]").json()["error"] == "bad_request"
    assert Invitation.objects.count() == before

    # Sampling 0: nobody; an inactive site or a closed survey: nobody.
    for change in ({"sampling_rate": 0.0}, {"active": False}):
        reset = {"sampling_rate": 1.0, "active": True}
        InterceptSite.objects.filter(pk=site.pk).update(**{**reset, **change})
        site.refresh_from_db()
        assert decide(client, site).json()["show"] is False, change
        assert decide(client, site, user="c-1").json() == {
            "show": False,
            "url": None,
            "display": "modal",
            "close_label": "Close the survey",
            "title_label": "Survey",
        }
    assert Invitation.objects.count() == before


def test_the_framed_page_is_framable_only_by_the_surveys_sites_and_needs_no_cookie():
    survey = nps_survey()
    site = make_site(survey, allowed_origins=[SHOP, "http://localhost:8000"])
    make_site(survey, name="App", allowed_origins=["https://app.example.com"])
    make_site(survey, name="Old", allowed_origins=["https://old.example.com"], active=False)
    elsewhere = make_site(nps_survey(name="Elsewhere"), allowed_origins=["https://b.example"])
    member(survey, "c-1")
    client = Client(enforce_csrf_checks=True)
    anonymous = decide(client, site).json()["url"].removeprefix("http://testserver")
    named = decide(client, site, user="c-1").json()["url"].removeprefix("http://testserver")

    for url in (anonymous, named):
        response = client.get(url)
        assert response.status_code == 200
        assert "X-Frame-Options" not in response.headers
        policy = response.headers["Content-Security-Policy"]
        assert (
            "frame-ancestors http://localhost:8000 https://app.example.com "
            "https://shop.example.com" in policy
        )
        # Answered with no cookie and no CSRF token, as a cross-site frame posts.
        posted = Client(enforce_csrf_checks=True).post(url, {"page": "1", "q-nps": "9"})
        assert posted.status_code == 302, posted.content[:300]
    assert Response.objects.filter(survey=survey, completed_on__isnull=False).count() == 2
    assert Response.objects.get(invitation__person__external_id="c-1").channel == Channel.WEB

    # A ticket of one site does not open another site's page; other pages stay unframable.
    ticket = anonymous.split("/")[4]
    assert client.get(f"/intercept/{elsewhere.public_key}/s/{ticket}/").status_code == 404
    assert client.get(f"/intercept/{site.public_key}/s/{'A' * 32}/").status_code == 404
    token = named.split("/")[4]
    regular = client.get(f"/s/{token}/")
    assert regular.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in regular.headers["Content-Security-Policy"]


def test_the_script_is_small_cacheable_and_served_at_a_stable_url():
    client = Client()
    response = client.get("/intercept.js", HTTP_ACCEPT_ENCODING="gzip, br")
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert len(response.content) < 10 * 1024
    assert b"data-site" in gzip.decompress(response.content)
    assert response.headers["Cache-Control"] == "public, max-age=86400"
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    again = client.get("/intercept.js", HTTP_IF_NONE_MATCH=response.headers["ETag"])
    assert again.status_code == 304
    assert client.get("/intercept.js").content.startswith(b"/* xmplatform")


def test_origins_are_exact_and_validated_when_saved():
    assert normalize_origin("HTTPS://Shop.Example.com:443/") == "https://shop.example.com"
    assert normalize_origin("http://localhost:8000") == "http://localhost:8000"
    assert normalize_origin("https://[::1]:8443") == "https://[::1]:8443"
    for bad in (
        "shop.example.com",
        "https://*.example.com",
        "https://a.com/path",
        "ftp://a.com",
        "https://user@a.com",
        "https://a.com?x=1",
        "javascript:alert(1)",
        "",
    ):
        with pytest.raises(ValidationError):
            normalize_origin(bad)
    survey = nps_survey()
    site = make_site(survey, allowed_origins=["https://A.example.com/", "https://a.example.com"])
    site.full_clean()
    assert site.allowed_origins == ["https://a.example.com"]
    site.allowed_origins = ["https://a.example.com/checkout"]
    with pytest.raises(ValidationError) as error:
        site.full_clean()
    assert "is not an origin" in str(error.value)
    site.allowed_origins = ["https://a.example.com"]
    site.survey = make_survey(audience=make_audience("staff", AudienceKind.EMPLOYEE))
    with pytest.raises(ValidationError):
        site.full_clean()


def test_admin_shows_sites_and_their_snippet_to_the_audiences_managers_only():
    customers_survey = nps_survey()
    site = make_site(customers_survey)
    staff = make_audience("staff", AudienceKind.EMPLOYEE)
    root = make_user("root", is_staff=True, is_superuser=True)
    cast = {}
    for name, audience, role in (
        ("cx.manager", customers_survey.audience, Role.MANAGER),
        ("cx.analyst", customers_survey.audience, Role.ANALYST),
        ("hr.manager", staff, Role.MANAGER),
    ):
        user = make_user(name)
        grant_set(user=user, audience=audience, role=role, actor=root)
        cast[name] = Client()
        cast[name].force_login(user)
    change = f"/admin/surveys/interceptsite/{site.pk}/change/"
    page = cast["cx.manager"].get(change)
    assert page.status_code == 200
    text = page.content.decode()
    assert f"data-site=&quot;{site.public_key}&quot;" in text and site.secret in text
    assert "hmac.new(SITE_SECRET.encode()" in text
    listing = cast["cx.manager"].get("/admin/surveys/interceptsite/").content.decode()
    assert site.name in listing
    for name in ("cx.analyst", "hr.manager"):
        assert cast[name].get(change).status_code in (302, 403, 404), name
        assert site.secret not in cast[name].get("/admin/surveys/interceptsite/").content.decode()
    # The manager of the employees cannot point a site at the customers' survey.
    added = cast["hr.manager"].post(
        "/admin/surveys/interceptsite/add/",
        {
            "name": "Sneaky",
            "audience": customers_survey.audience.pk,
            "survey": customers_survey.pk,
            "allowed_origins": "https://evil.example.com",
            "sampling_rate": "1",
            "display": "modal",
            "active": "on",
        },
    )
    assert not InterceptSite.objects.filter(name="Sneaky").exists(), added.status_code
    # Origins one per line are validated with a message naming the bad one.
    posted = cast["cx.manager"].post(
        "/admin/surveys/interceptsite/add/",
        {
            "name": "New",
            "audience": customers_survey.audience.pk,
            "survey": customers_survey.pk,
            "allowed_origins": "https://ok.example.com\nhttps://bad.example.com/path",
            "sampling_rate": "0.5",
            "display": "slide_in",
            "active": "on",
        },
    )
    assert posted.status_code == 200
    assert "https://bad.example.com/path is not an origin" in posted.content.decode()


def test_a_site_holding_the_secret_cannot_probe_who_exists_or_who_answered():
    """The attacker is the site's own backend: it can sign any external id."""
    survey = nps_survey()
    site = make_site(survey)
    member(survey, "c-1")
    staff = make_audience("staff", AudienceKind.EMPLOYEE)
    employee = make_person("e-1")
    make_membership(employee, staff)  # an employee, not a customer
    client = Client()

    def probe(user: str) -> dict:
        return decide(client, site, user=user).json()

    # A member, an employee of another audience and nobody: the same shape of answer, each
    # link as stable as the member's, and nothing written for the two who are no members.
    answers = {user: probe(user) for user in ("c-1", "e-1", "nobody")}
    shapes = {
        user: (a["show"], sorted(a), len(PAGE_URL.match(a["url"]).group(2)))
        for user, a in answers.items()
    }
    assert len(set(map(repr, shapes.values()))) == 1, shapes
    for user, answer in answers.items():
        assert probe(user) == answer, user
    assert not Invitation.objects.filter(person=employee).exists()
    assert list(Invitation.objects.values_list("person__external_id", flat=True)) == ["c-1"]

    # A wrong signature reads the same whoever the id names.
    refusals = {
        user: decide(client, site, user=user, signature="f" * 64).content
        for user in ("c-1", "e-1", "nobody")
    }
    assert len(set(refusals.values())) == 1

    # A refused member reads exactly like a visitor who was not sampled: no reason, no id.
    tired = member(survey, "c-2")
    invitation_request(survey=nps_survey(name="Other"), person=tired, channel=Channel.API)
    suppressed = probe("c-2")
    InterceptSite.objects.filter(pk=site.pk).update(sampling_rate=0.0)
    site.refresh_from_db()
    assert suppressed == probe("c-1") == probe("nobody")

    # An anonymous survey's site looks nobody up: an employee who answered the pulse and one
    # who did not are answered alike, with public-link tickets, and get no invitation.
    pulse = nps_survey(audience=staff, name="Pulse", anonymous=True)
    intranet = make_site(pulse, allowed_origins=[SHOP])
    answered = make_person("e-2")
    make_membership(answered, staff)
    for person in (employee, answered):
        invitation_request(survey=pulse, person=person, channel=Channel.API)
    sent_at = Invitation.objects.get(person=answered).sent_at
    Invitation.objects.filter(person=answered).update(
        state=InvitationState.RESPONDED, responded_at=sent_at
    )
    count = Invitation.objects.count()
    first, second = (decide(client, intranet, user=u).json() for u in ("e-1", "e-2"))
    assert first["show"] is second["show"] is True
    assert first["url"] != second["url"] and sorted(first) == sorted(second)
    assert Invitation.objects.count() == count
    assert json.dumps(first).count("e-1") == 0


def test_the_demo_page_embeds_the_site_this_origin_may_use_for_staff_or_in_debug(settings):
    survey = nps_survey()
    site = make_site(survey, allowed_origins=["http://testserver"])
    member(survey, "c-1")
    settings.DEBUG = False
    assert Client().get("/intercept/demo/").status_code == 404
    staff = Client()
    staff.force_login(make_user("staffer", is_staff=True))
    page = staff.get("/intercept/demo/?user=c-1")
    assert page.status_code == 200
    text = page.content.decode()
    signature = signature_for(secret=site.secret, external_id="c-1")
    assert f'data-site="{site.public_key}" data-user="c-1" data-signature="{signature}"' in text
    assert site.secret not in text


def test_the_demo_seed_makes_one_site_for_the_checkout_survey_and_keeps_it():
    from surveys.intercept.demo import DEMO_ORIGINS, DEMO_SURVEY, seed_intercept

    assert seed_intercept() is None  # no demo survey yet: nothing
    survey = make_survey(audience=make_audience(), name=DEMO_SURVEY)
    site = seed_intercept()
    assert (site.survey, site.allowed_origins, site.sampling_rate) == (survey, DEMO_ORIGINS, 1.0)
    assert survey.public_link.active
    assert seed_intercept() == site and InterceptSite.objects.count() == 1


def test_decide_is_throttled_per_site_and_address_and_key_guessing_is_slowed(settings):
    from django.core.cache import cache

    from xmplatform.core.ratelimit import Rate

    cache.clear()
    settings.RATE_LIMIT_ENABLED = True
    settings.HOSTED_RATE_LIMITS = {
        "ip": Rate(100, 60),
        "link": Rate(2, 60),
        "miss": Rate(2, 3600),
    }
    site = make_site(nps_survey())
    client = Client()
    assert [decide(client, site).status_code for _ in range(3)] == [200, 200, 429]
    refused = decide(client, site)
    assert refused.json()["error"] == "too_many_requests" and int(refused["Retry-After"]) > 0
    assert refused.headers["Access-Control-Allow-Origin"] == SHOP
    guesses = [client.post(f"/intercept/pk_guess{n}/decide").status_code for n in range(3)]
    assert guesses == [404, 404, 429]
    cache.clear()


def test_decide_reads_few_rows_and_a_new_secret_refuses_old_signatures(
    django_assert_num_queries,
):
    survey = nps_survey()
    site = make_site(survey)
    member(survey, "c-1")
    client = Client()
    first = decide(client, site, user="c-1").json()["url"]
    # The site; the public link.
    with django_assert_num_queries(2):
        assert decide(client, site).json()["show"] is True
    # The site; the member; their open web invitation.
    with django_assert_num_queries(3):
        assert decide(client, site, user="c-1").json()["url"] == first

    old = site.secret
    manager = make_user("cx.manager")
    grant_set(user=manager, audience=survey.audience, role=Role.MANAGER, actor=None)
    staff = Client()
    staff.force_login(manager)
    listing = "/admin/surveys/interceptsite/"
    done = staff.post(listing, {"action": "new_secrets", "_selected_action": [site.pk]})
    assert done.status_code == 302
    site.refresh_from_db()
    assert site.secret != old and site.secret.startswith("sk_")
    stale = signature_for(secret=old, external_id="c-1")
    refused = decide(client, site, user="c-1", signature=stale)
    assert refused.status_code == 403
    assert decide(client, site, user="c-1").json()["url"] == first
