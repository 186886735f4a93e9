"""Surveys, their questions, invitations, public links, responses and typed answers."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from audiences.branding import BrandFields
from audiences.models import Audience, Channel, Person
from journeys.models import Touchpoint, TouchpointEvent

# Distribution's models (rules, wave runs, fatigue policies, the contact ledger) live with
# distribution; imported here so the app registers them and this module names every model.
from surveys.distribution.models import ContactKind as ContactKind
from surveys.distribution.models import ContactLedger as ContactLedger
from surveys.distribution.models import DistributionRule as DistributionRule
from surveys.distribution.models import FatiguePolicy as FatiguePolicy
from surveys.distribution.models import RuleKind as RuleKind
from surveys.distribution.models import WaveRun as WaveRun
from surveys.distribution.models import default_channel_order as default_channel_order

# Website intercepts (surveys.intercept), named here like distribution's models.
from surveys.intercept.models import InterceptSite as InterceptSite

# Kiosk mode of public links (surveys.kiosk), named here like distribution's models.
from surveys.kiosk.models import KioskDevice as KioskDevice
from surveys.kiosk.models import KioskSubmission as KioskSubmission
from surveys.languages import validate_language_code, validate_language_codes

# A survey's versions (surveys.versions), named here like distribution's models.
from surveys.versions.models import SurveyVersion as SurveyVersion
from xmplatform.core.names import TranslationsField, translated_name


def default_languages() -> list[str]:
    return ["tr", "en"]


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    LIVE = "live", _("Live")
    CLOSED = "closed", _("Closed")


class PriorityClass(models.IntegerChoices):
    """Which survey wins when several compete for one person's fatigue budget (higher wins)."""

    TRANSACTIONAL = 30, _("Transactional")
    RELATIONSHIP = 20, _("Relationship")
    RESEARCH = 10, _("Research")


class ReportingPeriodKind(models.TextChoices):
    """How an anonymous survey's results are grouped in time (see surveys.periods)."""

    AUTO = "auto", _("Automatic (the wave, else the calendar month)")
    WAVE = "wave", _("Wave")
    WEEK = "week", _("Week")
    MONTH = "month", _("Calendar month")
    QUARTER = "quarter", _("Quarter")


class Presentation(models.TextChoices):
    """How a hosted survey is laid out for respondents."""

    ONE_QUESTION = "one_question", _("One question at a time")
    PAGES = "pages", _("Pages of questions")


