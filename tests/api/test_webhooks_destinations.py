"""Webhook URLs: only http(s) to public addresses, refused at save (admin form, model
validation) and re-checked at every delivery, connecting to the address that was checked.

No test here reaches the network: host names resolve through a fake DNS (`dns`), literal
addresses need no lookup, and the only server posted to is a local one a test starts.
"""

import http.server
import ipaddress
import socket
import threading
from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from tests.support.servers import POLL_SECONDS
from xmplatform.api import destinations, services
from xmplatform.api.destinations import address_internal, validate_webhook_url
from xmplatform.api.models import DeliveryState, Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db

SECRET = "a3f1c0de" * 8

INTERNAL = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
    "224.0.0.251",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.10",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2001:db8::1",
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"]


class FakeDns:
    """Names resolve to what a test sets; anything else does not resolve."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        if host not in self.records:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.records[host]


@pytest.fixture
def dns(monkeypatch) -> FakeDns:  # noqa: ANN001
    fake = FakeDns()
    monkeypatch.setattr(destinations, "resolve", fake)
    return fake


@pytest.fixture(autouse=True)
def _default_refuses_private(settings) -> None:  # noqa: ANN001
    settings.WEBHOOK_ALLOW_PRIVATE = False


class Receiver:
    """A local receiver answering `status` (and a body that must never be kept)."""

    def __init__(self, status: int = 200, reason: str | None = None) -> None:
        self.requests: list[dict] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(dict(self.headers))
                self.send_response(status, reason)
                self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.end_headers()
                self.wfile.write(b"internal: db password hunter2")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(POLL_SECONDS,), daemon=True
        )

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def pending(url: str) -> WebhookDelivery:
    webhook = Webhook.objects.create(name="CRM", url=url, secret=SECRET)
    return WebhookDelivery.objects.create(
        webhook=webhook,
        event="alert.opened",
        object_id=1,
        payload={"event": "alert.opened", "data": {"id": 1}},
        next_attempt_at=timezone.now(),
    )


def attempt(delivery: WebhookDelivery) -> WebhookDelivery:
    services.webhook_delivery_attempt(delivery_id=delivery.pk)
    return WebhookDelivery.objects.get(pk=delivery.pk)


# --- The address rules ------------------------------------------------------------------------


@pytest.mark.parametrize("text", INTERNAL)
def test_internal_addresses_are_internal(text: str) -> None:
    assert address_internal(ipaddress.ip_address(text)) is True


@pytest.mark.parametrize("text", PUBLIC)
def test_public_addresses_are_not(text: str) -> None:
    assert address_internal(ipaddress.ip_address(text)) is False


# --- At save ----------------------------------------------------------------------------------


def add_in_admin(client, url: str):  # noqa: ANN001, ANN201
    return client.post(
        "/admin/api/webhook/add/",
        {
            "name": "CRM",
            "url": url,
            "events": ["response.completed"],
            "active": "on",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )


def test_admin_refuses_a_host_that_resolves_to_a_private_address(client, xm_manager, dns) -> None:  # noqa: ANN001
    dns.records["hooks.corp.example"] = ["93.184.216.34", "10.0.0.5"]
    client.force_login(xm_manager)

    page = add_in_admin(client, "https://hooks.corp.example/xm")

    assert page.status_code == 200
    assert page.context["adminform"].form.errors["url"] == [
        "hooks.corp.example resolves to 10.0.0.5, an internal address (loopback, private, "
        "link-local, multicast or reserved). Webhooks post only to public addresses; "
        "WEBHOOK_ALLOW_PRIVATE=1 allows receivers on your own network."
    ]
    assert Webhook.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://0x7f.1/hook",  # 127.0.0.1 written in hex
        "http://2130706433/hook",  # 127.0.0.1 as one number
    ],
)
def test_literal_and_local_hosts_are_refused_without_dns(url: str) -> None:
    # Real resolution: these never leave the machine (numbers and /etc/hosts).
    with pytest.raises(ValidationError) as refused:
        validate_webhook_url(url)

    assert refused.value.code == "webhook_internal"


@pytest.mark.parametrize(
    "url", ["ftp://files.example.com/x", "file:///etc/passwd", "gopher://example.com/"]
)
def test_only_http_and_https_are_accepted(url: str, dns) -> None:  # noqa: ANN001
    with pytest.raises(ValidationError) as refused:
        validate_webhook_url(url)

    assert refused.value.code == "webhook_scheme"
    assert refused.value.messages == ["Webhook URLs must start with http:// or https://."]
    assert dns.lookups == []


def test_admin_refuses_another_scheme(client, xm_manager, dns) -> None:  # noqa: ANN001
    client.force_login(xm_manager)

    page = add_in_admin(client, "ftp://files.example.com/x")

    assert (
        "Webhook URLs must start with http:// or https://."
        in page.context["adminform"].form.errors["url"]
    )


def test_a_public_host_is_saved(client, xm_manager, dns) -> None:  # noqa: ANN001
    dns.records["hooks.example.com"] = ["93.184.216.34", "2606:2800:220:1::1946"]
    client.force_login(xm_manager)

    page = add_in_admin(client, "https://hooks.example.com/xm")

    assert page.status_code == 302
    assert Webhook.objects.get().url == "https://hooks.example.com/xm"


def test_a_host_that_does_not_resolve_yet_is_saved_and_checked_at_delivery(dns) -> None:  # noqa: ANN001
    validate_webhook_url("https://not-yet.example.com/xm")

    delivery = attempt(pending("https://not-yet.example.com/xm"))

    assert (delivery.state, delivery.status_code, delivery.error) == (
        DeliveryState.PENDING,
        None,
        "Refused: not-yet.example.com could not be resolved.",
    )


def test_private_receivers_are_allowed_on_premise(client, xm_manager, dns, settings) -> None:  # noqa: ANN001
    settings.WEBHOOK_ALLOW_PRIVATE = True
    dns.records["crm.intranet"] = ["10.0.0.5"]
    client.force_login(xm_manager)

    assert add_in_admin(client, "http://crm.intranet/hooks").status_code == 302
    with pytest.raises(ValidationError):
        validate_webhook_url("ftp://crm.intranet/hooks")  # the scheme is still checked


def test_the_refusal_is_translated(dns) -> None:  # noqa: ANN001
    with translation.override("en"), pytest.raises(ValidationError) as english:
        validate_webhook_url("http://10.0.0.1/")
    english_messages = english.value.messages
    with translation.override("tr"), pytest.raises(ValidationError) as turkish:
        validate_webhook_url("http://10.0.0.1/")
    # The message is lazy: read it while Turkish is active, as a form renders it.
    with translation.override("tr"):
        turkish_messages = turkish.value.messages

    assert turkish_messages != english_messages
    assert turkish_messages[0].startswith("10.0.0.1 bir iç ağ adresidir")


def test_model_validation_refuses_it_too(dns) -> None:  # noqa: ANN001
    webhook = Webhook(name="CRM", url="http://192.168.0.10/hook", secret=SECRET)

    with pytest.raises(ValidationError) as refused:
        webhook.full_clean()

    assert [e.code for e in refused.value.error_dict["url"]] == ["webhook_internal"]


# --- At delivery -------------------------------------------------------------------------------


def test_delivery_is_refused_when_dns_now_points_inside(receiver, dns) -> None:  # noqa: ANN001
    # Saved while public; the name now resolves to loopback, where a receiver listens.
    dns.records["hooks.example.com"] = ["93.184.216.34"]
    validate_webhook_url(f"http://hooks.example.com:{receiver.port}/xm")
    dns.records["hooks.example.com"] = ["127.0.0.1"]

    delivery = attempt(pending(f"http://hooks.example.com:{receiver.port}/xm"))

    assert receiver.requests == []
    assert (delivery.state, delivery.attempts, delivery.status_code) == (
        DeliveryState.PENDING,
        1,
        None,
    )
    assert delivery.error == (
        "Refused: hooks.example.com resolves to 127.0.0.1, an internal address (loopback, "
        "private, link-local, multicast or reserved). Webhooks post only to public addresses; "
        "WEBHOOK_ALLOW_PRIVATE=1 allows receivers on your own network."
    )


def test_delivery_is_refused_when_any_address_is_internal(receiver, dns) -> None:  # noqa: ANN001
    dns.records["hooks.example.com"] = ["93.184.216.34", "127.0.0.1"]

    delivery = attempt(pending(f"http://hooks.example.com:{receiver.port}/xm"))

    assert receiver.requests == []
    assert delivery.error.startswith("Refused: hooks.example.com resolves to 127.0.0.1")


def test_a_webhook_saved_before_the_check_is_refused_at_delivery(receiver) -> None:  # noqa: ANN001
    delivery = attempt(pending(f"http://127.0.0.1:{receiver.port}/xm"))

    assert receiver.requests == []
    assert delivery.error.startswith("Refused: 127.0.0.1 is an internal address (loopback")


def test_delivery_connects_to_the_checked_address(receiver, dns, settings) -> None:  # noqa: ANN001
    # On premise (loopback allowed): the name resolves only in the fake DNS, so the post can
    # only arrive if it went to the address that was checked; the Host header keeps the name.
    settings.WEBHOOK_ALLOW_PRIVATE = True
    dns.records["receiver.test"] = ["127.0.0.1"]

    delivery = attempt(pending(f"http://receiver.test:{receiver.port}/xm"))

    assert (delivery.state, delivery.status_code, delivery.error) == (
        DeliveryState.DELIVERED,
        200,
        "",
    )
    assert [r["Host"] for r in receiver.requests] == [f"receiver.test:{receiver.port}"]


@pytest.mark.parametrize(
    ("status", "reason", "kept"),
    [
        (500, "Database at 10.0.0.9 is down", "HTTP 500 Internal Server Error"),
        (404, None, "HTTP 404 Not Found"),
        (302, None, "HTTP 302 Found"),
        (418, "leak", "HTTP 418 I'm a Teapot"),
        (599, "custom", "HTTP 599"),
    ],
)
def test_only_the_status_line_of_a_reply_is_kept(status, reason, kept, settings) -> None:  # noqa: ANN001
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with Receiver(status, reason) as r:
        delivery = attempt(pending(f"http://127.0.0.1:{r.port}/xm"))

    assert (delivery.status_code, delivery.error) == (status, kept)
    assert len(r.requests) == 1  # a redirect is not followed
