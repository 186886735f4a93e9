"""Rate limits on the hosted survey pages: per link, per address, per miss; 429 with Retry-After.

Counters live in Django's cache: local memory on SQLite, Redis in the PostgreSQL pass (where
these same tests show the 429s through Redis's atomic INCR).
"""

import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from redis.exceptions import ConnectionError as RedisConnectionError

from surveys.models import Response
from tests.hardening.conftest import FIXED_NOW
from tests.surveys.test_hosted_support import (  # noqa: F401 - plain_static_files is autouse
    invite,
    plain_static_files,
    public_link,
    three_page_survey,
    url,
)
from xmplatform.core import ratelimit
from xmplatform.core.ratelimit import Limit, Rate

pytestmark = pytest.mark.django_db


def neighbour(address: str) -> str:
    """Another address in the same /24 (test addresses never end in .255)."""
    return address.rsplit(".", 1)[0] + ".255"


def get(client, path: str, address: str, **extra):  # noqa: ANN001, ANN003, ANN201
    return client.get(path, REMOTE_ADDR=address, **extra)


def test_invitation_page_answers_429_after_the_link_limit(client, limits, address) -> None:  # noqa: ANN001
    _, token = invite(three_page_survey(), language="en")

    statuses = [get(client, url(token), address).status_code for _ in range(3)]
    refused = get(client, url(token), address, HTTP_ACCEPT_LANGUAGE="en")

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    # The window is an hour and FIXED_NOW sits half-way through it.
    assert refused.headers["Retry-After"] == str(3600 - int(FIXED_NOW) % 3600) == "1800"
    html = refused.content.decode()
    assert "Please wait a moment" in html
    assert "Please try again in 1800 seconds." in html
    assert refused.headers["Content-Language"] == "en"
    assert "no-store" in refused.headers["Cache-Control"]
    assert "Content-Security-Policy" in refused.headers


def test_one_busy_link_does_not_block_another(client, limits, address) -> None:  # noqa: ANN001
    survey = three_page_survey()
    _, busy = invite(survey, external_id="p-1")
    _, other = invite(survey, external_id="p-2")
    for _ in range(3):
        get(client, url(busy), address)

    assert get(client, url(busy), address).status_code == 429
    assert get(client, url(other), address).status_code == 200


def test_address_limit_covers_every_link(client, limits, address) -> None:  # noqa: ANN001
    survey = three_page_survey()
    tokens = [invite(survey, external_id=f"p-{i}")[1] for i in range(6)]

    statuses = [get(client, url(token), address).status_code for token in tokens]

    assert statuses == [200, 200, 200, 200, 200, 429]


def test_link_limit_counts_every_address(client, limits, address) -> None:  # noqa: ANN001
    _, token = invite(three_page_survey())
    addresses = [address, neighbour(address), "192.0.2.1", "192.0.2.2"]
    statuses = [get(client, url(token), a).status_code for a in addresses]

    assert statuses == [200, 200, 200, 429]


def test_refused_submit_stores_nothing(client, limits, address) -> None:  # noqa: ANN001
    invitation, token = invite(three_page_survey())
    for _ in range(3):
        get(client, url(token), address)

    refused = client.post(url(token), {"page": 1, "q-nps": "3"}, REMOTE_ADDR=address)

    assert refused.status_code == 429
    assert not Response.objects.filter(invitation=invitation).exists()
    invitation.refresh_from_db()
    assert invitation.responded_at is None


def test_unknown_links_block_the_address_before_any_lookup(
    client, limits, address, django_assert_num_queries
) -> None:  # noqa: ANN001
    _, token = invite(three_page_survey())
    bogus = secrets.token_urlsafe(24)  # 32 characters, like a real token
    misses = [get(client, url(bogus), address).status_code for _ in range(3)]

    # Refused from the cache alone: the token is not even looked up.
    with django_assert_num_queries(0):
        refused = get(client, url(token), address)

    assert misses == [404, 404, 404]
    assert refused.status_code == 429
    assert get(client, url(token), neighbour(address)).status_code == 200


def test_opt_out_page_is_limited_per_token(client, limits, address) -> None:  # noqa: ANN001
    _, token = invite(three_page_survey())
    optout = f"/s/{token}/optout/"

    statuses = [get(client, optout, address).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]


def test_public_link_is_limited_per_address(client, limits, address) -> None:  # noqa: ANN001
    public_link(three_page_survey(name="Intercept"), slug="intercept")
    path = "/p/intercept/"

    first = [get(client, path, address).status_code for _ in range(4)]
    other = get(client, path, neighbour(address))

    assert first == [200, 200, 200, 429]
    assert other.status_code == 200