class Survey(BrandFields):
    """An ordered questionnaire sent to one audience, optionally about one touchpoint."""

    audience = models.ForeignKey(
        Audience, on_delete=models.PROTECT, related_name="surveys", verbose_name=_("audience")
    )
    touchpoint = models.ForeignKey(
        Touchpoint,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="surveys",
        verbose_name=_("touchpoint"),
    )
    name = models.CharField(_("name"), max_length=200)
    name_translations = TranslationsField(
        _("name per language"),
        default=dict,
        blank=True,
        help_text=_("The name in each language of the admin; an empty one shows the name above."),
    )
    title = models.JSONField(
        _("title"), default=dict, blank=True, help_text=_("Shown to respondents, per language.")
    )
    status = models.CharField(
        _("status"), max_length=8, choices=SurveyStatus.choices, default=SurveyStatus.DRAFT
    )
    opens_at = models.DateTimeField(_("opens at"), null=True, blank=True)
    closes_at = models.DateTimeField(_("closes at"), null=True, blank=True)
    response_limit = models.PositiveIntegerField(_("response limit"), null=True, blank=True)
    anonymous = models.BooleanField(
        _("anonymous"),
        default=False,
        help_text=_("Responses keep no link to the person, invitation or precise time."),
    )
    reporting_period = models.CharField(
        _("reporting period"),
        max_length=8,
        choices=ReportingPeriodKind.choices,
        default=ReportingPeriodKind.AUTO,
        help_text=_(
            "Anonymous surveys: results are reported per whole period, never per day or answer."
        ),
    )
    languages = models.JSONField(
        _("languages"), default=default_languages, validators=[validate_language_codes]
    )
    default_language = models.CharField(
        _("default language"), max_length=8, default="tr", validators=[validate_language_code]
    )
    presentation = models.CharField(
        _("presentation"),
        max_length=12,
        choices=Presentation.choices,
        default=Presentation.PAGES,
        help_text=_("One question per screen, or the questions of a page together."),
    )
    intro = models.JSONField(_("intro"), default=dict, blank=True)
    thank_you = models.JSONField(_("thank-you text"), default=dict, blank=True)
    priority_class = models.PositiveSmallIntegerField(
        _("priority class"), choices=PriorityClass.choices, default=PriorityClass.RELATIONSHIP
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # Hidden fields (surveys.hidden_fields): names of the data an invitation or a signed
    # public link carries into the response (order id, store, agent), never asked.
    hidden_fields = models.JSONField(
        _("hidden fields"),
        default=list,
        blank=True,
        help_text=_(
            "Names of data given by the invitation or a signed link (e.g. order_id, store), "
            "stored with the response; never shown as questions."
        ),
    )
    # The number of the live version of the questions (surveys.versions): what new responses
    # answer. It moves on when questions change after a response to the live version.
    version = models.PositiveIntegerField(
        _("live version"), default=1, db_default=1, editable=False
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")

    def __str__(self) -> str:
        return translated_name(self.name, self.name_translations)

    def clean(self) -> None:
        self.clean_brand()


class QuestionType(models.TextChoices):
    NPS = "nps", _("NPS (0–10)")
    CSAT = "csat", _("CSAT (1–5)")
    CES = "ces", _("CES (1–5 or 1–7 agreement)")
    RATING = "rating", _("Rating (1–N stars)")
    SINGLE_CHOICE = "single_choice", _("Single choice")
    MULTIPLE_CHOICE = "multiple_choice", _("Multiple choice")
    TEXT = "text", _("Free text")


SCORED_TYPES = frozenset(
    {QuestionType.NPS, QuestionType.CSAT, QuestionType.CES, QuestionType.RATING}
)


class Question(models.Model):
    """One question of a survey; `show_if` makes it depend on an earlier answer."""

    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, related_name="questions", verbose_name=_("survey")
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    page = models.PositiveSmallIntegerField(
        _("page"), default=1, help_text=_("Questions with the same page number share a screen.")
    )
    key = models.SlugField(
        _("key"), max_length=64, help_text=_("Stable name used in exports and the API.")
    )
    type = models.CharField(_("type"), max_length=16, choices=QuestionType.choices)
    required = models.BooleanField(_("required"), default=True)
    label = models.JSONField(_("label"), default=dict, help_text=_("Question text per language."))
    help = models.JSONField(_("help text"), default=dict, blank=True)
    choices = models.JSONField(
        _("choices"),
        default=list,
        blank=True,
        help_text=_('For choice questions: [{"value": "price", "label": {"en": "…", "tr": "…"}}]'),
    )
    scale_max = models.PositiveSmallIntegerField(
        _("scale maximum"),
        null=True,
        blank=True,
        validators=[MinValueValidator(2), MaxValueValidator(10)],
        help_text=_("CES: 5 or 7. Rating: number of stars (default 5)."),
    )
    multiline = models.BooleanField(_("long text"), default=False)
    show_if = models.JSONField(
        _("display logic"),
        null=True,
        blank=True,
        help_text=_(
            "Show only when an earlier answer matches, e.g. "
            '{"question": "nps", "op": "lte", "value": 6}.'
        ),
    )
    # A question with answers is retired, never deleted: its answers stay in exports and
    # metrics, and new respondents no longer see it (surveys.versions).
    retired_in = models.PositiveIntegerField(
        _("retired in version"), null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["survey", "order", "id"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        constraints = [
            models.UniqueConstraint(fields=["survey", "key"], name="question_unique_key"),
        ]

    def __str__(self) -> str:
        return self.key


class InvitationState(models.TextChoices):
    PLANNED = "planned", _("Planned")
    SUPPRESSED = "suppressed", _("Suppressed")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERY_UNKNOWN = "delivery_unknown", _("Delivery unknown")
    OPENED = "opened", _("Opened")
    RESPONDED = "responded", _("Responded")
    BOUNCED = "bounced", _("Bounced")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


class Invitation(models.Model):
    """One survey for one person on one channel, reached through an unguessable token.

    The token is never stored: it is an HMAC of `nonce` under SECRET_KEY, and only its SHA-256
    (`token_hash`) is kept for lookup, so a database dump alone opens no survey.
    """

    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("survey")
    )
    person = models.ForeignKey(
        Person,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations",
        verbose_name=_("person"),
    )
    event = models.ForeignKey(
        TouchpointEvent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations",
        verbose_name=_("triggering event"),
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    nonce = models.CharField(max_length=32, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    state = models.CharField(
        _("state"), max_length=20, choices=InvitationState.choices, default=InvitationState.PLANNED
    )
    suppression_reason = models.CharField(_("suppression reason"), max_length=32, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    planned_at = models.DateTimeField(_("planned"), auto_now_add=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    responded_at = models.DateTimeField(_("responded"), null=True, blank=True)
    # Distribution (surveys.distribution / surveys.distribution.sending).
    rule = models.ForeignKey(
        "DistributionRule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations",
        verbose_name=_("distribution rule"),
    )
    claimed_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("send attempts"), default=0)
    message_id = models.CharField(_("message id"), max_length=200, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(_("reminders sent"), default=0)
    last_reminder_at = models.DateTimeField(_("last reminder"), null=True, blank=True)
    defer_count = models.PositiveSmallIntegerField(_("deferrals"), default=0)
    last_defer_reason = models.CharField(_("last deferral reason"), max_length=32, blank=True)
    # Reminders (surveys.distribution.reminders): a reminder that falls in the person's quiet
    # hours waits until `next_reminder_at`; one the person can no longer be reached for (opted
    # out, no consent, no address, erased) stops for good, with the reason.
    next_reminder_at = models.DateTimeField(_("next reminder not before"), null=True, blank=True)
    reminders_stopped = models.CharField(_("reminders stopped"), max_length=32, blank=True)
    # Values of the survey's hidden fields (surveys.hidden_fields), copied to the response.
    data = models.JSONField(_("hidden field values"), default=dict, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        indexes = [
            models.Index(fields=["state", "due_at"], name="invitation_state_due"),
            models.Index(fields=["person", "sent_at"], name="invitation_person_sent"),
            # Per survey and state, in due order: the funnel counts, and the claim walks one
            # survey's due invitations in order however large another survey's backlog is.
            models.Index(fields=["survey", "state", "due_at", "id"], name="invitation_survey_due"),
        ]
        constraints = [
            # A trigger rule invites once per event, however often its planning runs (a relayed
            # outbox row may run again after a crash): partial, so waves' rows cost nothing.
            models.UniqueConstraint(
                fields=["rule", "event"],
                condition=Q(event__isnull=False),
                name="invitation_once_per_rule_event",
            )
        ]

    def __str__(self) -> str:
        return f"{self.survey} → {self.person or '—'} ({self.state})"


class PublicLink(models.Model):
    """An anonymous, shareable link to a survey (QR codes, web intercepts)."""

    survey = models.OneToOneField(
        Survey, on_delete=models.CASCADE, related_name="public_link", verbose_name=_("survey")
    )
    slug = models.CharField(_("link code"), max_length=32, unique=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # The key that signs hidden field values in the link's query (surveys.hidden_fields).
    signing_secret = models.CharField(
        _("signing secret"), max_length=64, blank=True, editable=False
    )
    # Kiosk devices of the link (surveys.kiosk) start the survey again on their own.
    kiosk_thank_you_seconds = models.PositiveSmallIntegerField(
        _("kiosk: thank-you shown for (seconds)"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(600)],
        help_text=_("A kiosk starts the survey again this long after its thank-you page."),
    )
    kiosk_idle_seconds = models.PositiveSmallIntegerField(
        _("kiosk: idle reset after (seconds)"),
        default=60,
        validators=[MinValueValidator(10), MaxValueValidator(3600)],
        help_text=_(
            "A kiosk left this long without input starts again and discards the unsent answers "
            "(a countdown warns first)."
        ),
    )

    class Meta:
        verbose_name = _("public link")
        verbose_name_plural = _("public links")

    def __str__(self) -> str:
        return self.slug


class ReportingPeriod(models.Model):
    """One reporting period of an anonymous survey: its responses are counted in released
    batches of at least the audience's anonymity threshold, and frozen once it is published."""

    survey = models.ForeignKey(
        Survey,
        on_delete=models.CASCADE,
        related_name="reporting_periods",
        verbose_name=_("survey"),
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), help_text=_("The period's last day."))
    released = models.PositiveIntegerField(_("responses released"), default=0)
    published_at = models.DateTimeField(
        _("published"),
        null=True,
        blank=True,
        help_text=_("Set once the period has ended and its last batch was released."),
    )

    class Meta:
        verbose_name = _("reporting period")
        verbose_name_plural = _("reporting periods")
        constraints = [
            models.UniqueConstraint(fields=["survey", "starts_on"], name="period_unique_start"),
        ]

    def __str__(self) -> str:
        return f"{self.survey} {self.starts_on}–{self.ends_on}"


class Response(models.Model):
    """What came back for one invitation or one browser on a public link.

    Anonymous surveys keep no person, invitation or precise time: `resume_key` (a one-way
    HMAC) lets an unfinished response be resumed and is cleared on completion.
    """

    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, related_name="responses", verbose_name=_("survey")
    )
    audience = models.ForeignKey(
        Audience, on_delete=models.CASCADE, related_name="responses", verbose_name=_("audience")
    )
    touchpoint = models.ForeignKey(
        Touchpoint,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="responses",
        verbose_name=_("touchpoint"),
    )
    invitation = models.OneToOneField(
        Invitation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="response",
        verbose_name=_("invitation"),
    )
    person = models.ForeignKey(
        Person,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="responses",
        verbose_name=_("person"),
    )
    public_link = models.ForeignKey(
        PublicLink,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="responses",
        verbose_name=_("public link"),
    )
    resume_key = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    browser_key = models.CharField(max_length=64, null=True, blank=True, editable=False)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=8)
    segment = models.CharField(_("segment"), max_length=100, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=200, blank=True)
    # False while an anonymous response waits for its batch (surveys.periods): nothing counts
    # or shows it until at least the anonymity threshold of responses are released together.
    # Named responses are released when they complete.
    released = models.BooleanField(_("released"), default=True, db_default=True, editable=False)
    # The version of the survey's questions this response answered (SurveyVersion.number).
    version = models.PositiveIntegerField(
        _("survey version"), default=1, db_default=1, editable=False
    )
    # Hidden field values (surveys.hidden_fields), copied from the invitation or the signed
    # public link when the response is first saved.
    data = models.JSONField(_("hidden field values"), default=dict, blank=True)

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        constraints = [
            models.UniqueConstraint(
                fields=["public_link", "browser_key"],
                condition=Q(browser_key__isnull=False),
                name="response_one_per_browser",
            ),
        ]
        indexes = [
            models.Index(fields=["survey", "completed_on"], name="response_survey_day"),
            models.Index(fields=["audience", "completed_on"], name="response_audience_day"),
            # Whether a version has responses: the next edit of its questions makes a new one.
            models.Index(fields=["survey", "version"], name="response_survey_version"),
            # Only the anonymous responses waiting for their batch: at most k-1 per period.
            models.Index(
                fields=["survey", "completed_on"],
                condition=Q(released=False),
                name="response_unreleased",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey} #{self.pk}"


class Answer(models.Model):
    """One answer to one question; scored types keep their value in `number` for SQL."""

    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, related_name="answers", verbose_name=_("response")
    )
    # RESTRICT: a question with answers is retired, never deleted (surveys.versions); its
    # answers go only with their response (a survey's or a person's deletion).
    question = models.ForeignKey(
        Question, on_delete=models.RESTRICT, related_name="answers", verbose_name=_("question")
    )
    number = models.SmallIntegerField(_("number"), null=True, blank=True)
    text = models.TextField(_("text"), blank=True)
    choices = models.JSONField(_("choices"), null=True, blank=True)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="answer_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.question}: {self.number if self.number is not None else self.text}"
