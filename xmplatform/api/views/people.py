"""API v1 people: upsert in batches, read, erase and export one person."""

from __future__ import annotations

from django.db import IntegrityError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from audiences.models import AuditAction, Membership, Person
from audiences.services import audit_record, person_erase
from xmplatform.api import selectors
from xmplatform.api import serializers as s
from xmplatform.api.operations.people import export_scoped, people_submit
from xmplatform.api.selectors import Scope
from xmplatform.api.views.base import (
    ApiView,
    errors,
    list_body,
)
from xmplatform.people import person_export


class PeopleView(ApiView):
    @extend_schema(
        request=s.PersonItemSerializer(many=True),
        responses={200: s.PeopleResultSerializer, **errors(400, 401, 403, 413, 415, 429)},
        description="Upsert up to 1,000 people by external_id; valid items are stored even "
        "when others fail.",
    )
    def post(self, request: Request) -> Response:
        items = list_body(request)
        try:
            result = people_submit(items=items, scope=self.scope)
        except IntegrityError:
            return Response(
                {"detail": _("Some of these people were created at the same time; send again.")},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(s.PeopleResultSerializer(result).data)


def _visible_person(scope: Scope, external_id: str) -> Person:
    person = selectors.people_visible(scope=scope).filter(external_id=external_id).first()
    if person is None:
        raise Http404
    return person


class PersonDetailView(ApiView):
    @extend_schema(responses={200: s.PersonSerializer, **errors(401, 404, 429)})
    def get(self, request: Request, external_id: str) -> Response:
        """A person with the memberships this key may see."""
        person = _visible_person(self.scope, external_id)
        return Response(
            s.PersonSerializer(selectors.person_data(person=person, scope=self.scope)).data
        )

    @extend_schema(
        responses={
            204: OpenApiResponse(description="Erased."),
            409: OpenApiResponse(
                s.ErrorSerializer, description="The person also belongs to other audiences."
            ),
            **errors(401, 403, 404, 429),
        },
        description="Erase the person and their personal data; anonymous aggregates stay. "
        "Their details, memberships and consents are gone when this answers; their events, "
        "invitations, responses, cases and webhook deliveries follow within seconds.",
    )
    def delete(self, request: Request, external_id: str) -> Response:
        person = _visible_person(self.scope, external_id)
        ids = self.scope.audience_ids
        if (
            ids is not None
            and Membership.objects.filter(person=person).exclude(audience_id__in=ids).exists()
        ):
            return Response(
                {
                    "detail": _(
                        "This person also belongs to audiences outside this key's scope; "
                        "erase them with a key for all audiences."
                    )
                },
                status=status.HTTP_409_CONFLICT,
            )
        person_erase(person_id=person.pk, actor=None, actor_name=self.actor_name)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PersonExportView(ApiView):
    @extend_schema(responses={200: s.PersonExportSerializer, **errors(401, 404, 429)})
    def get(self, request: Request, external_id: str) -> Response:
        """Everything held about the person (within this key's audiences), as JSON."""
        person = _visible_person(self.scope, external_id)
        data = person_export(person_id=person.pk)
        if not self.scope.unrestricted:
            data = export_scoped(data=data, person=person, scope=self.scope)
        data = selectors.export_without_answer_times(data=data, person=person)
        memberships = Membership.objects.filter(person=person)
        if self.scope.audience_ids is not None:
            memberships = memberships.filter(audience_id__in=self.scope.audience_ids)
        audit_record(
            actor=None,
            actor_name=self.actor_name,
            action=AuditAction.PERSON_EXPORTED,
            audiences=list(memberships.values_list("audience_id", flat=True)) or [None],
            target=f"person {person.pk}",
        )
        return Response(s.PersonExportSerializer(data).data)
