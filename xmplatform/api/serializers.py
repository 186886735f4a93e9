"""Request and response shapes of API v1 (plain serializers: the hot paths avoid ModelSerializer).

Every body the API accepts or returns has a serializer here, so the OpenAPI schema is complete.
"""

import zoneinfo
from functools import cache
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from audiences.models import AudienceKind, Channel
from surveys.models import InvitationState, QuestionType, SurveyStatus

MAX_BATCH = 1000


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class ErrorSerializer(serializers.Serializer):
    """An error with a message that says how to fix it."""

    detail = serializers.CharField()


class ItemErrorSerializer(serializers.Serializer):
    """Why one item of a batch was not stored."""

    index = serializers.IntegerField(help_text=_("Position of the item in the posted list."))
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()


# --- Audiences -----------------------------------------------------------------------------


class AudienceSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=AudienceKind.choices)
    owner = serializers.CharField(
        max_length=150, help_text=_("Username of the accountable owner (an existing user).")
    )
    priority = serializers.IntegerField(min_value=0, max_value=32767, default=100)
    description = serializers.CharField(allow_blank=True, default="")
    requires_opt_in = serializers.BooleanField(default=False)
    anonymity_threshold = serializers.IntegerField(min_value=3, max_value=1000, default=5)
    created_at = serializers.DateTimeField(read_only=True)

    def validate(self, attrs: dict) -> dict:
        if attrs["kind"] == AudienceKind.EMPLOYEE and attrs["anonymity_threshold"] < 5:
            raise serializers.ValidationError(
                {"anonymity_threshold": _("Employee audiences need a threshold of at least 5.")}
            )
        return attrs


# --- People --------------------------------------------------------------------------------


class MembershipItemSerializer(serializers.Serializer):
    audience = serializers.SlugField(max_length=64, help_text=_("The audience's slug."))
    segment = serializers.CharField(max_length=100, allow_blank=True, required=False)
    attributes = serializers.DictField(required=False)
    joined_on = serializers.DateField(required=False, allow_null=True)


class PersonItemSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=128)
    email = serializers.EmailField(max_length=254, allow_blank=True, required=False)
    phone = serializers.CharField(max_length=32, allow_blank=True, required=False)
    name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False)
    time_zone = serializers.CharField(max_length=64, required=False)
    audiences = MembershipItemSerializer(many=True, required=False)

    def validate_time_zone(self, value: str) -> str:
        if value not in _time_zones():
            raise serializers.ValidationError(
                _("Unknown time zone %(tz)s; use an IANA name such as Europe/Istanbul.")
                % {"tz": value}
            )
        return value


class PeopleResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    memberships_created = serializers.IntegerField()
    memberships_updated = serializers.IntegerField()
    errors = ItemErrorSerializer(many=True)


class MembershipSerializer(serializers.Serializer):
    audience = serializers.CharField()
    segment = serializers.CharField()
    attributes = serializers.DictField()
    joined_on = serializers.DateField(allow_null=True)
    left_on = serializers.DateField(allow_null=True)


class PersonSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    name = serializers.CharField()
    language = serializers.CharField()
    time_zone = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    audiences = MembershipSerializer(many=True)


class ExportPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    name = serializers.CharField()
    language = serializers.CharField()
    time_zone = serializers.CharField()
    created_at = serializers.CharField()
    updated_at = serializers.CharField()


class ExportMembershipSerializer(serializers.Serializer):
    audience = serializers.CharField()
    audience_name = serializers.CharField()
    segment = serializers.CharField()
    attributes = serializers.DictField()
    joined_on = serializers.CharField(allow_null=True)
    left_on = serializers.CharField(allow_null=True)


class ExportConsentSerializer(serializers.Serializer):
    channel = serializers.CharField()
    status = serializers.CharField()
    source = serializers.CharField()
    changed_at = serializers.CharField()


class ExportEventSerializer(serializers.Serializer):
    touchpoint = serializers.CharField()
    occurred_at = serializers.CharField()
    recorded_at = serializers.CharField()
    attributes = serializers.DictField()


class ExportInvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    survey = serializers.CharField()
    channel = serializers.CharField()
    state = serializers.CharField()
    planned_at = serializers.CharField(allow_null=True)
    sent_at = serializers.CharField(allow_null=True)
    opened_at = serializers.CharField(allow_null=True)
    responded_at = serializers.CharField(allow_null=True)


