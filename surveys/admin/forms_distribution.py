"""Admin form for distribution rules: channels in order, checked filters and the wave's schedule."""

import json
from typing import Any

from django import forms
from django.contrib.admin import widgets as admin_widgets
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django_celery_beat.models import CrontabSchedule
from django_celery_beat.validators import crontab_validator

from audiences.models import Channel
from surveys.distribution import fatigue
from surveys.distribution import planning as distribution
from surveys.distribution.channels import backends
from surveys.models import (
    DistributionRule,
    RuleKind,
    default_channel_order,
)
from xmplatform.core.duration_field import DurationWordsField


class Schedule(models.TextChoices):
    """How the admin form sets a wave's entry in the beat schedule."""

    KEEP = "", _("Keep the current schedule")
    OFF = "off", _("Not scheduled (run it by hand)")
    ONCE = "once", _("Once, at the first run")
    DAILY = "daily", _("Every day at the first run's time")
    WEEKLY = "weekly", _("Every week on the first run's weekday")
    MONTHLY = "monthly", _("Every month on the first run's day")
    QUARTERLY = "quarterly", _("Every three months from the first run's month")
    CRON = "cron", _("Cron expression")


def sendable_channels() -> list[str]:
    """Channels the platform can deliver now (surveys.distribution.channels.backends): WhatsApp
    only once a provider is configured."""
    paths = backends()
    return [value for value, _label in Channel.choices if value in paths]


def _channels_help() -> str:
    # Formatted when shown: which channels can send depends on the settings.
    return _(
        "Channels to try in order, comma-separated (e.g. “email, sms”), falling back when "
        "there is no address or consent. Available: %(channels)s."
    ) % {"channels": ", ".join(sendable_channels())}


