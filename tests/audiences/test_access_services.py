"""Audiences and grants, created by one service whoever asks: the owner is staff, all audited,
and a new grant's notice to the owner is owed through the outbox."""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from audiences.models import Audience, AuditAction, AuditLog, Role
from audiences.services import audience_create, grant_set
from tests.factories import make_audience, make_user
from xmplatform.api.services import api_key_create
from xmplatform.core.models import OutboxMessage
from xmplatform.core.outbox import outbox_relay

pytestmark = pytest.mark.django_db


def test_a_new_audiences_owner_becomes_staff_and_is_audited():
    owner = make_user("ops.lead")
    assert owner.is_staff is False

    audience = audience_create(
        owner=owner, slug="dealers", name="Dealers", kind="dealer", actor=None, actor_name="CRM"
    )

    assert get_user_model().objects.get(pk=owner.pk).is_staff is True
    assert list(
        AuditLog.objects.values_list("action", "actor_username", "audience_id", "target", "detail")
    ) == [
        (
            AuditAction.GRANT_ADDED,
            "CRM",
            audience.pk,
            "user ops.lead",
            {"user_id": owner.pk, "owner": True, "previous_owner_id": None},
        )
    ]


def test_a_taken_slug_fails_alone_and_leaves_the_callers_transaction_usable():
    make_audience("dealers")
    owner = make_user("ops.lead")

    with transaction.atomic():
        with pytest.raises(IntegrityError):
            audience_create(owner=owner, slug="dealers", name="Again", kind="dealer", actor=None)
        assert Audience.objects.filter(slug="dealers").count() == 1

    assert AuditLog.objects.count() == 0


def test_the_api_creates_audiences_through_the_same_service():
    _key, plain = api_key_create(name="CRM")
    owner = make_user("ops.lead")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")

    response = client.post(
        "/api/v1/audiences/",
        {"slug": "dealers", "name": "Dealers", "kind": "dealer", "owner": "ops.lead"},
        format="json",
    )

    assert response.status_code == 201
    assert get_user_model().objects.get(pk=owner.pk).is_staff is True
    entry = AuditLog.objects.get()
    assert (entry.action, entry.actor_id, entry.target) == (
        AuditAction.GRANT_ADDED,
        None,
        "user ops.lead",
    )
    assert entry.actor_username.startswith("API key CRM (")


def test_a_new_grant_owes_the_owner_one_notice_and_a_changed_role_none():
    audience = make_audience("customers")
    superuser = make_user("root", is_superuser=True, is_staff=True)
    user = make_user("newcomer")

    grant = grant_set(user=user, audience=audience, role=Role.VIEWER, actor=superuser)
    grant_set(user=user, audience=audience, role=Role.ANALYST, actor=superuser)

    assert list(OutboxMessage.objects.values_list("event", "handler", "payload")) == [
        (
            "access.granted",
            "audiences.services.access.access_granted_handler",
            {"grant_id": grant.pk},
        )
    ]
    assert mail.outbox == []
    assert outbox_relay() == 1
    assert [m.to for m in mail.outbox] == [[audience.owner.email]]
    assert mail.outbox[0].subject == "New access to Customers: newcomer"
