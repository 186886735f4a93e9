"""Builders for distribution tests: a live survey, rules, people with histories."""

import datetime

from audiences.models import Audience, Consent, Person
from surveys import tokens
from surveys.models import (
    ContactKind,
    ContactLedger,
    DistributionRule,
    Invitation,
    InvitationState,
    RuleKind,
    Survey,
    SurveyStatus,
)
from tests.factories import make_audience, make_membership, make_person

NOW = datetime.datetime(2026, 3, 10, 12, 0, tzinfo=datetime.UTC)  # 15:00 in Istanbul
DAY = datetime.timedelta(days=1)


def make_survey(audience: Audience, name: str = "Relationship NPS", **extra) -> Survey:  # noqa: ANN003
    extra.setdefault("status", SurveyStatus.LIVE)
    extra.setdefault("title", {"en": name, "tr": name})
    return Survey.objects.create(audience=audience, name=name, **extra)


def make_rule(survey: Survey, kind: str = RuleKind.WAVE, **extra) -> DistributionRule:  # noqa: ANN003
    extra.setdefault("name", f"{survey.name} {kind}")
    extra.setdefault("channels", ["email"])
    return DistributionRule.objects.create(survey=survey, kind=kind, **extra)


def make_invitation(survey: Survey, person: Person | None, **extra) -> Invitation:  # noqa: ANN003
    nonce = tokens.new_nonce()
    extra.setdefault("channel", "email")
    extra.setdefault("due_at", NOW)
    return Invitation.objects.create(
        survey=survey,
        person=person,
        nonce=nonce,
        token_hash=tokens.token_hash(tokens.token_for(nonce)),
        **extra,
    )


def past_contact(survey: Survey, person: Person, at: datetime.datetime) -> Invitation:
    """An invitation that reached `person` at `at` (invitation row + ledger entry)."""
    inv = make_invitation(survey, person, state=InvitationState.SENT, sent_at=at, due_at=at)
    ContactLedger.objects.create(
        person=person,
        invitation=inv,
        survey=survey,
        kind=ContactKind.INVITATION,
        channel="email",
        at=at,
    )
    return inv


def member(audience: Audience, external_id: str, **extra) -> Person:  # noqa: ANN003
    person = Person.objects.filter(external_id=external_id).first() or make_person(
        external_id, **extra
    )
    make_membership(person, audience)
    return person


def opt_out(person: Person, channel: str = "email") -> None:
    Consent.objects.update_or_create(
        person=person, channel=channel, defaults={"status": "withdrawn"}
    )


def customers() -> Audience:
    return Audience.objects.filter(slug="customers").first() or make_audience("customers")


class SmtpSink:
    """A real SMTP server (aiosmtpd) in a thread that keeps every message it receives."""

    def __init__(self, *, delay: float = 0.0) -> None:
        import asyncio
        import email
        import logging
        import threading

        from aiosmtpd.controller import Controller

        logging.getLogger("mail.log").setLevel(logging.WARNING)  # one line per SMTP verb
        self.messages: list = []
        self._lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
                if delay:
                    await asyncio.sleep(delay)  # a slow provider keeps a batch in flight
                with sink._lock:
                    sink.messages.append(email.message_from_bytes(envelope.content))
                return "250 OK"

        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "SmtpSink":
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def invitation_ids(self) -> list[str]:
        with self._lock:
            return [m["X-Invitation-ID"] for m in self.messages]