class ChannelOrderField(forms.CharField):
    """The channels to try, in order, as a comma-separated list (stored as a JSON list)."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith("["):
            try:
                value = json.loads(value)
            except ValueError:
                return value
        return ", ".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value)
        return [part.strip().lower() for part in text.split(",") if part.strip()]

    def validate(self, value: list[str]) -> None:
        if not value:
            raise ValidationError(_("Name at least one channel, e.g. “email, sms”."))
        usable = sendable_channels()
        unknown = [c for c in value if c not in usable]
        if unknown:
            raise ValidationError(
                _("No delivery for %(unknown)s; use channels from: %(usable)s.")
                % {"unknown": ", ".join(unknown), "usable": ", ".join(usable)}
            )
        if len(set(value)) != len(value):
            raise ValidationError(_("Name each channel once."))


def _flat_mapping(value: Any, *, lists: bool) -> list[str]:
    """Problems with a JSON object of attribute → value (`lists`: a list means “one of”)."""
    if not isinstance(value, dict):
        return [_('Give a JSON object, e.g. {"plan": "gold"}.')]
    problems = []
    for key, expected in value.items():
        if not key or "__" in key or not key.replace("_", "").replace("-", "").isalnum():
            problems.append(
                _("“%(key)s” is not an attribute name (letters, digits, - and _).") % {"key": key}
            )
        items = expected if lists and isinstance(expected, list) else [expected]
        if not all(isinstance(item, str | int | float | bool) for item in items):
            problems.append(
                _("The value of “%(key)s” must be text, a number or true/false%(lists)s.")
                % {"key": key, "lists": _(", or a list of them") if lists else ""}
            )
    return problems


def _wave_times_help() -> str:
    # Formatted when shown, in the reader's language and zone: `%` on a lazy text translates
    # it at import.
    return _("Waves only. Times are in %(zone)s.") % {"zone": timezone.get_current_timezone_name()}


class DistributionRuleForm(forms.ModelForm):
    """A rule with checked channels and filters, and its wave schedule set in the same form.

    The schedule is kept in django-celery-beat's tables (editable there too); this form only
    writes it through `surveys.distribution.planning.wave_schedule` after the rule is saved.
    """

    channels = ChannelOrderField(
        label=capfirst(_("channel order")),
        initial=default_channel_order,
        help_text=lazy(_channels_help, str)(),
    )
    schedule = forms.ChoiceField(
        label=capfirst(_("runs")),
        choices=Schedule.choices,
        required=False,
        help_text=lazy(_wave_times_help, str)(),
    )
    first_run = forms.SplitDateTimeField(
        label=capfirst(_("first run")),
        required=False,
        widget=admin_widgets.AdminSplitDateTime,
        help_text=_("When the wave first runs; recurring schedules repeat its time and day."),
    )
    cron = forms.CharField(
        label=capfirst(_("cron expression")),
        required=False,
        max_length=100,
        help_text=_("minute hour day-of-month month weekday, e.g. “0 9 1 */3 *”."),
    )

    class Meta:
        model = DistributionRule
        fields = [
            "survey",
            "name",
            "kind",
            "active",
            "channels",
            "touchpoint",
            "delay",
            "sampling_rate",
            "condition",
            "segment",
            "attribute_filter",
            "sample_share",
            "hourly_cap",
            "reminder_count",
            "reminder_after_days",
            "expiry_days",
        ]
        field_classes = {"delay": DurationWordsField}

    def clean_condition(self) -> Any:
        value = self.cleaned_data.get("condition")
        problems = _flat_mapping(value or {}, lists=True)
        if problems:
            raise ValidationError(problems)
        return value or {}

    def clean_attribute_filter(self) -> Any:
        value = self.cleaned_data.get("attribute_filter")
        problems = _flat_mapping(value or {}, lists=False)
        if problems:
            raise ValidationError(problems)
        return value or {}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind, survey = cleaned.get("kind"), cleaned.get("survey")
        schedule = cleaned.get("schedule") or Schedule.KEEP
        if kind == RuleKind.TRIGGER:
            touchpoint = cleaned.get("touchpoint")
            if survey is not None and touchpoint is None and survey.touchpoint_id is None:
                self.add_error(
                    "touchpoint",
                    _("Choose the touchpoint whose events send this survey (the survey has none)."),
                )
            if (
                touchpoint is not None
                and survey is not None
                and touchpoint.stage.journey.audience_id != survey.audience_id
            ):
                self.add_error(
                    "touchpoint", _("Choose a touchpoint on one of the survey audience's journeys.")
                )
            if schedule not in (Schedule.KEEP, Schedule.OFF):
                self.add_error(
                    "schedule", _("Touchpoint triggers run on events; only waves are scheduled.")
                )
            return cleaned
        first_run, cron = cleaned.get("first_run"), (cleaned.get("cron") or "").strip()
        if schedule == Schedule.CRON:
            try:
                if len(cron.split()) != 5:  # a shorthand like "@monthly" has no five fields
                    raise ValidationError(_("give five fields"))
                crontab_validator(cron)
            except ValidationError as exc:
                self.add_error(
                    "cron",
                    _("“%(cron)s” is not a cron expression (%(error)s).")
                    % {"cron": cron, "error": "; ".join(exc.messages)},
                )
        elif schedule not in (Schedule.KEEP, Schedule.OFF) and first_run is None:
            self.add_error("first_run", _("Say when the wave first runs."))
        elif schedule == Schedule.ONCE and first_run is not None and first_run <= timezone.now():
            self.add_error("first_run", _("A one-off run must be in the future."))
        cleaned["cron"] = cron
        return cleaned

    def schedule_save(self, rule: DistributionRule) -> None:
        """Write the chosen schedule for the saved `rule` (nothing when it is kept)."""
        schedule = self.cleaned_data.get("schedule") or Schedule.KEEP
        if schedule == Schedule.KEEP:
            return
        if schedule == Schedule.OFF or rule.kind != RuleKind.WAVE:
            distribution.wave_unschedule(rule=rule)
            return
        first_run = self.cleaned_data.get("first_run")
        if schedule == Schedule.ONCE:
            distribution.wave_schedule(rule=rule, once_at=first_run)
            return
        distribution.wave_schedule(
            rule=rule, crontab=crontab_for(schedule, first_run, self.cleaned_data.get("cron"))
        )


# The shortest time between two runs of each recurring schedule, in days.
SHORTEST_PERIOD_DAYS = {
    Schedule.DAILY: 1,
    Schedule.WEEKLY: 7,
    Schedule.MONTHLY: 28,
    Schedule.QUARTERLY: 89,
}


def recontact_warning(rule: DistributionRule, schedule: str) -> str | None:
    """A warning when a recurring wave repeats sooner than its audience's recontact window.

    The guard would then suppress almost everyone on the next run as "same survey too
    recently" (the strictest applicable policy wins): worth saying before launch.
    """
    period = SHORTEST_PERIOD_DAYS.get(schedule)
    if period is None or rule.kind != RuleKind.WAVE:
        return None
    policies = fatigue.applicable(fatigue.policies_load(), [rule.survey.audience_id])
    window = max((p.recontact_days for p in policies), default=0)
    if window < period:
        return None
    return _(
        "This wave can run again after %(period)d days, but the fatigue policy keeps the same "
        "survey from a person for %(window)d days: most people would be suppressed as “same "
        "survey too recently” on the next run. Lower the recontact window in Fatigue policies "
        "or run the wave less often; “Forecast the next wave run” shows the effect."
    ) % {"period": period, "window": window}


def crontab_for(schedule: str, first_run: Any, cron: str | None = None) -> CrontabSchedule:
    """The beat crontab of a recurring `schedule` anchored at `first_run` (or a cron line)."""
    if schedule == Schedule.CRON:
        minute, hour, day, month, weekday = (cron or "").split()
    else:
        local = timezone.localtime(first_run)
        minute, hour, day, month, weekday = str(local.minute), str(local.hour), "*", "*", "*"
        if schedule == Schedule.WEEKLY:
            weekday = str((local.weekday() + 1) % 7)  # cron counts from Sunday
        elif schedule in (Schedule.MONTHLY, Schedule.QUARTERLY):
            # Day 29–31 would skip the months without it: such runs move to the 28th.
            day = str(min(local.day, 28))
            if schedule == Schedule.QUARTERLY:
                months = sorted((local.month - 1 + k) % 12 + 1 for k in (0, 3, 6, 9))
                month = ",".join(map(str, months))
    crontab, _created = CrontabSchedule.objects.get_or_create(
        minute=minute,
        hour=hour,
        day_of_month=day,
        month_of_year=month,
        day_of_week=weekday,
        # The zone the times were given in: the reader's (xmplatform.core.viewer_zone).
        timezone=timezone.get_current_timezone_name(),
    )
    return crontab