class ExportAnswerSerializer(serializers.Serializer):
    question = serializers.CharField()
    number = serializers.IntegerField(allow_null=True)
    text = serializers.CharField(allow_blank=True)
    choices = serializers.ListField(child=serializers.CharField(), allow_null=True)


class ExportResponseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    survey = serializers.CharField()
    channel = serializers.CharField()
    language = serializers.CharField()
    completed_at = serializers.CharField(allow_null=True)
    answers = ExportAnswerSerializer(many=True)


class PersonExportSerializer(serializers.Serializer):
    exported_at = serializers.CharField()
    person = ExportPersonSerializer()
    memberships = ExportMembershipSerializer(many=True)
    consents = ExportConsentSerializer(many=True)
    events = ExportEventSerializer(many=True)
    invitations = ExportInvitationSerializer(many=True)
    responses = ExportResponseSerializer(many=True)


# --- Events --------------------------------------------------------------------------------


class EventItemSerializer(serializers.Serializer):
    """Documentation of one event item (validated by journeys.services.events_record_bulk)."""

    person = serializers.CharField(help_text=_("The person's external id."))
    touchpoint = serializers.SlugField(help_text=_("The touchpoint's slug."))
    occurred_at = serializers.DateTimeField(help_text=_("ISO 8601 with an offset."))
    idempotency_key = serializers.CharField(max_length=128, required=False, allow_null=True)
    attributes = serializers.DictField(required=False)


class EventsResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    errors = ItemErrorSerializer(many=True)


# --- Invitations ---------------------------------------------------------------------------


class InvitationRequestSerializer(serializers.Serializer):
    survey = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    person = serializers.CharField(max_length=128, help_text=_("The person's external id."))
    channel = serializers.ChoiceField(choices=Channel.choices)
    data = serializers.DictField(
        required=False,
        help_text=_(
            "Values of the survey's hidden fields by name (e.g. order_id), stored with the "
            "response."
        ),
    )


class InvitationCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=[InvitationState.PLANNED, InvitationState.SENT])
    url = serializers.URLField(
        allow_null=True,
        help_text=_("The answer page; null for an anonymous survey (the platform delivers it)."),
    )
    token = serializers.CharField(
        allow_null=True, help_text=_("Null for an anonymous survey (the platform delivers it).")
    )
    link_withheld = serializers.BooleanField(
        help_text=_(
            "True for an anonymous survey: its link goes only to the person, on the platform's "
            "channel, so nobody else can answer in their place."
        )
    )
    detail = serializers.CharField(
        required=False, help_text=_("Why the link was withheld, when it was.")
    )


class InvitationSuppressedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=[InvitationState.SUPPRESSED])
    reason = serializers.CharField(help_text=_("The fatigue rule that stopped it."))


class InvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    survey = serializers.IntegerField(source="survey_id")
    person = serializers.CharField(allow_null=True, source="person.external_id", default=None)
    channel = serializers.CharField()
    state = serializers.ChoiceField(
        choices=InvitationState.choices,
        source="shown_state",
        help_text=_(
            "For an anonymous survey, sent until the period it was answered in is published, "
            "then responded; never opened."
        ),
    )
    suppression_reason = serializers.CharField(allow_blank=True)
    planned_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True)
    sent_at = serializers.DateTimeField(allow_null=True)
    opened_at = serializers.DateTimeField(
        allow_null=True, help_text=_("Null for anonymous surveys: they keep no time of answering.")
    )
    responded_at = serializers.DateTimeField(
        allow_null=True,
        help_text=_(
            "Null for anonymous surveys: the state says that the invitation was answered, "
            "never when."
        ),
    )
    expires_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        if instance.survey.anonymous:
            # Beside the day a response was stored on, the day of answering would tell whose
            # it is; the state (shown_state, see surveys.selectors) says "responded" only once
            # the period it was answered in is published.
            data["opened_at"] = data["responded_at"] = None
        return data


# --- Surveys -------------------------------------------------------------------------------


class ScaleSerializer(serializers.Serializer):
    min = serializers.IntegerField()
    max = serializers.IntegerField()


class ChoiceSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.DictField(child=serializers.CharField(allow_blank=True))