def test_behind_a_proxy_the_forwarded_address_is_limited(client, limits, address, settings) -> None:  # noqa: ANN001
    settings.NUM_PROXIES = 1
    survey = three_page_survey()
    tokens = [invite(survey, external_id=f"p-{i}")[1] for i in range(7)]
    proxy = "127.0.0.1"

    statuses = [
        client.get(
            url(token), REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"203.0.113.7, {address}"
        ).status_code
        for token in tokens[:6]
    ]
    # A spoofed left-most entry does not escape: the proxy's own entry is the one counted.
    spoofed = client.get(
        url(tokens[6]), REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"198.51.100.1, {address}"
    )

    assert statuses == [200, 200, 200, 200, 200, 429]
    assert spoofed.status_code == 429


def test_switched_off_limits_never_refuse(client, limits, address, settings) -> None:  # noqa: ANN001
    settings.RATE_LIMIT_ENABLED = False
    _, token = invite(three_page_survey())

    assert {get(client, url(token), address).status_code for _ in range(6)} == {200}


def test_a_cache_outage_lets_respondents_through(
    client, limits, address, monkeypatch, caplog
) -> None:  # noqa: ANN001
    _, token = invite(three_page_survey())

    def down(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(ratelimit.cache, "incr", down)
    monkeypatch.setattr(ratelimit.cache, "get", down)
    # On Redis the hosted pages count with one script through the pool: no connection either.
    monkeypatch.setattr(redis.ConnectionPool, "get_connection", down)

    statuses = [get(client, url(token), address).status_code for _ in range(5)]

    assert statuses == [200] * 5
    assert "the cache is unavailable" in caplog.text


def test_counter_is_exact_under_concurrent_hits(limits) -> None:  # noqa: ANN001
    ident = secrets.token_hex(8)
    rate = Rate(100, 3600)

    with ThreadPoolExecutor(max_workers=8) as pool:
        waits = list(pool.map(lambda _: ratelimit.hit("test", ident, rate), range(160)))

    assert waits.count(None) == 100
    assert set(waits) - {None} == {1800}


def test_all_limits_of_a_request_are_applied_together_and_exactly(limits) -> None:  # noqa: ANN001
    ident = secrets.token_hex(8)
    request = (Limit("test-a", ident, Rate(100, 3600)), Limit("test-b", ident, Rate(1000, 3600)))

    with ThreadPoolExecutor(max_workers=8) as pool:
        waits = list(pool.map(lambda _: ratelimit.hit_all(*request), range(160)))

    assert waits.count(None) == 100
    assert set(waits) - {None} == {1800}
    # The refused requests stopped at the first limit: the second counted the 100 let through.
    assert ratelimit.exceeded("test-b", ident, Rate(100, 3600)) == 1800
    assert ratelimit.exceeded("test-b", ident, Rate(101, 3600)) is None


def test_a_read_only_limit_is_never_counted(limits) -> None:  # noqa: ANN001
    ident = secrets.token_hex(8)
    misses = Limit("test-miss", ident, Rate(2, 3600), counts=False)

    assert [ratelimit.hit_all(misses) for _ in range(5)] == [None] * 5
    ratelimit.hit("test-miss", ident, Rate(2, 3600))
    ratelimit.hit("test-miss", ident, Rate(2, 3600))
    assert ratelimit.hit_all(misses, Limit("test-ip", ident, Rate(5, 3600))) == 1800
    assert ratelimit.exceeded("test-ip", ident, Rate(1, 3600)) is None  # not reached, not counted


def test_a_hosted_page_counts_its_limits_in_one_redis_round_trip(
    client, limits, address, monkeypatch
) -> None:  # noqa: ANN001
    if not settings.REDIS_URL:
        pytest.skip("the PostgreSQL + Redis pass checks the Redis cache")
    _, token = invite(three_page_survey())
    get(client, url(token), address)  # the script is loaded into Redis once
    commands: list[str] = []
    execute = redis.Redis.execute_command

    def counted(self, *args, **options):  # noqa: ANN001, ANN002, ANN003, ANN202
        commands.append(args[0])
        return execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counted)

    assert get(client, url(token), address).status_code == 200
    assert commands == ["EVALSHA"]


def test_production_counts_in_redis() -> None:
    if not settings.REDIS_URL:
        pytest.skip("the PostgreSQL + Redis pass checks the Redis cache")
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    key = f"rl-probe-{secrets.token_hex(4)}"
    cache.add(key, 0, timeout=10)
    assert cache.incr(key) == 1


@pytest.mark.parametrize(
    ("text", "rate"),
    [("600/m", Rate(600, 60)), ("30/10m", Rate(30, 600)), ("5 / h", Rate(5, 3600)), ("off", None)],
)
def test_rates_are_read_from_settings_text(text: str, rate: Rate | None) -> None:
    assert ratelimit.parse_rate(text, setting="X") == rate


@pytest.mark.parametrize("text", ["600", "0/m", "ten/m", "5/w"])
def test_a_bad_rate_fails_with_a_message(text: str) -> None:
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match=r"X=.* is not a rate\. Write requests"):
        ratelimit.parse_rate(text, setting="X")
