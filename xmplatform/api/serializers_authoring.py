"""Shapes of API v1's authoring: surveys written, journeys read, distribution rules created.

The request serializers document bodies for the OpenAPI schema; the bodies themselves are
checked by the domain services (surveys.services.authoring, the distribution rule form), so
the API and the admin refuse exactly the same things with the same messages.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from audiences.branding import REDIRECT_MAX_SECONDS, REDIRECT_MIN_SECONDS, Font
from journeys.models import TouchpointChannel, TouchpointRole
from surveys.models import (
    PriorityClass,
    QuestionType,
    ReportingPeriodKind,
    RuleKind,
    SurveyStatus,
)
from xmplatform.api.serializers import QuestionSerializer, SurveySerializer


def _texts(help_text: str = "") -> serializers.DictField:
    return serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text=help_text or _('Text per language, e.g. {"tr": "…", "en": "…"}.'),
    )


# --- Surveys -------------------------------------------------------------------------------


class ChoiceWriteSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = _texts()


class QuestionWriteSerializer(serializers.Serializer):
    key = serializers.SlugField(max_length=64, help_text=_("Stable name; answers follow it."))
    type = serializers.ChoiceField(choices=QuestionType.choices)
    required = serializers.BooleanField(required=False, default=True)
    page = serializers.IntegerField(min_value=1, max_value=32767, required=False, default=1)
    order = serializers.IntegerField(
        min_value=0,
        max_value=32767,
        required=False,
        help_text=_("Default: the question's position in the list."),
    )
    label = _texts(_("The question per language; every survey language is needed."))
    help = _texts()
    choices = ChoiceWriteSerializer(many=True, required=False)
    scale = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text=_(
            'CES (5 or 7) and rating (2–10) questions: the maximum, or {"min": 1, "max": 7} '
            "as GET returns it; null for the type's own scale."
        ),
    )
    multiline = serializers.BooleanField(required=False, default=False)
    show_if = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text=_(
            'Display logic on a question of an earlier page, e.g. {"question": "nps", "op": '
            '"lte", "value": 6}; null to always show.'
        ),
    )


class BrandingSerializer(serializers.Serializer):
    """The survey's own brand; "" or null gives a part back to the audience's brand."""

    colour = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=_("#rrggbb with at least 4.5:1 contrast against white text, e.g. #0b5cad."),
    )
    font = serializers.ChoiceField(
        choices=[("", "")] + list(Font.choices), required=False, allow_blank=True
    )
    cta_text = serializers.CharField(
        required=False, allow_blank=True, help_text=_("The thank-you page's button.")
    )
    cta_url = serializers.URLField(
        required=False, allow_blank=True, help_text=_("Where the button leads: http or https.")
    )
    redirect_seconds = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=REDIRECT_MIN_SECONDS,
        max_value=REDIRECT_MAX_SECONDS,
        help_text=_("Go to cta_url after this many seconds; null to stay."),
    )
    logo = serializers.URLField(
        required=False,
        allow_null=True,
        help_text=_("Read only (upload a logo in the admin); null on a write removes it."),
    )


class SurveyWriteSerializer(serializers.Serializer):
    """A survey as POST creates it and PATCH changes it (PATCH: only the fields sent)."""

    name = serializers.CharField(max_length=200)
    audience = serializers.SlugField(max_length=64, help_text=_("The audience's slug."))
    touchpoint = serializers.SlugField(
        max_length=64, required=False, allow_null=True, help_text=_("A touchpoint's slug.")
    )
    status = serializers.ChoiceField(choices=SurveyStatus.choices, required=False)
    languages = serializers.ListField(
        child=serializers.CharField(max_length=8), required=False, help_text=_("Default: tr, en.")
    )
    default_language = serializers.CharField(
        max_length=8, required=False, help_text=_("Default: the first language.")
    )
    anonymous = serializers.BooleanField(
        required=False, help_text=_("Default: true for an employee audience, else false.")
    )
    title = _texts(_("Shown to respondents; every survey language is needed."))
    intro = _texts()
    thank_you = _texts()
    opens_at = serializers.DateTimeField(required=False, allow_null=True)
    closes_at = serializers.DateTimeField(required=False, allow_null=True)
    reporting_period = serializers.ChoiceField(choices=ReportingPeriodKind.choices, required=False)
    priority_class = serializers.ChoiceField(choices=PriorityClass.choices, required=False)
    response_limit = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, required=False, allow_null=True
    )
    presentation = serializers.CharField(required=False, help_text=_("Default: pages."))
    branding = BrandingSerializer(required=False)
    hidden_fields = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text=_(
            'Names of data given by the invitation or a signed link, e.g. ["order_id", '
            '"store"]: letters, digits and _, unique, not a question\'s key; an anonymous '
            "survey takes none that names a person (email, phone, name, external_id …)."
        ),
    )
    questions = QuestionWriteSerializer(
        many=True,
        required=False,
        help_text=_(
            "PATCH: the survey's new questions, matched by key. Once the live version has "
            "responses, a change makes a new version; a question with answers keeps its type "
            "and scale, and one left out is retired (its answers kept), not deleted."
        ),
    )


class SurveyDetailSerializer(SurveySerializer):
    """A survey as authoring reads and writes it, with its live version."""

    version = serializers.IntegerField(help_text=_("The live version of the questions."))
    reporting_period = serializers.ChoiceField(choices=ReportingPeriodKind.choices)
    priority_class = serializers.ChoiceField(choices=PriorityClass.choices)
    response_limit = serializers.IntegerField(allow_null=True)
    presentation = serializers.CharField(help_text=_("How hosted pages lay the questions out."))
    branding = BrandingSerializer(help_text=_("The survey's own brand over its audience's."))
    questions = QuestionSerializer(
        many=True, help_text=_("The live version's questions (retired ones are not listed).")
    )


# --- Journeys ------------------------------------------------------------------------------


class TouchpointSerializer(serializers.Serializer):
    slug = serializers.CharField(help_text=_("Send events with this slug."))
    name = serializers.CharField()
    channel = serializers.ChoiceField(choices=TouchpointChannel.choices)
    role = serializers.ChoiceField(choices=TouchpointRole.choices, allow_blank=True)
    order = serializers.IntegerField()


class StageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    order = serializers.IntegerField()
    touchpoints = TouchpointSerializer(many=True)


class JourneySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    names = serializers.DictField(
        child=serializers.CharField(), help_text=_("The name per language, where given.")
    )
    audience = serializers.CharField(help_text=_("The audience's slug."))
    description = serializers.CharField(allow_blank=True)
    stages = StageSerializer(many=True)


# --- Distribution rules --------------------------------------------------------------------

SCHEDULES = ["off", "once", "daily", "weekly", "monthly", "quarterly", "cron"]


class DistributionRuleWriteSerializer(serializers.Serializer):
    """A trigger (touchpoint events invite) or a wave (an audience or segment, on a schedule)."""

    survey = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=RuleKind.choices)
    active = serializers.BooleanField(required=False, default=True)
    channels = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text=_("Channels to try in order; default: email, then sms."),
    )
    touchpoint = serializers.SlugField(
        required=False,
        allow_null=True,
        help_text=_("Trigger: the touchpoint's slug (default: the survey's)."),
    )
    delay = serializers.CharField(
        required=False,
        help_text=_('Trigger: how long after the event, e.g. "P1D", "PT2H" or "1 00:00:00".'),
    )
    sampling_rate = serializers.FloatField(min_value=0, max_value=1, required=False)
    condition = serializers.DictField(required=False, help_text=_("Trigger: event attributes."))
    segment = serializers.CharField(max_length=100, required=False, allow_blank=True)
    attribute_filter = serializers.DictField(
        required=False, help_text=_("Wave: membership attributes.")
    )
    sample_share = serializers.FloatField(min_value=0, max_value=1, required=False)
    hourly_cap = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    reminder_count = serializers.IntegerField(min_value=0, max_value=32767, required=False)
    reminder_after_days = serializers.IntegerField(min_value=0, max_value=32767, required=False)
    expiry_days = serializers.IntegerField(min_value=0, max_value=32767, required=False)
    schedule = serializers.ChoiceField(
        choices=SCHEDULES, required=False, help_text=_("Wave: how it runs; default off.")
    )
    first_run = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text=_("Wave: when it first runs (ISO 8601 with an offset)."),
    )
    cron = serializers.CharField(
        required=False, allow_blank=True, help_text=_('Wave, schedule "cron": e.g. "0 9 1 */3 *".')
    )


class DistributionRuleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    survey = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=RuleKind.choices)
    active = serializers.BooleanField()
    channels = serializers.ListField(child=serializers.CharField())
    touchpoint = serializers.CharField(allow_null=True)
    delay_seconds = serializers.IntegerField()
    sampling_rate = serializers.FloatField()
    condition = serializers.DictField()
    segment = serializers.CharField(allow_blank=True)
    attribute_filter = serializers.DictField()
    sample_share = serializers.FloatField()
    hourly_cap = serializers.IntegerField(allow_null=True)
    reminder_count = serializers.IntegerField()
    reminder_after_days = serializers.IntegerField()
    expiry_days = serializers.IntegerField()
    scheduled = serializers.BooleanField(help_text=_("Whether a wave is in the beat schedule."))
    warnings = serializers.ListField(
        child=serializers.CharField(), help_text=_("Things worth knowing before it runs.")
    )