class QuestionSerializer(serializers.Serializer):
    key = serializers.CharField()
    type = serializers.ChoiceField(choices=QuestionType.choices)
    required = serializers.BooleanField()
    page = serializers.IntegerField()
    order = serializers.IntegerField()
    label = serializers.DictField(
        child=serializers.CharField(allow_blank=True), help_text=_("Text per language.")
    )
    help = serializers.DictField(child=serializers.CharField(allow_blank=True))
    choices = ChoiceSerializer(many=True)
    scale = ScaleSerializer(allow_null=True)
    multiline = serializers.BooleanField()
    show_if = serializers.JSONField(allow_null=True, help_text=_("Display logic, or null."))


class SurveySummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    audience = serializers.CharField(source="audience.slug")
    touchpoint = serializers.CharField(allow_null=True, source="touchpoint.slug", default=None)
    status = serializers.ChoiceField(choices=SurveyStatus.choices)
    anonymous = serializers.BooleanField()
    languages = serializers.ListField(child=serializers.CharField())
    default_language = serializers.CharField()
    title = serializers.DictField(child=serializers.CharField(allow_blank=True))
    opens_at = serializers.DateTimeField(allow_null=True)
    closes_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    hidden_fields = serializers.ListField(
        child=serializers.CharField(),
        help_text=_(
            "Names of the data an invitation's `data` or a signed public link gives each "
            "response (e.g. order_id)."
        ),
    )


class SurveySerializer(SurveySummarySerializer):
    intro = serializers.DictField(child=serializers.CharField(allow_blank=True))
    thank_you = serializers.DictField(child=serializers.CharField(allow_blank=True))
    questions = QuestionSerializer(many=True)


# --- Responses -----------------------------------------------------------------------------


class ResponseSubmitSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=64, help_text=_("The invitation's token."))
    answers = serializers.DictField(
        help_text=_("Values by question key: a number, a text, or a list of choice values.")
    )
    language = serializers.CharField(max_length=8, required=False)


class ResponseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    survey = serializers.IntegerField()
    audience = serializers.CharField()
    touchpoint = serializers.CharField(allow_null=True)
    person = serializers.CharField(allow_null=True, help_text=_("Null for anonymous surveys."))
    invitation = serializers.IntegerField(
        allow_null=True, help_text=_("Null for anonymous surveys.")
    )
    channel = serializers.CharField()
    language = serializers.CharField()
    segment = serializers.CharField(allow_blank=True, help_text=_("Empty for anonymous surveys."))
    completed_at = serializers.DateTimeField(
        allow_null=True, help_text=_("Null for anonymous surveys.")
    )
    completed_on = serializers.DateField(
        help_text=_("For anonymous surveys, the first day of the response's reporting period.")
    )
    answers = serializers.DictField(
        help_text=_(
            "Values by question key; empty for anonymous surveys, whose answers are only "
            "reported in aggregate (GET /api/v1/scores/)."
        )
    )
    data = serializers.DictField(
        help_text=_("Hidden field values by name; empty for anonymous surveys.")
    )


class ResponseConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()


# --- Scores --------------------------------------------------------------------------------


class ScoreRowSerializer(serializers.Serializer):
    group = serializers.JSONField(
        allow_null=True, help_text=_("The slice's slug, id or period start; null for all.")
    )
    score = serializers.FloatField(required=False, allow_null=True)
    n = serializers.IntegerField(required=False)
    margin = serializers.FloatField(required=False, allow_null=True)
    scale = serializers.IntegerField(required=False, allow_null=True)
    suppressed = serializers.BooleanField(
        required=False,
        help_text=_(
            "Anonymous answers withheld (a small group, or one that would reveal another by "
            "subtraction) and nothing else to show: no score and no n."
        ),
    )


class ScoresSerializer(serializers.Serializer):
    audience = serializers.CharField()
    metric = serializers.CharField()
    by = serializers.CharField(allow_null=True)
    survey = serializers.IntegerField(allow_null=True)
    # "from" is a Python keyword: the field is renamed in the schema.
    from_ = serializers.DateField(
        allow_null=True,
        help_text=_(
            "The first day the figures cover (anonymous surveys: the first reporting period "
            "starting in the window); null for no start."
        ),
    )
    to = serializers.DateField(
        allow_null=True,
        help_text=_(
            "The last day the figures cover (anonymous surveys: the end of the last reporting "
            "period starting in the window); null for up to now."
        ),
    )
    as_of = serializers.DateTimeField(help_text=_("When the scores were read."))
    results = ScoreRowSerializer(many=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields
